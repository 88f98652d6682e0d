// Package pgdump serves Hasura's POST /v1alpha1/pg_dump: the output of
// pg_dump run against a source's database, for admins, when the pgdump
// API group is enabled.
//
// As Hasura (Server/API/PGDump.hs) it runs pg_dump with --encoding=utf8
// and --restrict-key=hasura before the client's options, and with
// clean_output drops comments, empty lines, the SET preamble, the public
// schema's creation and comment and the triggers of Hasura's event
// triggers. Unlike Hasura it checks the options against an allow-list
// (opts.go), passes the password through the environment rather than
// the command line, picks a pg_dump that matches the server's major
// version, and streams the dump instead of holding all of it in memory.
package pgdump

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
	enginexec "github.com/strata-dev/strata/engine/exec"
	"github.com/strata-dev/strata/engine/schemacache"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

// holdBack is how much output is kept before the response starts: a
// pg_dump that fails within it gets a proper error response. A larger dump
// streams; should pg_dump fail after that, the response is cut off.
const holdBack = 1 << 20

// maxStderr bounds what is kept of pg_dump's error output.
const maxStderr = 64 << 10

// Options configure a Handler.
type Options struct {
	Cache *schemacache.Cache
	// LookupEnv resolves from_env references of source configurations, as
	// the engine does.
	LookupEnv func(string) (string, bool)
	Log       *slog.Logger
	// ShowInternal adds pg_dump's error output to error responses
	// (HASURA_GRAPHQL_ADMIN_INTERNAL_ERRORS; the caller is an admin).
	ShowInternal bool
	// Binary is the pg_dump to run. Empty: the first of pg_dump in PATH
	// and /usr/lib/postgresql/<major>/bin/pg_dump (Debian's layout) whose
	// major version is the server's, else the oldest newer one.
	Binary string
}

// Handler serves the pg_dump API.
type Handler struct {
	o Options

	mu       sync.Mutex
	versions map[string]binaryInfo // by path
}

type binaryInfo struct {
	major       int
	restrictKey bool // knows --restrict-key
	err         error
}

// New returns the handler.
func New(o Options) *Handler {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	return &Handler{o: o, versions: map[string]binaryInfo{}}
}

// request is the body.
type request struct {
	Opts        []string
	CleanOutput bool
	Source      string
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		apierr.WriteREST(w, apierr.BadRequest(apierr.CodeBadRequest, "could not read the request body"), false)
		return
	}
	req, aerr := parse(body)
	if aerr != nil {
		apierr.WriteREST(w, aerr, false)
		return
	}
	if err := checkOpts(req.Opts); err != nil {
		var oe *optError
		errors.As(err, &oe)
		apierr.WriteREST(w, apierr.BadRequest(apierr.CodeBadRequest, "%s", oe.msg).WithPath(fmt.Sprintf("$.opts[%d]", oe.index)), false)
		return
	}
	snap := h.o.Cache.Current()
	var src *schemacache.Source
	if snap != nil {
		src = snap.Sources[req.Source]
	}
	if src == nil || src.Pool == nil || (src.Metadata.Kind != "" && src.Metadata.Kind != "postgres") {
		apierr.WriteREST(w, apierr.BadRequest(apierr.CodeNotFound, "source %q not found", req.Source), false)
		return
	}
	dbURL, err := enginexec.ResolveDatabaseURL(src.Metadata.Configuration, h.o.LookupEnv)
	if err != nil {
		h.fail(w, "internal exception while executing pg_dump", "cannot resolve the database URL of source "+req.Source+": "+err.Error())
		return
	}
	major, err := serverMajor(r.Context(), src)
	if err != nil {
		h.fail(w, "internal exception while executing pg_dump", "cannot read the server version of source "+req.Source+": "+err.Error())
		return
	}
	bin, info, err := h.binary(major)
	if err != nil {
		h.fail(w, "internal exception while executing pg_dump", err.Error())
		return
	}
	h.run(w, r, req, bin, info, dbURL)
}

// parse reads {"opts": [...], "clean_output": bool, "source": name}.
func parse(body []byte) (*request, *apierr.Error) {
	t := bytes.TrimSpace(body)
	if !json.Valid(t) {
		return nil, apierr.BadRequest(apierr.CodeInvalidJSON, "Error in $: Failed reading: not a valid json value")
	}
	if k := aeson.Kind(t); k != "Object" {
		return nil, apierr.BadRequest(apierr.CodeParseFailed, "parsing Object failed, expected Object, but encountered %s", k)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(t, &raw)
	req := &request{Source: "default"}
	opts, ok := raw["opts"]
	if !ok {
		return nil, apierr.BadRequest(apierr.CodeParseFailed, `key "opts" not found`)
	}
	if k := aeson.Kind(opts); k != "Array" {
		return nil, apierr.BadRequest(apierr.CodeParseFailed, "parsing [] failed, expected Array, but encountered %s", k).WithPath("$.opts")
	}
	var items []json.RawMessage
	_ = json.Unmarshal(opts, &items)
	for i, it := range items {
		var s string
		if aeson.Kind(it) != "String" || json.Unmarshal(it, &s) != nil {
			return nil, apierr.BadRequest(apierr.CodeParseFailed, "parsing [Char] failed, expected String, but encountered %s", aeson.Kind(it)).WithPath(fmt.Sprintf("$.opts[%d]", i))
		}
		req.Opts = append(req.Opts, s)
	}
	if v, ok := raw["clean_output"]; ok && aeson.Kind(v) != "Null" {
		if aeson.Kind(v) != "Boolean" {
			return nil, apierr.BadRequest(apierr.CodeParseFailed, "parsing Bool failed, expected Boolean, but encountered %s", aeson.Kind(v)).WithPath("$.clean_output")
		}
		_ = json.Unmarshal(v, &req.CleanOutput)
	}
	if v, ok := raw["source"]; ok && aeson.Kind(v) != "Null" {
		if aeson.Kind(v) != "String" {
			return nil, apierr.BadRequest(apierr.CodeParseFailed, "parsing Text failed, expected String, but encountered %s", aeson.Kind(v)).WithPath("$.source")
		}
		_ = json.Unmarshal(v, &req.Source)
	}
	return req, nil
}

// fail answers Hasura's 500 for a pg_dump that could not run or failed;
// the detail goes to the log, and to the admin when internal errors are
// shown.
func (h *Handler) fail(w http.ResponseWriter, msg, detail string) {
	h.o.Log.Error("pg_dump failed", "type", "pg-dump", "error", msg, "detail", detail)
	e := apierr.New(http.StatusInternalServerError, apierr.CodeUnexpected, "%s", msg)
	e.Internal = detail
	apierr.WriteREST(w, e, h.o.ShowInternal)
}

func serverMajor(ctx context.Context, src *schemacache.Source) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var num string
	if err := src.Pool.QueryRow(ctx, "SHOW server_version_num").Scan(&num); err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, fmt.Errorf("server_version_num %q", num)
	}
	return n / 10000, nil
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// probe reads a pg_dump's major version and whether it knows
// --restrict-key (added in the August 2025 minor releases).
func (h *Handler) probe(path string) binaryInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	if info, ok := h.versions[path]; ok {
		return info
	}
	var info binaryInfo
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		info.err = fmt.Errorf("%s --version: %v", path, err)
	} else if m := versionRE.FindSubmatch(out); m == nil {
		info.err = fmt.Errorf("%s --version: unexpected answer %q", path, bytes.TrimSpace(out))
	} else {
		info.major, _ = strconv.Atoi(string(m[1]))
		help, _ := exec.CommandContext(ctx, path, "--help").Output()
		info.restrictKey = bytes.Contains(help, []byte("--restrict-key"))
	}
	h.versions[path] = info
	return info
}

// binary picks the pg_dump to run against a server of the given major
// version: one of the same version if there is one, else the oldest newer
// one (pg_dump refuses servers newer than itself).
func (h *Handler) binary(major int) (string, binaryInfo, error) {
	var candidates []string
	if h.o.Binary != "" {
		candidates = []string{h.o.Binary}
	} else {
		if p, err := exec.LookPath("pg_dump"); err == nil {
			candidates = append(candidates, p)
		}
		candidates = append(candidates, fmt.Sprintf("/usr/lib/postgresql/%d/bin/pg_dump", major))
		others, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
		sort.Slice(others, func(i, j int) bool { return versionDir(others[i]) < versionDir(others[j]) })
		candidates = append(candidates, others...)
	}
	var found []string
	best, bestInfo := "", binaryInfo{}
	for _, c := range candidates {
		if _, err := os.Stat(c); err != nil {
			continue
		}
		info := h.probe(c)
		if info.err != nil {
			found = append(found, info.err.Error())
			continue
		}
		found = append(found, fmt.Sprintf("%s is version %d", c, info.major))
		if info.major == major {
			return c, info, nil
		}
		if info.major > major && (best == "" || info.major < bestInfo.major) {
			best, bestInfo = c, info
		}
	}
	if best != "" {
		return best, bestInfo, nil
	}
	where := "PATH and /usr/lib/postgresql/" + strconv.Itoa(major) + "/bin"
	if h.o.Binary != "" {
		where = h.o.Binary
	}
	msg := fmt.Sprintf("no pg_dump for PostgreSQL %d or newer found (looked in %s)", major, where)
	if len(found) > 0 {
		msg += ": " + strings.Join(found, "; ")
	}
	return "", binaryInfo{}, errors.New(msg)
}

func versionDir(p string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
	return n
}

// connArgs turns a database URL into pg_dump's --dbname and the
// environment carrying its password, which stays off the command line.
func connArgs(dbURL string) (dbname string, env []string) {
	u, err := url.Parse(dbURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.User == nil {
		return dbURL, nil
	}
	if pw, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pw)
		u.User = url.User(u.User.Username())
	}
	return u.String(), env
}

func (h *Handler) run(w http.ResponseWriter, r *http.Request, req *request, bin string, info binaryInfo, dbURL string) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	dbname, env := connArgs(dbURL)
	args := []string{"--dbname=" + dbname, "--encoding=utf8"}
	if info.restrictKey {
		args = append(args, "--restrict-key=hasura")
	}
	args = append(args, "--no-password")
	args = append(args, req.Opts...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	stderr := &capped{max: maxStderr}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		h.fail(w, "internal exception while executing pg_dump", err.Error())
		return
	}
	if err := cmd.Start(); err != nil {
		h.fail(w, "internal exception while executing pg_dump", err.Error())
		return
	}
	resp := &response{w: w}
	var out io.Writer = resp
	var filter *cleaner
	if req.CleanOutput {
		filter = &cleaner{out: resp}
		out = filter
	}
	_, copyErr := io.Copy(out, stdout)
	if copyErr == nil && filter != nil {
		copyErr = filter.finish()
	}
	if copyErr != nil {
		// The client went away (or its connection broke): stop pg_dump.
		cancel()
	}
	waitErr := cmd.Wait()
	if r.Context().Err() != nil {
		return // the client is gone; the process was killed
	}
	if waitErr == nil && copyErr != nil {
		waitErr = copyErr
	}
	if waitErr != nil {
		detail := strings.TrimSpace(stderr.String())
		if detail == "" {
			detail = waitErr.Error()
		}
		if !resp.committed {
			h.fail(w, "error while executing pg_dump", detail)
			return
		}
		h.o.Log.Error("pg_dump failed after its output started; the response is cut off", "type", "pg-dump", "detail", detail)
		panic(http.ErrAbortHandler)
	}
	resp.commit()
}

// response holds the first holdBack bytes of the dump back, then streams.
type response struct {
	w         http.ResponseWriter
	buf       bytes.Buffer
	committed bool
}

func (r *response) Write(p []byte) (int, error) {
	if r.committed {
		return r.w.Write(p)
	}
	r.buf.Write(p)
	if r.buf.Len() > holdBack {
		if err := r.commit(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// commit starts the response with what is held back.
func (r *response) commit() error {
	if r.committed {
		return nil
	}
	r.committed = true
	r.w.Header().Set("Content-Type", "application/sql; charset=utf-8")
	r.w.WriteHeader(http.StatusOK)
	_, err := r.w.Write(r.buf.Bytes())
	r.buf = bytes.Buffer{}
	return err
}

// capped keeps the first max bytes written to it.
type capped struct {
	buf bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (c *capped) String() string { return c.buf.String() }

// cleaner drops the lines Hasura's clean_output drops, line by line as
// the output streams; every line it keeps ends with a newline (Haskell's
// unlines).
type cleaner struct {
	out     io.Writer
	partial []byte
}

func (c *cleaner) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.partial = append(c.partial, p...)
			break
		}
		line := p[:i]
		if len(c.partial) > 0 {
			line = append(c.partial, line...)
			c.partial = nil
		}
		if err := c.line(line); err != nil {
			return 0, err
		}
		p = p[i+1:]
	}
	return n, nil
}

func (c *cleaner) finish() error {
	if len(c.partial) == 0 {
		return nil
	}
	line := c.partial
	c.partial = nil
	return c.line(line)
}

func (c *cleaner) line(line []byte) error {
	if dropLine(string(line)) {
		return nil
	}
	if _, err := c.out.Write(line); err != nil {
		return err
	}
	_, err := c.out.Write(newline)
	return err
}

var newline = []byte{'\n'}

// preamble are the lines of pg_dump's front matter Hasura drops.
var preamble = map[string]bool{
	"SET statement_timeout = 0;":                              true,
	"SET lock_timeout = 0;":                                   true,
	"SET idle_in_transaction_session_timeout = 0;":            true,
	"SET client_encoding = 'UTF8';":                           true,
	"SET standard_conforming_strings = on;":                   true,
	"SELECT pg_catalog.set_config('search_path', '', false);": true,
	"SET xmloption = content;":                                true,
	"SET client_min_messages = warning;":                      true,
	"SET row_security = off;":                                 true,
	"SET default_tablespace = '';":                            true,
	"SET default_with_oids = false;":                          true,
	"SET default_table_access_method = heap;":                 true,
	"CREATE SCHEMA public;":                                   true,
	"COMMENT ON SCHEMA public IS 'standard public schema';":   true,
}

// eventTrigger matches the triggers Hasura creates for event triggers.
var eventTrigger = regexp.MustCompile(`^CREATE TRIGGER "?notify_hasura_.+"? AFTER [[:alnum:]]+ ON .+ FOR EACH ROW EXECUTE (FUNCTION|PROCEDURE) "?hdb_catalog"?\."?notify_hasura_.+"?\(\);$`)

// dropLine is Hasura's shouldDropLine: blank lines, comments, the
// preamble and event triggers.
func dropLine(line string) bool {
	return strings.TrimFunc(line, isHaskellSpace) == "" ||
		strings.HasPrefix(line, "--") ||
		preamble[line] ||
		eventTrigger.MatchString(line)
}

// isHaskellSpace is Data.Char.isSpace: the ASCII white space and the
// Unicode space separators.
func isHaskellSpace(r rune) bool {
	return r == ' ' || (r >= '\t' && r <= '\r') || unicode.Is(unicode.Zs, r)
}
