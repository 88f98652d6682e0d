package auth_test

// The auth settings as the engine reads them (engine/config), checked here
// with the package they configure.

import (
	"strings"
	"testing"

	"github.com/strata-dev/strata/engine/config"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestConfigAuthSettings(t *testing.T) {
	one := `{"type":"HS256","key":"0123456789abcdef0123456789abcdef"}`
	c, err := config.FromEnv(env(map[string]string{
		"HASURA_GRAPHQL_ADMIN_SECRET": "s",
		"HASURA_GRAPHQL_JWT_SECRET":   one,
		"HASURA_GRAPHQL_JWT_SECRETS":  `[` + one + `, {"jwk_url": "https://idp.example/keys"}]`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.JWTSecret != one || len(c.JWTSecrets) != 2 || !strings.Contains(c.JWTSecrets[1], "jwk_url") {
		t.Fatalf("JWT settings %q %q", c.JWTSecret, c.JWTSecrets)
	}

	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"HASURA_GRAPHQL_JWT_SECRET": one, "HASURA_GRAPHQL_AUTH_HOOK": "http://hook"}, "both webhook and JWT mode cannot be enabled at the same time"},
		{map[string]string{"HASURA_GRAPHQL_JWT_SECRETS": `[` + one + `]`, "HASURA_GRAPHQL_AUTH_HOOK": "http://hook"}, "both webhook and JWT mode cannot be enabled at the same time"},
		{map[string]string{"HASURA_GRAPHQL_JWT_SECRETS": one}, "invalid HASURA_GRAPHQL_JWT_SECRETS"},
	} {
		_, err := config.FromEnv(env(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.env, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "0123456789abcdef") {
			t.Errorf("the error quotes a secret: %v", err)
		}
	}
}
