// Package config holds the engine's settings and loads them the way Hasura
// v2 does: a command-line flag wins over its HASURA_GRAPHQL_* environment
// variable, which wins over the default. Names and defaults follow Hasura's
// server flag reference so an existing deployment's environment works as is.
package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// API groups of HASURA_GRAPHQL_ENABLED_APIS (plus pgmeta for /pg/).
const (
	APIGraphQL   = "graphql"
	APIMetadata  = "metadata"
	APIPGDump    = "pgdump"
	APIConfig    = "config"
	APIDeveloper = "developer"
	APIMetrics   = "metrics"
	APIPGMeta    = "pgmeta"
)

var knownAPIs = []string{APIGraphQL, APIMetadata, APIPGDump, APIConfig, APIDeveloper, APIMetrics, APIPGMeta}

// Config is every engine setting. The zero value is not useful: start from
// Default() or Load().
type Config struct {
	DatabaseURL         string
	MetadataDatabaseURL string
	AdminSecrets        []string // HASURA_GRAPHQL_ADMIN_SECRET plus HASURA_GRAPHQL_ADMIN_SECRETS
	ServerHost          string
	ServerPort          int
	EnabledAPIs         []string
	LogLevel            slog.Level
	UnauthorizedRole    string
	JWTSecret           string
	JWTSecrets          []string // HASURA_GRAPHQL_JWT_SECRETS: each element a raw JSON JWT configuration
	AuthHook            string
	AuthHookMode        string
	CORSDomain          string
	DisableCORS         bool
	DevMode             bool
	AdminInternalErrors bool
	PGConnections       int
	PGTimeout           time.Duration // pool acquire timeout
	ConnectTimeout      time.Duration // first connection to a database at start
	StringifyNumerics   bool
	EnableConsole       bool   // accepted for compatibility; Strata serves no console
	LocalPGDir          string // where the throwaway Postgres lives; "" = a temp dir
	// PGMetaCryptoKey decrypts the X-Connection-Encrypted header of the
	// /pg/ API (postgres-meta's CRYPTO_KEY); empty refuses the header.
	PGMetaCryptoKey string
	// PGMetaTimeout bounds each statement of the /pg/ API; 0 = none.
	PGMetaTimeout time.Duration
}

// EnabledAPI reports whether an API group is on.
func (c *Config) EnabledAPI(name string) bool {
	for _, a := range c.EnabledAPIs {
		if a == name {
			return true
		}
	}
	return false
}

// ListenAddr is host:port; Hasura's "*" host means all interfaces.
func (c *Config) ListenAddr() string {
	host := c.ServerHost
	if host == "*" {
		host = ""
	}
	return net.JoinHostPort(host, strconv.Itoa(c.ServerPort))
}

// setting ties one flag to its environment variable.
type setting struct {
	flag, env string
}

// Binder registers the engine's flags on a FlagSet and, after parsing,
// fills the flags the command line left unset from the environment.
type Binder struct {
	fs       *pflag.FlagSet
	settings []setting
	// raw values of list-like and level settings, validated in Finish
	adminSecret, adminSecrets, enabledAPIs, logLevel, jwtSecrets string
	cfg                                                          *Config
}

// Bind registers every engine flag on fs, writing into cfg.
func Bind(fs *pflag.FlagSet, cfg *Config) *Binder {
	b := &Binder{fs: fs, cfg: cfg}
	str := func(p *string, flag, env, def, usage string) {
		fs.StringVar(p, flag, def, usage+" (env "+env+")")
		b.settings = append(b.settings, setting{flag, env})
	}
	boolean := func(p *bool, flag, env string, def bool, usage string) {
		fs.BoolVar(p, flag, def, usage+" (env "+env+")")
		b.settings = append(b.settings, setting{flag, env})
	}
	integer := func(p *int, flag, env string, def int, usage string) {
		fs.IntVar(p, flag, def, usage+" (env "+env+")")
		b.settings = append(b.settings, setting{flag, env})
	}
	duration := func(p *time.Duration, flag, env string, def time.Duration, usage string) {
		fs.DurationVar(p, flag, def, usage+" (env "+env+")")
		b.settings = append(b.settings, setting{flag, env})
	}

	str(&cfg.DatabaseURL, "database-url", "HASURA_GRAPHQL_DATABASE_URL", "", "Postgres URL of the default source; with no database URL at all a throwaway local Postgres is started")
	str(&cfg.MetadataDatabaseURL, "metadata-database-url", "HASURA_GRAPHQL_METADATA_DATABASE_URL", "", "Postgres URL where metadata is stored (default: the database URL)")
	str(&b.adminSecret, "admin-secret", "HASURA_GRAPHQL_ADMIN_SECRET", "", "admin secret; without one every request is admin")
	str(&b.adminSecrets, "admin-secrets", "HASURA_GRAPHQL_ADMIN_SECRETS", "", "further admin secrets, as a JSON list or comma-separated")
	str(&cfg.ServerHost, "server-host", "HASURA_GRAPHQL_SERVER_HOST", "*", "host to listen on; * means all interfaces")
	integer(&cfg.ServerPort, "server-port", "HASURA_GRAPHQL_SERVER_PORT", 8080, "port to listen on")
	str(&b.enabledAPIs, "enabled-apis", "HASURA_GRAPHQL_ENABLED_APIS", "metadata,graphql,pgdump,config,pgmeta", "comma-separated API groups: "+strings.Join(knownAPIs, ","))
	str(&b.logLevel, "log-level", "HASURA_GRAPHQL_LOG_LEVEL", "info", "debug, info, warn or error")
	str(&cfg.UnauthorizedRole, "unauthorized-role", "HASURA_GRAPHQL_UNAUTHORIZED_ROLE", "", "role of requests that carry no credentials")
	str(&cfg.JWTSecret, "jwt-secret", "HASURA_GRAPHQL_JWT_SECRET", "", "JWT configuration (JSON)")
	str(&b.jwtSecrets, "jwt-secrets", "HASURA_GRAPHQL_JWT_SECRETS", "", "further JWT configurations, as a JSON list")
	str(&cfg.AuthHook, "auth-hook", "HASURA_GRAPHQL_AUTH_HOOK", "", "authentication webhook URL")
	str(&cfg.AuthHookMode, "auth-hook-mode", "HASURA_GRAPHQL_AUTH_HOOK_MODE", "GET", "GET or POST")
	str(&cfg.CORSDomain, "cors-domain", "HASURA_GRAPHQL_CORS_DOMAIN", "*", "allowed CORS origins, comma-separated, wildcards allowed")
	boolean(&cfg.DisableCORS, "disable-cors", "HASURA_GRAPHQL_DISABLE_CORS", false, "do not send CORS headers")
	boolean(&cfg.DevMode, "dev-mode", "HASURA_GRAPHQL_DEV_MODE", false, "show internal error detail")
	boolean(&cfg.AdminInternalErrors, "admin-internal-errors", "HASURA_GRAPHQL_ADMIN_INTERNAL_ERRORS", true, "show internal error detail to admins")
	integer(&cfg.PGConnections, "connections", "HASURA_GRAPHQL_PG_CONNECTIONS", 50, "maximum Postgres connections per source")
	duration(&cfg.PGTimeout, "pool-timeout", "HASURA_GRAPHQL_PG_POOL_TIMEOUT", 0, "how long a request waits for a free connection; 0 waits for the request's context")
	duration(&cfg.ConnectTimeout, "connect-timeout", "STRATA_CONNECT_TIMEOUT", 10*time.Second, "how long start-up waits for the databases")
	boolean(&cfg.StringifyNumerics, "stringify-numeric-types", "HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES", false, "return numeric types as strings")
	str(&cfg.PGMetaCryptoKey, "pg-meta-crypto-key", "STRATA_PG_META_CRYPTO_KEY", "", "key of the /pg/ API's X-Connection-Encrypted header (postgres-meta's CRYPTO_KEY)")
	duration(&cfg.PGMetaTimeout, "pg-meta-statement-timeout", "STRATA_PG_META_STATEMENT_TIMEOUT", 0, "statement timeout of the /pg/ API; 0 means none")
	boolean(&cfg.EnableConsole, "enable-console", "HASURA_GRAPHQL_ENABLE_CONSOLE", false, "accepted for compatibility; Strata serves no console")
	str(&cfg.LocalPGDir, "local-pg-dir", "STRATA_LOCAL_PG_DIR", "", "directory for the throwaway Postgres (default: a new temp dir, removed on exit)")
	return b
}

// Finish applies the environment to every flag the command line did not
// set, then validates. lookup is os.LookupEnv in production; tests and the
// conformance runner pass their own.
func (b *Binder) Finish(lookup func(string) (string, bool)) error {
	for _, s := range b.settings {
		f := b.fs.Lookup(s.flag)
		if f.Changed {
			continue
		}
		v, ok := lookup(s.env)
		if !ok || v == "" {
			continue
		}
		if err := f.Value.Set(v); err != nil {
			return fmt.Errorf("invalid value %q for %s: %v", v, s.env, unwrapParse(err))
		}
	}
	return b.finish()
}

func (b *Binder) finish() error {
	c := b.cfg
	c.AdminSecrets = nil
	if b.adminSecret != "" {
		c.AdminSecrets = append(c.AdminSecrets, b.adminSecret)
	}
	c.AdminSecrets = append(c.AdminSecrets, splitList(b.adminSecrets)...)

	if c.ServerPort < 1 || c.ServerPort > 65535 {
		return fmt.Errorf("invalid server port %d: must be between 1 and 65535", c.ServerPort)
	}
	apis, err := parseAPIs(b.enabledAPIs)
	if err != nil {
		return err
	}
	c.EnabledAPIs = apis
	if err := c.LogLevel.UnmarshalText([]byte(b.logLevel)); err != nil {
		return fmt.Errorf("invalid log level %q: use debug, info, warn or error", b.logLevel)
	}
	switch strings.ToUpper(c.AuthHookMode) {
	case "GET", "POST":
		c.AuthHookMode = strings.ToUpper(c.AuthHookMode)
	default:
		return fmt.Errorf("invalid auth hook mode %q: use GET or POST", c.AuthHookMode)
	}
	c.JWTSecrets = nil
	if strings.TrimSpace(b.jwtSecrets) != "" {
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(b.jwtSecrets), &list); err != nil {
			return fmt.Errorf("invalid HASURA_GRAPHQL_JWT_SECRETS: must be a JSON list of JWT configurations")
		}
		for _, raw := range list {
			c.JWTSecrets = append(c.JWTSecrets, string(raw))
		}
	}
	// Hasura refuses both modes at once (Server/Auth.hs setupAuthMode).
	if (c.JWTSecret != "" || len(c.JWTSecrets) > 0) && c.AuthHook != "" {
		return fmt.Errorf("both webhook and JWT mode cannot be enabled at the same time: set HASURA_GRAPHQL_AUTH_HOOK or HASURA_GRAPHQL_JWT_SECRET(S), not both")
	}
	if c.PGConnections < 1 {
		return fmt.Errorf("invalid connections %d: must be at least 1", c.PGConnections)
	}
	for _, u := range []struct{ name, v string }{{"database URL", c.DatabaseURL}, {"metadata database URL", c.MetadataDatabaseURL}} {
		if u.v != "" && !strings.HasPrefix(u.v, "postgres://") && !strings.HasPrefix(u.v, "postgresql://") {
			return fmt.Errorf("invalid %s: must start with postgres:// or postgresql://", u.name)
		}
	}
	return nil
}

// Default returns the configuration with no flags and no environment.
func Default() *Config {
	c := &Config{}
	b := Bind(pflag.NewFlagSet("default", pflag.ContinueOnError), c)
	if err := b.finish(); err != nil {
		panic("config: defaults do not validate: " + err.Error()) // a programming error
	}
	return c
}

// FromEnv builds a configuration from environment variables alone.
func FromEnv(lookup func(string) (string, bool)) (*Config, error) {
	c := &Config{}
	b := Bind(pflag.NewFlagSet("env", pflag.ContinueOnError), c)
	return c, b.Finish(lookup)
}

func parseAPIs(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, a := range splitList(s) {
		a = strings.ToLower(a)
		if !contains(knownAPIs, a) {
			return nil, fmt.Errorf("invalid enabled API %q: use %s", a, strings.Join(knownAPIs, ", "))
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out, nil
}

// splitList accepts "a,b" and Hasura's JSON-ish `["a","b"]`.
func splitList(s string) []string {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.Trim(strings.TrimSpace(p), `"`)
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// unwrapParse turns strconv's "strconv.ParseInt: parsing "x": invalid
// syntax" into "invalid syntax".
func unwrapParse(err error) string {
	var ne *strconv.NumError
	if e, ok := err.(*strconv.NumError); ok {
		ne = e
		return ne.Err.Error()
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}
