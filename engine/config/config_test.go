package config_test

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/strata-dev/strata/engine/config"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func load(t *testing.T, args []string, vars map[string]string) (*config.Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	cfg := &config.Config{}
	b := config.Bind(fs, cfg)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return cfg, b.Finish(env(vars))
}

func TestDefaultsMatchHasura(t *testing.T) {
	c := config.Default()
	if c.ServerPort != 8080 || c.ServerHost != "*" || c.ListenAddr() != ":8080" {
		t.Errorf("listen: port %d host %q addr %q", c.ServerPort, c.ServerHost, c.ListenAddr())
	}
	if c.LogLevel != slog.LevelInfo || c.CORSDomain != "*" || c.AuthHookMode != "GET" || c.PGConnections != 50 {
		t.Errorf("defaults: %+v", c)
	}
	for _, api := range []string{"graphql", "metadata", "pgdump", "config"} {
		if !c.EnabledAPI(api) {
			t.Errorf("%s should be enabled by default", api)
		}
	}
	if c.EnabledAPI("developer") || c.EnabledAPI("metrics") {
		t.Error("developer and metrics APIs must be off by default, as in Hasura")
	}
	if len(c.AdminSecrets) != 0 {
		t.Error("no admin secret by default")
	}
}

func TestFlagBeatsEnvBeatsDefault(t *testing.T) {
	c, err := load(t, []string{"--server-port=9000"}, map[string]string{
		"HASURA_GRAPHQL_SERVER_PORT":       "9100",
		"HASURA_GRAPHQL_DATABASE_URL":      "postgres://db/x",
		"HASURA_GRAPHQL_ENABLED_APIS":      "graphql, METADATA,graphql",
		"HASURA_GRAPHQL_ADMIN_SECRET":      "s1",
		"HASURA_GRAPHQL_ADMIN_SECRETS":     `["s2","s3"]`,
		"HASURA_GRAPHQL_LOG_LEVEL":         "debug",
		"HASURA_GRAPHQL_UNAUTHORIZED_ROLE": "anonymous",
		"HASURA_GRAPHQL_DEV_MODE":          "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.ServerPort != 9000 {
		t.Errorf("flag must win: port %d", c.ServerPort)
	}
	if c.DatabaseURL != "postgres://db/x" || c.UnauthorizedRole != "anonymous" || !c.DevMode || c.LogLevel != slog.LevelDebug {
		t.Errorf("env not applied: %+v", c)
	}
	if want := []string{"graphql", "metadata"}; !reflect.DeepEqual(c.EnabledAPIs, want) {
		t.Errorf("enabled apis %v, want %v", c.EnabledAPIs, want)
	}
	if want := []string{"s1", "s2", "s3"}; !reflect.DeepEqual(c.AdminSecrets, want) {
		t.Errorf("admin secrets %v, want %v", c.AdminSecrets, want)
	}
}

func TestBadValuesAreClearErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, map[string]string{"HASURA_GRAPHQL_SERVER_PORT": "eighty"}, `invalid value "eighty" for HASURA_GRAPHQL_SERVER_PORT`},
		{[]string{"--server-port=70000"}, nil, "invalid server port 70000"},
		{nil, map[string]string{"HASURA_GRAPHQL_ENABLED_APIS": "graphql,console"}, `invalid enabled API "console"`},
		{nil, map[string]string{"HASURA_GRAPHQL_LOG_LEVEL": "loud"}, `invalid log level "loud"`},
		{nil, map[string]string{"HASURA_GRAPHQL_AUTH_HOOK_MODE": "PUT"}, `invalid auth hook mode "PUT"`},
		{nil, map[string]string{"HASURA_GRAPHQL_DEV_MODE": "maybe"}, `invalid value "maybe" for HASURA_GRAPHQL_DEV_MODE`},
		{nil, map[string]string{"HASURA_GRAPHQL_PG_CONNECTIONS": "0"}, "invalid connections 0"},
		{nil, map[string]string{"HASURA_GRAPHQL_DATABASE_URL": "mysql://u:hunter2@h/db"}, "invalid database URL"},
	} {
		_, err := load(t, tc.args, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: got %v, want error containing %q", tc.args, tc.env, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks a password: %v", err)
		}
	}
}

func TestFromEnv(t *testing.T) {
	c, err := config.FromEnv(env(map[string]string{"HASURA_GRAPHQL_SERVER_HOST": "127.0.0.1", "HASURA_GRAPHQL_SERVER_PORT": "8181"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr() != "127.0.0.1:8181" {
		t.Errorf("listen addr %q", c.ListenAddr())
	}
}
