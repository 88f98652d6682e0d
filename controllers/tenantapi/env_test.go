package tenantapi

import (
	"errors"
	"strings"
	"testing"
)

func TestEnvHashIsStableAndCoversKeysAndValues(t *testing.T) {
	a := map[string][]byte{"A": []byte("1"), "B": []byte("2")}
	b := map[string][]byte{"B": []byte("2"), "A": []byte("1")}
	if envHash(a) != envHash(b) {
		t.Error("the hash depends on map order")
	}
	if h := envHash(a); len(h) != 40 || strings.Trim(h, "0123456789abcdef") != "" {
		t.Errorf("hash %q: want 40 hex digits", h)
	}
	for name, other := range map[string]map[string][]byte{
		"value changed": {"A": []byte("1"), "B": []byte("3")},
		"key added":     {"A": []byte("1"), "B": []byte("2"), "C": nil},
		"key removed":   {"A": []byte("1")},
		// Without length prefixes these two would encode alike.
		"shifted boundary": {"A": []byte("1\nB=2")},
	} {
		if envHash(other) == envHash(a) {
			t.Errorf("%s: same hash", name)
		}
	}
	if envHash(nil) != envHash(map[string][]byte{}) {
		t.Error("empty envs differ")
	}
}

func TestEnvArgValidatesNames(t *testing.T) {
	env, err := envArg([]any{
		map[string]any{"key": "HASURA_GRAPHQL_CORS_DOMAIN", "value": "*"},
		nil,
		map[string]any{"key": "MY_VAR", "value": "one"},
		map[string]any{"key": "MY_VAR", "value": "two"},
	})
	if err != nil || len(env) != 2 || env["MY_VAR"] != "two" || env["HASURA_GRAPHQL_CORS_DOMAIN"] != "*" {
		t.Errorf("env %v, %v", env, err)
	}
	for _, key := range []string{"", "1ABC", "A-B", "A=B", "HASURA_GRAPHQL_METADATA_DATABASE_URL", "HASURA_GRAPHQL_SERVER_PORT"} {
		_, err := envArg([]any{map[string]any{"key": key, "value": "x"}})
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeValidation {
			t.Errorf("key %q: %v, want a validation error", key, err)
		}
	}
	if _, err := envArg([]any{map[string]any{"key": envAdminSecret, "value": ""}}); err == nil {
		t.Error("an empty admin secret was accepted")
	}
}

func TestRegionsAreParsedAndEnforced(t *testing.T) {
	regions, err := ParseRegions(" aws/us-east-1, gcp/europe-west1 ,")
	if err != nil || len(regions) != 2 || regions[1] != (Region{"gcp", "europe-west1"}) {
		t.Fatalf("ParseRegions: %v %v", regions, err)
	}
	for _, bad := range []string{"aws", "aws/", "/x", "AWS/us", "aws/us east"} {
		if _, err := ParseRegions(bad); err == nil {
			t.Errorf("ParseRegions(%q) accepted", bad)
		}
	}
	if err := checkRegion(regions, "aws", "us-east-1"); err != nil {
		t.Error(err)
	}
	err = checkRegion(regions, "aws", "us-east-2")
	if err == nil || !strings.Contains(err.Error(), "aws/us-east-1, gcp/europe-west1") {
		t.Errorf("an unlisted region: %v", err)
	}
	if err := checkRegion(nil, "azure", "westeurope"); err != nil {
		t.Errorf("no list accepts any region: %v", err)
	}
	if err := checkRegion(nil, "", "x"); err == nil {
		t.Error("an empty cloud was accepted")
	}
}

func TestNamesMapToObjectNames(t *testing.T) {
	for in, want := range map[string]string{"my-app_name": "my-app-name", "a": "a", "shop2": "shop2"} {
		if got, err := objectName(in); err != nil || got != want {
			t.Errorf("objectName(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "2shop", "Shop", "shop-", "a.b", strings.Repeat("a", 49)} {
		if _, err := objectName(bad); err == nil {
			t.Errorf("objectName(%q) accepted", bad)
		}
	}
}

func TestDatabaseNamesAndURLRedaction(t *testing.T) {
	if got := databaseName("7a79cf94-0e53-4520-a560-1b02bf522f08"); got != "tenant_7a79cf940e534520a5601b02bf522f08" || !dbNameRE.MatchString(got) {
		t.Errorf("databaseName: %q", got)
	}
	if got := redactURL("connect postgres://admin:s3cret@db:5432/x failed"); strings.Contains(got, "s3cret") {
		t.Errorf("redactURL: %q", got)
	}
	if got := scrub("clone https://x:tok@github.com/a/b with tok123", "tok123"); strings.Contains(got, "tok123") || strings.Contains(got, ":tok@") {
		t.Errorf("scrub: %q", got)
	}
}
