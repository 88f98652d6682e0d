package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/strata-dev/strata/engine/config"
)

const (
	logAdminSecret = "adm1n-Secret-Never-Logged"
	logJWTKey      = "jwt-key-never-logged-0123456789abcdef"
	logCookie      = "cookie-value-never-logged"
	logEncrypted   = "encrypted-connection-never-logged"
)

func signedJWT(t *testing.T) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "42",
		"exp": time.Now().Add(time.Hour).Unix(),
		"https://hasura.io/jwt/claims": map[string]any{
			"x-hasura-allowed-roles": []string{"user"},
			"x-hasura-default-role":  "user",
			"x-hasura-user-id":       "42",
		},
	}).SignedString([]byte(logJWTKey))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// httpLogLine finds the http-log line of the request with id.
func httpLogLine(t *testing.T, logs string, id string) map[string]any {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, `"http-log"`) {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if d, _ := m["detail"].(map[string]any); d != nil && d["request_id"] == id {
			return m
		}
	}
	t.Fatalf("no http-log line for request %s in:\n%s", id, logs)
	return nil
}

func path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

func TestRequestLogLine(t *testing.T) {
	url, logs := startLogged(t, func(c *config.Config) {
		c.AdminSecrets = []string{logAdminSecret}
		c.JWTSecret = `{"type":"HS256","key":"` + logJWTKey + `"}`
	})
	token := signedJWT(t)

	// An admin request carrying every kind of credential.
	status, _, body := do(t, http.MethodPost, url+"/v1/graphql", http.Header{
		"X-Request-Id":           {"log-admin"},
		"X-Hasura-Admin-Secret":  {logAdminSecret},
		"Authorization":          {"Bearer " + token},
		"Cookie":                 {"session=" + logCookie},
		"X-Connection-Encrypted": {logEncrypted},
		"X-Real-Ip":              {"203.0.113.7"},
	}, `{"query":"query Named { __typename }","operationName":"Named","variables":{"password":"`+logAdminSecret+`"}}`)
	if status != 200 {
		t.Fatalf("admin request: %d %s", status, body)
	}
	// A JWT session.
	if status, _, body := do(t, http.MethodPost, url+"/v1/graphql", http.Header{
		"X-Request-Id":  {"log-jwt"},
		"Authorization": {"Bearer " + token},
		"Cookie":        {"session=" + logCookie},
	}, `[{"query":"{ __typename }"}]`); status != 200 {
		t.Fatalf("jwt request: %d %s", status, body)
	}
	// A refused one: the wrong secret is not logged either.
	if status, _, _ := do(t, http.MethodPost, url+"/v1/metadata", http.Header{
		"X-Request-Id":          {"log-refused"},
		"X-Hasura-Admin-Secret": {"wrong-" + logAdminSecret},
		"Authorization":         {"Bearer " + token},
	}, `{"type":"export_metadata","args":{}}`); status != 401 {
		t.Fatalf("refused request: %d", status)
	}

	out := logs.String()
	for _, secret := range []string{logAdminSecret, logJWTKey, token, logCookie, logEncrypted, "Bearer", "password"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}

	admin := httpLogLine(t, out, "log-admin")
	for _, k := range []string{"type", "timestamp", "level", "detail"} {
		if admin[k] == nil {
			t.Errorf("log line lacks %s: %v", k, admin)
		}
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000-0700", admin["timestamp"].(string)); err != nil {
		t.Errorf("timestamp %v is not Hasura's format: %v", admin["timestamp"], err)
	}
	for keys, want := range map[string]any{
		"type":                        "http-log",
		"level":                       "INFO",
		"detail.request_id":           "log-admin",
		"detail.operation.request_id": "log-admin",
		"detail.operation.user_vars.x-hasura-role":    "admin",
		"detail.operation.request_mode":               "single",
		"detail.operation.query.operationName":        "Named",
		"detail.http_info.status":                     float64(200),
		"detail.http_info.method":                     "POST",
		"detail.http_info.url":                        "/v1/graphql",
		"detail.http_info.http_version":               "HTTP/1.1",
		"detail.http_info.ip":                         "203.0.113.7",
		"detail.operation.uncompressed_response_size": path(admin, "detail", "operation", "response_size"),
	} {
		if got := path(admin, strings.Split(keys, ".")...); got != want {
			t.Errorf("%s = %v, want %v", keys, got, want)
		}
	}
	if hi := path(admin, "detail", "http_info").(map[string]any); hi["content_encoding"] != nil || len(hi) != 6 {
		t.Errorf("http_info %v: want Hasura's six keys, content_encoding null", hi)
	}
	for _, k := range []string{"query_execution_time", "request_read_time", "response_size"} {
		if v, ok := path(admin, "detail", "operation", k).(float64); !ok || v < 0 {
			t.Errorf("operation.%s = %v", k, path(admin, "detail", "operation", k))
		}
	}
	if path(admin, "detail", "operation", "error") != nil {
		t.Errorf("a success logged an error: %v", admin)
	}

	jwtLine := httpLogLine(t, out, "log-jwt")
	if got := path(jwtLine, "detail", "operation", "user_vars"); !equalJSON(got, map[string]any{"x-hasura-role": "user", "x-hasura-user-id": "42"}) {
		t.Errorf("JWT session user_vars %v", got)
	}
	if got := path(jwtLine, "detail", "operation", "request_mode"); got != "batched" {
		t.Errorf("batched request logged as %v", got)
	}

	refused := httpLogLine(t, out, "log-refused")
	if refused["level"] != "ERROR" || path(refused, "detail", "http_info", "status") != float64(401) ||
		path(refused, "detail", "operation", "request_mode") != "error" ||
		!equalJSON(path(refused, "detail", "operation", "error"), map[string]any{"path": "$", "code": "access-denied", "error": "invalid x-hasura-admin-secret/x-hasura-access-key"}) {
		t.Errorf("refused request logged as %v", refused)
	}
	if path(refused, "detail", "operation", "user_vars") != nil {
		t.Errorf("a refused request has no session: %v", refused)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
