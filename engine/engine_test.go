package engine_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/engine/version"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func get(t *testing.T, method, url string, header http.Header) (int, http.Header, string) {
	t.Helper()
	return enginetest.Do(t, method, url, header, "")
}

func TestHealthAndVersion(t *testing.T) {
	e := enginetest.Start(t, nil)

	for _, path := range []string{"/healthz", "/hasura/healthz"} {
		if status, _, body := get(t, http.MethodGet, e.URL+path, nil); status != 200 || body != "OK" {
			t.Errorf("GET %s = %d %q, want 200 OK", path, status, body)
		}
	}

	status, h, body := get(t, http.MethodGet, e.URL+"/v1/version", nil)
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /v1/version = %d %s", status, h.Get("Content-Type"))
	}
	var v map[string]string
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	// Clients decide what the server can do from "version": it is the
	// Hasura release Strata follows, Strata's own is beside it.
	if v["version"] != version.Hasura || v["server_type"] != "ce" || v["strata_version"] != version.Version {
		t.Errorf("version body %s", body)
	}
}

func TestUnknownRoutesAnswerInHasurasShape(t *testing.T) {
	e := enginetest.Start(t, nil)
	want := `{"path":"$","error":"resource does not exist","code":"not-found"}`
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/v1/nothing"},
		{http.MethodPost, "/healthz"}, // known path, wrong method: Hasura says 404 too
		{http.MethodDelete, "/v1/version"},
	} {
		status, _, body := get(t, tc.method, e.URL+tc.path, nil)
		if status != 404 || strings.TrimSpace(body) != want {
			t.Errorf("%s %s = %d %s, want 404 %s", tc.method, tc.path, status, body, want)
		}
	}
}

func TestRequestIDIsEchoedOrMinted(t *testing.T) {
	e := enginetest.Start(t, nil)
	_, h, _ := get(t, http.MethodGet, e.URL+"/healthz", http.Header{"X-Request-Id": {"abc-123"}})
	if got := h.Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("x-request-id %q, want the client's abc-123", got)
	}
	_, h, _ = get(t, http.MethodGet, e.URL+"/healthz", nil)
	if len(h.Get("X-Request-Id")) < 16 {
		t.Errorf("x-request-id %q: want a minted id", h.Get("X-Request-Id"))
	}
}

// healthz must reflect the database, not just the process: with its
// database gone the engine answers 500 ERROR so it is taken out of rotation.
func TestHealthzFailsWhenTheDatabaseIsGone(t *testing.T) {
	e := enginetest.Start(t, nil)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	name := conn.Config().Database
	conn.Close(ctx)
	if err := pgtest.Server(t).DropDatabase(ctx, name); err != nil {
		t.Fatal(err)
	}
	if status, _, body := get(t, http.MethodGet, e.URL+"/healthz", nil); status != 500 || body != "ERROR" {
		t.Errorf("GET /healthz without a database = %d %q, want 500 ERROR", status, body)
	}
}

// Metadata that does not fit the database is a warning on /healthz, and a
// failure when asked strictly.
func TestHealthzWarnsAboutInconsistentMetadata(t *testing.T) {
	e := enginetest.Start(t, nil)
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/v1/metadata", strings.NewReader(
		`{"type":"replace_metadata","version":2,"args":{"allow_inconsistent_metadata":true,"metadata":{"version":3,"sources":[{"name":"default","kind":"postgres","tables":[{"table":"missing"}],"configuration":{"connection_info":{"database_url":{"from_env":"HASURA_GRAPHQL_DATABASE_URL"}}}}]}}}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("replace_metadata: %d", resp.StatusCode)
	}
	if status, _, body := get(t, http.MethodGet, e.URL+"/healthz", nil); status != 200 || body != "WARN: inconsistent objects in schema" {
		t.Errorf("GET /healthz = %d %q", status, body)
	}
	if status, _, _ := get(t, http.MethodGet, e.URL+"/healthz?strict=true", nil); status != 500 {
		t.Errorf("GET /healthz?strict=true = %d, want 500", status)
	}
}

// /pg/ is served by the engine for admins only, against the default
// database, and switched off with the pgmeta API group.
func TestPGMetaIsMountedForAdmins(t *testing.T) {
	e := enginetest.Start(t, func(c *config.Config) { c.AdminSecrets = []string{"s3"}; c.UnauthorizedRole = "anon" })
	admin := http.Header{"X-Hasura-Admin-Secret": {"s3"}}
	conn, err := pgx.Connect(context.Background(), e.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE TABLE pgmeta_probe (id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	status, _, body := get(t, http.MethodGet, e.URL+"/pg/tables?included_schemas=public", admin)
	if status != 200 || !strings.Contains(body, `"name":"pgmeta_probe"`) {
		t.Errorf("admin GET /pg/tables: %d %s", status, body)
	}
	for _, h := range []http.Header{nil, {"X-Hasura-Admin-Secret": {"wrong"}}, {"X-Hasura-Admin-Secret": {"s3"}, "X-Hasura-Role": {"user"}}} {
		status, _, body := get(t, http.MethodGet, e.URL+"/pg/tables", h)
		if status == 200 || !strings.Contains(body, `"code":"access-denied"`) || strings.Contains(body, "pgmeta_probe") {
			t.Errorf("GET /pg/tables with %v: %d %s", h, status, body)
		}
	}

	off := enginetest.Start(t, func(c *config.Config) { c.EnabledAPIs = []string{config.APIGraphQL, config.APIMetadata} })
	if status, _, body := get(t, http.MethodGet, off.URL+"/pg/tables", nil); status != 404 {
		t.Errorf("/pg/ with pgmeta disabled: %d %s", status, body)
	}
}
