package server_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/engine/version"
	"github.com/strata-dev/strata/test/enginetest"
)

// The keys Hasura v2's ServerConfig has (Server/API/Config.hs).
var hasuraConfigKeys = []string{
	"version", "is_function_permissions_inferred", "is_remote_schema_permissions_enabled",
	"is_admin_secret_set", "is_auth_hook_set", "is_jwt_set", "jwt", "is_allow_list_enabled",
	"live_queries", "streaming_queries", "console_assets_dir", "experimental_features",
	"is_prometheus_metrics_enabled", "default_naming_convention", "feature_flags",
	"is_apollo_federation_enabled",
}

func TestConfigAPI(t *testing.T) {
	const key = "an HS256 key of at least thirty-two bytes"
	e := enginetest.Start(t, func(c *config.Config) {
		c.AdminSecrets = []string{"s3cret"}
		c.UnauthorizedRole = "anonymous"
		c.JWTSecret = `{"type":"HS256","key":"` + key + `","claims_namespace_path":"$.hasura.claims","claims_format":"stringified_json"}`
		c.JWTSecrets = []string{`{"type":"HS256","key":"` + key + `","claims_map":{"x-hasura-allowed-roles":{"path":"$.roles"},"x-hasura-default-role":"user","x-hasura-user-id":{"path":"$.sub","default":"0"}}}`}
		c.EnableAllowlist = true
		c.LiveQueriesBatchSize = 50
		c.LiveQueriesRefetchInterval = 500 * time.Millisecond
		c.ExperimentalFeatures = []string{"naming_convention", "apollo_federation"}
		c.EnabledAPIs = append(c.EnabledAPIs, config.APIMetrics)
	})

	status, h, body := do(t, http.MethodGet, e.URL+"/v1alpha1/config", http.Header{"X-Hasura-Admin-Secret": {"s3cret"}}, "")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /v1alpha1/config as admin = %d %s %s", status, h.Get("Content-Type"), body)
	}
	if strings.Contains(body, key) || strings.Contains(body, "s3cret") {
		t.Fatalf("the config API shows a secret: %s", body)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := slices.Sorted(slices.Values(hasuraConfigKeys))
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("keys %v, want Hasura's %v", keys, want)
	}
	for k, v := range map[string]string{
		"version":                              `"` + version.Hasura + `"`,
		"is_function_permissions_inferred":     `true`,
		"is_remote_schema_permissions_enabled": `false`,
		"is_admin_secret_set":                  `true`,
		"is_auth_hook_set":                     `false`,
		"is_jwt_set":                           `true`,
		"jwt": `[{"claims_namespace":"$.hasura.claims","claims_format":"stringified_json","claims_map":null},` +
			`{"claims_namespace":"https://hasura.io/jwt/claims","claims_format":"json","claims_map":{"x-hasura-allowed-roles":{"path":"$.roles"},"x-hasura-default-role":"user","x-hasura-user-id":{"path":"$.sub","default":"0"}}}]`,
		"is_allow_list_enabled":         `true`,
		"live_queries":                  `{"batch_size":50,"refetch_delay":0.5}`,
		"streaming_queries":             `{"batch_size":100,"refetch_delay":1}`,
		"console_assets_dir":            `null`,
		"experimental_features":         `["naming_convention","apollo_federation"]`,
		"is_prometheus_metrics_enabled": `true`,
		"default_naming_convention":     `"hasura-default"`,
		"is_apollo_federation_enabled":  `true`,
	} {
		if string(got[k]) != v {
			t.Errorf("%s = %s, want %s", k, got[k], v)
		}
	}
	var flags []map[string]any
	if err := json.Unmarshal(got["feature_flags"], &flags); err != nil || len(flags) == 0 {
		t.Errorf("feature_flags %s", got["feature_flags"])
	}
	for _, f := range flags {
		if f["name"] == nil || f["description"] == nil || f["enabled"] != false {
			t.Errorf("feature flag %v", f)
		}
	}

	// Refusals: another role is told it must be admin (Hasura's onlyAdmin,
	// 400); a wrong secret is refused before that.
	for _, tc := range []struct {
		header     http.Header
		wantStatus int
		wantBody   string
	}{
		{nil, 400, `{"path":"$","error":"You have to be an admin to access this endpoint","code":"access-denied"}`},
		{http.Header{"X-Hasura-Admin-Secret": {"wrong"}}, 401, `{"path":"$","error":"invalid x-hasura-admin-secret/x-hasura-access-key","code":"access-denied"}`},
	} {
		status, _, body := do(t, http.MethodGet, e.URL+"/v1alpha1/config", tc.header, "")
		if status != tc.wantStatus || strings.TrimSpace(body) != tc.wantBody {
			t.Errorf("GET /v1alpha1/config with %v = %d %s, want %d %s", tc.header, status, body, tc.wantStatus, tc.wantBody)
		}
	}
	// POST is not the config API.
	if status, _, _ := do(t, http.MethodPost, e.URL+"/v1alpha1/config", http.Header{"X-Hasura-Admin-Secret": {"s3cret"}}, "{}"); status != 404 {
		t.Errorf("POST /v1alpha1/config = %d, want 404", status)
	}
}

// Without any auth every request is admin, and the config says so.
func TestConfigAPIWithoutAuth(t *testing.T) {
	e := enginetest.Start(t, nil)
	status, _, body := do(t, http.MethodGet, e.URL+"/v1alpha1/config", nil, "")
	if status != 200 {
		t.Fatalf("GET /v1alpha1/config = %d %s", status, body)
	}
	for _, want := range []string{`"is_admin_secret_set":false`, `"is_jwt_set":false`, `"jwt":[]`, `"experimental_features":[]`,
		`"is_prometheus_metrics_enabled":false`, `"live_queries":{"batch_size":100,"refetch_delay":1}`, `"is_allow_list_enabled":false`} {
		if !strings.Contains(body, want) {
			t.Errorf("config %s lacks %s", body, want)
		}
	}
}
