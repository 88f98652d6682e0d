// Package pglocal starts a throwaway Postgres server: initdb on a fresh
// directory, postgres on a free loopback port, everything removed on Stop.
//
// It backs `strata serve` when no database URL is given and the tests'
// per-package servers. It uses the Debian postgresql binaries (found on
// PATH, through STRATA_PG_BIN, or under /usr/lib/postgresql/<ver>/bin).
// initdb refuses to run as root, so as root the server runs as the
// `postgres` system user, with the data directory owned by it.
package pglocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options tune a server; the zero value is fine.
type Options struct {
	// Dir holds the data directory and the socket. Empty means a new temp
	// dir. A Dir given here is kept on Stop (only a temp dir is removed).
	Dir string
	// BinDir holds initdb and postgres. Empty means auto-detect.
	BinDir string
	// StartTimeout bounds initdb + start-up. Default 60s.
	StartTimeout time.Duration
	// Settings are extra `-c name=value` server settings.
	Settings map[string]string
}

// Server is a running throwaway Postgres.
type Server struct {
	Port    int
	dir     string
	ownsDir bool
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
	stop    sync.Once
}

// Superuser is the role initdb creates.
const Superuser = "postgres"

// Start runs initdb and postgres and waits until the server accepts
// connections.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	bin, err := findBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	s := &Server{dir: opts.Dir, done: make(chan struct{})}
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "strata-pg-"); err != nil {
			return nil, fmt.Errorf("local postgres: %w", err)
		}
		s.ownsDir = true
	} else if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("local postgres: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()

	cred, err := credential(s.dir)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(s.dir, "data")
	s.logPath = filepath.Join(s.dir, "postgres.log")

	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
			"-D", data, "-U", Superuser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
		initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		initdb.Dir = s.dir
		if out, err := initdb.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("local postgres: initdb failed: %v: %s", err, lastLines(out, 5))
		}
	}

	// A free port can be taken between probing and binding; retry a few.
	for attempt := 0; ; attempt++ {
		if s.Port, err = freePort(); err != nil {
			return nil, fmt.Errorf("local postgres: %w", err)
		}
		err = s.launch(ctx, bin, data, cred, opts.Settings)
		if err == nil || attempt == 2 || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

func (s *Server) launch(ctx context.Context, bin, data string, cred *syscall.Credential, extra map[string]string) error {
	settings := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"port":                    strconv.Itoa(s.Port),
		"unix_socket_directories": s.dir,
		"fsync":                   "off", // throwaway: durability is not wanted
		"synchronous_commit":      "off",
		"full_page_writes":        "off",
		"max_connections":         "300",
		"shared_buffers":          "128MB",
	}
	for k, v := range extra {
		settings[k] = v
	}
	args := []string{"-D", data}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-c", k+"="+settings[k])
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("local postgres: %w", err)
	}
	defer logf.Close()
	if cred != nil {
		_ = os.Chown(s.logPath, int(cred.Uid), int(cred.Gid))
	}

	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Pdeathsig: if this process dies without Stop, the postmaster goes
	// too, and its backends follow it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("local postgres: %w", err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() { s.waitErr = cmd.Wait(); close(s.done) }()

	for {
		conn, err := pgx.Connect(ctx, s.URL("postgres"))
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-s.done:
			s.cmd = nil
			return fmt.Errorf("local postgres exited during start-up: %v: %s", s.waitErr, s.logTail())
		case <-ctx.Done():
			s.kill()
			return fmt.Errorf("local postgres did not start in time: %s", s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// URL of a database on this server, as the superuser.
func (s *Server) URL(database string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, s.Port, database)
}

// Dir is the server's directory (data and log).
func (s *Server) Dir() string { return s.dir }

// CreateDatabase creates a fresh database and returns its URL.
func (s *Server) CreateDatabase(ctx context.Context, name string) (string, error) {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return s.URL(name), nil
}

// DropDatabase drops a database, ending its sessions first.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// Stop shuts the server down (fast shutdown, then kill after 10s) and
// removes its directory if Start created it. Safe to call more than once.
func (s *Server) Stop() {
	s.stop.Do(func() {
		if s.cmd != nil {
			_ = s.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				s.kill()
			}
		}
		if s.ownsDir {
			_ = os.RemoveAll(s.dir)
		}
	})
}

func (s *Server) kill() {
	if s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	return lastLines(b, 10)
}

// credential returns the postgres system user when running as root (and
// hands it dir), or nil to run as ourselves.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("local postgres: running as root needs the 'postgres' system user (apt-get install postgresql)")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	}); err != nil {
		return nil, fmt.Errorf("local postgres: %w", err)
	}
	// The postgres user must be able to reach dir: make the parents of a
	// temp dir traversable (they are world-executable on Debian already).
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// findBinDir locates initdb and postgres.
func findBinDir(explicit string) (string, error) {
	var candidates []string
	if explicit != "" {
		candidates = append(candidates, explicit)
	}
	if env := os.Getenv("STRATA_PG_BIN"); env != "" {
		candidates = append(candidates, env)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		candidates = append(candidates, filepath.Dir(p))
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	candidates = append(candidates, dirs...)
	for _, d := range candidates {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New("local postgres: initdb and postgres not found (install Debian's postgresql package, or set STRATA_PG_BIN)")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(bytes.TrimSpace(b))), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
