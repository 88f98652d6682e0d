// Package hasuraproject reads a Hasura CLI project (config.yaml v3,
// metadata/ in the directory format with !include, migrations/) out of a
// git repository, so the operator can apply what `hasura metadata apply`
// and `hasura migrate apply` would.
package hasuraproject

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
	"sigs.k8s.io/yaml"
)

// Repository says where a project lives.
type Repository struct {
	URL string
	// Branch to follow, or Revision (a commit) to pin; neither means the
	// remote's default branch.
	Branch, Revision string
	// Username/Password (or a token as the password) for https remotes.
	Username, Password string
}

// Checkout is one commit of a repository, in memory.
type Checkout struct {
	Commit string
	FS     billy.Filesystem
}

// Fetch clones the repository into memory: shallowly when following a
// branch, fully when a revision is pinned (a shallow clone cannot reach
// an arbitrary commit).
func Fetch(ctx context.Context, r Repository) (*Checkout, error) {
	opts := &git.CloneOptions{URL: r.URL, Tags: git.NoTags, Auth: r.auth()}
	if r.Revision == "" {
		opts.Depth, opts.SingleBranch = 1, true
		if r.Branch != "" {
			opts.ReferenceName = plumbing.NewBranchReferenceName(r.Branch)
		}
	}
	fs := memfs.New()
	repo, err := git.CloneContext(ctx, memory.NewStorage(), fs, opts)
	if err != nil {
		return nil, fmt.Errorf("cloning %s: %w", Redact(r.URL), cleanErr(err))
	}
	if r.Revision != "" {
		wt, err := repo.Worktree()
		if err != nil {
			return nil, err
		}
		hash, err := repo.ResolveRevision(plumbing.Revision(r.Revision))
		if err != nil {
			return nil, fmt.Errorf("revision %s not found in %s: %w", r.Revision, Redact(r.URL), err)
		}
		if err := wt.Checkout(&git.CheckoutOptions{Hash: *hash, Force: true}); err != nil {
			return nil, err
		}
		return &Checkout{Commit: hash.String(), FS: fs}, nil
	}
	head, err := repo.Head()
	if err != nil {
		return nil, err
	}
	return &Checkout{Commit: head.Hash().String(), FS: fs}, nil
}

// auth is the HTTP basic auth of r's credentials, nil without any.
func (r Repository) auth() transport.AuthMethod {
	if r.Username == "" && r.Password == "" {
		return nil
	}
	user := r.Username
	if user == "" {
		user = "git" // any non-empty name works with token auth
	}
	return &githttp.BasicAuth{Username: user, Password: r.Password}
}

// Head is the commit at the head of r's branch (the remote's default
// branch when none), read as `git ls-remote` does: no clone.
func Head(ctx context.Context, r Repository) (string, error) {
	remote := git.NewRemote(memory.NewStorage(), &gitconfig.RemoteConfig{Name: "origin", URLs: []string{r.URL}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: r.auth()})
	if err != nil {
		return "", cleanErr(err)
	}
	want := plumbing.HEAD
	if r.Branch != "" {
		want = plumbing.NewBranchReferenceName(r.Branch)
	}
	byName := map[plumbing.ReferenceName]*plumbing.Reference{}
	for _, ref := range refs {
		byName[ref.Name()] = ref
	}
	ref := byName[want]
	if ref != nil && ref.Type() == plumbing.SymbolicReference {
		ref = byName[ref.Target()]
	}
	if ref == nil {
		if r.Branch == "" {
			return "", errors.New("the repository has no HEAD")
		}
		return "", fmt.Errorf("branch %q not found in the repository", r.Branch)
	}
	return ref.Hash().String(), nil
}

// gitError is a go-git error made short and free of URLs; the original
// stays reachable for errors.Is.
type gitError struct {
	msg string
	err error
}

func (e *gitError) Error() string { return e.msg }
func (e *gitError) Unwrap() error { return e.err }

// cleanErr keeps go-git's transport errors short and free of URLs.
func cleanErr(err error) error {
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return &gitError{"authentication failed", err}
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return &gitError{"repository not found", err}
	}
	return &gitError{Redact(err.Error()), err}
}

var credsInURL = regexp.MustCompile(`(://)[^/@\s]+@`)

// Redact removes credentials from URLs in s.
func Redact(s string) string { return credsInURL.ReplaceAllString(s, "${1}redacted@") }

// Project is what a Hasura CLI project holds.
type Project struct {
	// Metadata is the v3 metadata document assembled from metadata/.
	Metadata json.RawMessage
	// Migrations are the up migrations of every source, ordered by
	// source name, then version.
	Migrations []Migration
}

// Migration is one migrations/<source>/<version>_<name>/up.sql.
type Migration struct {
	Source  string
	Version int64
	Name    string
	Up      string
}

// Load reads the project in dir of fs.
func Load(fs billy.Filesystem, dir string) (*Project, error) {
	dir = path.Clean("/" + dir)
	if _, err := fs.Stat(path.Join(dir, "config.yaml")); err != nil {
		return nil, fmt.Errorf("%s is not a Hasura project: no config.yaml", dir)
	}
	var cfg struct {
		Version           any    `json:"version"`
		MetadataDirectory string `json:"metadata_directory"`
		MigrationsDir     string `json:"migrations_directory"`
	}
	if err := readYAML(fs, path.Join(dir, "config.yaml"), &cfg); err != nil {
		return nil, err
	}
	if v := fmt.Sprint(cfg.Version); v != "3" {
		return nil, fmt.Errorf("config.yaml version %s: only config v3 projects are supported", v)
	}
	if cfg.MetadataDirectory == "" {
		cfg.MetadataDirectory = "metadata"
	}
	if cfg.MigrationsDir == "" {
		cfg.MigrationsDir = "migrations"
	}
	md, err := loadMetadata(fs, path.Join(dir, cfg.MetadataDirectory))
	if err != nil {
		return nil, err
	}
	migs, err := loadMigrations(fs, path.Join(dir, cfg.MigrationsDir))
	if err != nil {
		return nil, err
	}
	return &Project{Metadata: md, Migrations: migs}, nil
}

// metadataFiles maps the files of the metadata directory to the keys of
// the document (as `hasura metadata export` writes them).
var metadataFiles = []struct{ file, key string }{
	{"databases/databases.yaml", "sources"},
	{"remote_schemas.yaml", "remote_schemas"},
	{"query_collections.yaml", "query_collections"},
	{"allow_list.yaml", "allowlist"},
	{"cron_triggers.yaml", "cron_triggers"},
	{"rest_endpoints.yaml", "rest_endpoints"},
	{"inherited_roles.yaml", "inherited_roles"},
	{"api_limits.yaml", "api_limits"},
	{"graphql_schema_introspection.yaml", "graphql_schema_introspection"},
	{"network.yaml", "network"},
	{"backend_configs.yaml", "backend_configs"},
	{"metrics_config.yaml", "metrics_config"},
	{"opentelemetry.yaml", "opentelemetry"},
}

func loadMetadata(fs billy.Filesystem, dir string) (json.RawMessage, error) {
	doc := map[string]any{"version": 3}
	for _, f := range metadataFiles {
		v, err := loadFile(fs, path.Join(dir, f.file), 0)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !empty(v) {
			doc[f.key] = v
		}
	}
	// actions.yaml holds actions and custom_types; their SDL in
	// actions.graphql is not read (Strata serves no actions yet).
	if v, err := loadFile(fs, path.Join(dir, "actions.yaml"), 0); err == nil {
		if m, ok := v.(map[string]any); ok {
			for _, k := range []string{"actions", "custom_types"} {
				if !empty(m[k]) {
					doc[k] = m[k]
				}
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if _, ok := doc["sources"]; !ok {
		return nil, fmt.Errorf("%s has no databases/databases.yaml", dir)
	}
	return json.Marshal(doc)
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// maxIncludeDepth stops include cycles.
const maxIncludeDepth = 16

// loadFile reads a YAML file and resolves its "!include <path>" strings,
// relative to the file that names them, as the CLI writes them.
func loadFile(fs billy.Filesystem, name string, depth int) (any, error) {
	if depth > maxIncludeDepth {
		return nil, fmt.Errorf("%s: includes nested more than %d deep (a cycle?)", name, maxIncludeDepth)
	}
	var v any
	if err := readYAML(fs, name, &v); err != nil {
		return nil, err
	}
	return resolveIncludes(fs, path.Dir(name), v, depth)
}

func resolveIncludes(fs billy.Filesystem, dir string, v any, depth int) (any, error) {
	switch x := v.(type) {
	case string:
		if rest, ok := strings.CutPrefix(x, "!include "); ok {
			target := path.Join(dir, strings.TrimSpace(rest))
			v, err := loadFile(fs, target, depth+1)
			if errors.Is(err, os.ErrNotExist) {
				// Not wrapped: a missing include is an error of the
				// including file, not a file that may be absent.
				return nil, fmt.Errorf("%s includes %s, which does not exist", strings.TrimPrefix(dir, "/"), strings.TrimPrefix(target, "/"))
			}
			return v, err
		}
	case []any:
		for i := range x {
			r, err := resolveIncludes(fs, dir, x[i], depth)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
	case map[string]any:
		for k := range x {
			r, err := resolveIncludes(fs, dir, x[k], depth)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	}
	return v, nil
}

func readYAML(fs billy.Filesystem, name string, out any) error {
	f, err := fs.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 32<<20))
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: %w", strings.TrimPrefix(name, "/"), err)
	}
	return nil
}

var migrationDir = regexp.MustCompile(`^(\d+)_(.+)$`)

func loadMigrations(fs billy.Filesystem, dir string) ([]Migration, error) {
	sources, err := fs.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, src := range sources {
		if !src.IsDir() {
			continue
		}
		entries, err := fs.ReadDir(path.Join(dir, src.Name()))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			m := migrationDir.FindStringSubmatch(e.Name())
			if !e.IsDir() || m == nil {
				continue
			}
			version, err := strconv.ParseInt(m[1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("migration %s: bad version: %w", e.Name(), err)
			}
			f, err := fs.Open(path.Join(dir, src.Name(), e.Name(), "up.sql"))
			if errors.Is(err, os.ErrNotExist) {
				continue // a down-only migration
			}
			if err != nil {
				return nil, err
			}
			up, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				return nil, err
			}
			out = append(out, Migration{Source: src.Name(), Version: version, Name: m[2], Up: string(up)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Source != out[j].Source {
			return out[i].Source < out[j].Source
		}
		return out[i].Version < out[j].Version
	})
	return out, nil
}
