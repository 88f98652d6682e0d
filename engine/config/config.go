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
	// AuthHookSendRequestBody: a POST auth hook is sent the GraphQL
	// request (Hasura's default).
	AuthHookSendRequestBody bool
	CORSDomain              string
	DisableCORS             bool
	DevMode                 bool
	AdminInternalErrors     bool
	PGConnections           int
	PGTimeout               time.Duration // pool acquire timeout
	ConnectTimeout          time.Duration // first connection to a database at start
	StringifyNumerics       bool
	EnableConsole           bool   // serve the built-in console at /console (engine/console)
	LocalPGDir              string // where the throwaway Postgres lives; "" = a temp dir
	// PGMetaCryptoKey decrypts the X-Connection-Encrypted header of the
	// /pg/ API (postgres-meta's CRYPTO_KEY); empty refuses the header.
	PGMetaCryptoKey string
	// PGMetaTimeout bounds each statement of the /pg/ API; 0 = none.
	PGMetaTimeout time.Duration
	// WSReadCookie keeps the Cookie header of websocket handshakes when
	// CORS is disabled (Hasura drops it then, unless told otherwise).
	WSReadCookie bool
	// MetricsSecret is the bearer token /v1/metrics asks for; empty
	// serves the metrics to anyone who can reach them (the metrics API
	// group is off unless switched on).
	MetricsSecret string
	// EnableAllowlist is HASURA_GRAPHQL_ENABLE_ALLOWLIST: only queries in
	// the metadata's allow list may run. Parsed and reported by
	// /v1alpha1/config; the GraphQL executor enforces it.
	EnableAllowlist bool
	// Multiplexed subscriptions: batch size and how often results are
	// refetched, for live queries and for streaming subscriptions.
	LiveQueriesBatchSize            int
	LiveQueriesRefetchInterval      time.Duration
	StreamingQueriesBatchSize       int
	StreamingQueriesRefetchInterval time.Duration
	// CloseWebsocketsOnMetadataChange: every websocket is closed (1012)
	// when the metadata changes, so subscriptions restart on the new
	// schema and permissions (Hasura's default).
	CloseWebsocketsOnMetadataChange bool
	// ExperimentalFeatures are the HASURA_GRAPHQL_EXPERIMENTAL_FEATURES
	// keys, in Hasura's order, without duplicates.
	ExperimentalFeatures []string
}

// Experimental features Hasura v2 knows (Server/Types.hs), in its order.
// They are accepted so existing deployments start; /v1alpha1/config
// reports them.
var knownExperimentalFeatures = []string{
	"inherited_roles", "optimize_permission_filters", "naming_convention", "streaming_subscriptions",
	"apollo_federation", "hide_update_many_fields", "bigquery_string_numeric_input",
	"hide_aggregation_predicates", "hide_stream_fields", "group_by_aggregations",
	"disable_postgres_arrays", "no_null_unbound_variable_default", "remove_empty_subscription_responses",
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
	adminSecret, adminSecrets, enabledAPIs, logLevel, jwtSecrets, experimental string
	// subscription refetch intervals, in milliseconds as Hasura takes them
	liveRefetchMS, streamRefetchMS int
	cfg                            *Config
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
	boolean(&cfg.AuthHookSendRequestBody, "auth-hook-send-request-body", "HASURA_GRAPHQL_AUTH_HOOK_SEND_REQUEST_BODY", true, "send the GraphQL request to a POST auth hook")
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
	boolean(&cfg.EnableConsole, "enable-console", "HASURA_GRAPHQL_ENABLE_CONSOLE", false, "serve the console at /console (needs the metadata API); / redirects to it")
	str(&cfg.LocalPGDir, "local-pg-dir", "STRATA_LOCAL_PG_DIR", "", "directory for the throwaway Postgres (default: a new temp dir, removed on exit)")
	boolean(&cfg.WSReadCookie, "ws-read-cookie", "HASURA_GRAPHQL_WS_READ_COOKIE", false, "read the Cookie header of websocket handshakes although CORS is disabled")
	str(&cfg.MetricsSecret, "metrics-secret", "HASURA_GRAPHQL_METRICS_SECRET", "", "bearer token of /v1/metrics (metrics API group)")
	boolean(&cfg.EnableAllowlist, "enable-allowlist", "HASURA_GRAPHQL_ENABLE_ALLOWLIST", false, "only accept GraphQL queries in the allow list")
	integer(&cfg.LiveQueriesBatchSize, "live-queries-multiplexed-batch-size", "HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE", 100, "live queries are multiplexed in batches of this size")
	integer(&b.liveRefetchMS, "live-queries-multiplexed-refetch-interval", "HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL", 1000, "live query results are refetched at most once in this interval (milliseconds)")
	boolean(&cfg.CloseWebsocketsOnMetadataChange, "close-websockets-on-metadata-change", "HASURA_GRAPHQL_CLOSE_WEBSOCKETS_ON_METADATA_CHANGE", true, "close every websocket (1012) when the metadata changes, so subscriptions restart on the new schema")
	integer(&cfg.StreamingQueriesBatchSize, "streaming-queries-multiplexed-batch-size", "HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE", 100, "streaming subscriptions are multiplexed in batches of this size")
	integer(&b.streamRefetchMS, "streaming-queries-multiplexed-refetch-interval", "HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL", 1000, "streaming subscription results are refetched at most once in this interval (milliseconds)")
	str(&b.experimental, "experimental-features", "HASURA_GRAPHQL_EXPERIMENTAL_FEATURES", "", "comma-separated experimental features: "+strings.Join(knownExperimentalFeatures, ","))
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
	if _, err := c.CORS(); err != nil {
		return err
	}
	for _, n := range []struct {
		env string
		v   int
	}{
		{"HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE", c.LiveQueriesBatchSize},
		{"HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE", c.StreamingQueriesBatchSize},
	} {
		if n.v < 0 {
			return fmt.Errorf("invalid %s %d: batch size should be a non negative integer", n.env, n.v)
		}
	}
	for _, n := range []struct {
		env string
		ms  int
		p   *time.Duration
	}{
		{"HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL", b.liveRefetchMS, &c.LiveQueriesRefetchInterval},
		{"HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL", b.streamRefetchMS, &c.StreamingQueriesRefetchInterval},
	} {
		if n.ms < 0 {
			return fmt.Errorf("invalid %s %d: refetch interval should be a non negative integer (milliseconds)", n.env, n.ms)
		}
		*n.p = time.Duration(n.ms) * time.Millisecond
	}
	features, err := parseExperimental(b.experimental)
	if err != nil {
		return err
	}
	c.ExperimentalFeatures = features
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

func parseExperimental(s string) ([]string, error) {
	on := map[string]bool{}
	for _, f := range splitList(s) {
		f = strings.ToLower(f)
		if !contains(knownExperimentalFeatures, f) {
			return nil, fmt.Errorf("invalid HASURA_GRAPHQL_EXPERIMENTAL_FEATURES: unknown feature %q: use %s", f, strings.Join(knownExperimentalFeatures, ", "))
		}
		on[f] = true
	}
	var out []string
	for _, f := range knownExperimentalFeatures {
		if on[f] {
			out = append(out, f)
		}
	}
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

// CORSPolicy is HASURA_GRAPHQL_CORS_DOMAIN and HASURA_GRAPHQL_DISABLE_CORS
// as the server applies them (Hasura's Server/Cors.hs).
type CORSPolicy struct {
	// Disabled: no CORS headers on any response; websocket handshakes
	// lose their Cookie header unless WSReadCookie.
	Disabled     bool
	WSReadCookie bool
	// AllowAll is the default "*": every origin is answered as allowed.
	AllowAll bool
	domains  []corsDomain
}

// corsDomain is one entry of the domain list: scheme://[*.]host[:port].
type corsDomain struct {
	scheme string // with "://"
	host   string // without the "*."
	// wildcard: "*." in front, one more DNS label before host (Hasura does
	// not match deeper subdomains, nor host itself).
	wildcard bool
	// port: "" none, digits, or "*" any port or none. Hasura's parser
	// reads "http://localhost:*" as plain "http://localhost"; Strata
	// takes the evident meaning.
	port string
}

// CORS parses the CORS settings; finish has validated them, so only a
// Config built in code can make it fail.
func (c *Config) CORS() (CORSPolicy, error) {
	if c.DisableCORS {
		return CORSPolicy{Disabled: true, WSReadCookie: c.WSReadCookie}, nil
	}
	if c.WSReadCookie {
		return CORSPolicy{}, fmt.Errorf("invalid HASURA_GRAPHQL_WS_READ_COOKIE: it can only be used when CORS is disabled (HASURA_GRAPHQL_DISABLE_CORS)")
	}
	if c.CORSDomain == "*" {
		return CORSPolicy{AllowAll: true}, nil
	}
	var p CORSPolicy
	for _, d := range strings.Split(c.CORSDomain, ",") {
		cd, ok := parseCORSDomain(strings.TrimSpace(d))
		if !ok {
			return CORSPolicy{}, fmt.Errorf("invalid HASURA_GRAPHQL_CORS_DOMAIN: invalid domain %q: every domain needs a scheme, a host (optionally *. in front) and optionally a port, e.g. https://*.example.com, http://localhost:3000", strings.TrimSpace(d))
		}
		p.domains = append(p.domains, cd)
	}
	return p, nil
}

// parseCORSDomain reads one list entry the way Hasura does: a scheme of
// letters, digits, "+", "." or "-" and "://" are required; the rest is a
// host and, after the first ":", a port (leading digits, or "*").
func parseCORSDomain(d string) (corsDomain, bool) {
	scheme, rest, ok := splitScheme(d)
	if !ok {
		return corsDomain{}, false
	}
	cd := corsDomain{scheme: scheme}
	if r, ok := strings.CutPrefix(rest, "*."); ok {
		cd.wildcard, rest = true, r
	}
	cd.host, cd.port = splitHostPort(rest, true)
	return cd, true
}

func splitScheme(s string) (scheme, rest string, ok bool) {
	i := strings.Index(s, "://")
	if i <= 0 {
		return "", "", false
	}
	for _, r := range s[:i] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '.' || r == '-') {
			return "", "", false
		}
	}
	return s[:i+3], s[i+3:], true
}

// splitHostPort: the host runs to the first ":" (a leading ":" belongs to
// the host); the port is the digits after it, without leading zeros.
func splitHostPort(s string, star bool) (host, port string) {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return s, ""
	}
	host, p := s[:i], s[i+1:]
	if star && strings.HasPrefix(p, "*") {
		return host, "*"
	}
	n := 0
	for n < len(p) && p[n] >= '0' && p[n] <= '9' {
		n++
	}
	if n == 0 {
		return host, ""
	}
	v, err := strconv.Atoi(p[:n])
	if err != nil {
		return host, p[:n]
	}
	return host, strconv.Itoa(v)
}

// Allows reports whether a request's Origin header is allowed.
func (p CORSPolicy) Allows(origin string) bool {
	if p.Disabled {
		return false
	}
	if p.AllowAll {
		return true
	}
	scheme, rest, ok := splitScheme(origin)
	if !ok {
		return false
	}
	host, port := splitHostPort(rest, false)
	// Below a wildcard the first label is dropped: a.foo.com is foo.com.
	sub := ""
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		sub = rest[i+1:]
	}
	subHost, subPort := splitHostPort(sub, false)
	for _, d := range p.domains {
		if d.scheme != scheme {
			continue
		}
		if !d.wildcard {
			// Hasura compares the whole origin with the normalised entry.
			if d.port == "*" {
				if host == d.host && rest == host+portSuffix(port) {
					return true
				}
			} else if rest == d.host+portSuffix(d.port) {
				return true
			}
			continue
		}
		if i := strings.IndexByte(rest, '.'); i < 0 || strings.ContainsRune(rest[:i], ':') {
			continue
		}
		if subHost == d.host && (d.port == "*" || subPort == d.port) {
			return true
		}
	}
	return false
}

func portSuffix(p string) string {
	if p == "" {
		return ""
	}
	return ":" + p
}
