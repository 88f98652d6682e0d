package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/test/enginetest"
)

var corsHeaders = []string{
	"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
	"Access-Control-Allow-Credentials", "Access-Control-Max-Age", "Access-Control-Expose-Headers",
}

func preflight(t *testing.T, url, origin string) (int, http.Header, string) {
	t.Helper()
	return do(t, http.MethodOptions, url+"/v1/graphql", http.Header{
		"Origin":                         {origin},
		"Access-Control-Request-Method":  {"POST"},
		"Access-Control-Request-Headers": {"content-type,x-hasura-admin-secret"},
	}, "")
}

func wantPreflight(t *testing.T, url, origin string) {
	t.Helper()
	status, h, body := preflight(t, url, origin)
	if status != http.StatusNoContent || body != "" {
		t.Errorf("preflight from %s: %d %q, want 204 and no body", origin, status, body)
	}
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":      origin,
		"Access-Control-Allow-Methods":     "GET,POST,PUT,PATCH,DELETE,OPTIONS",
		"Access-Control-Allow-Headers":     "content-type,x-hasura-admin-secret",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Max-Age":           "1728000",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("preflight from %s: %s = %q, want %q", origin, k, got, want)
		}
	}
}

func wantNoCORS(t *testing.T, url, origin string) {
	t.Helper()
	status, h, _ := preflight(t, url, origin)
	if status == http.StatusNoContent {
		t.Errorf("preflight from %s answered 204, want it refused", origin)
	}
	_, h2, _ := do(t, http.MethodGet, url+"/v1/version", http.Header{"Origin": {origin}}, "")
	for _, k := range corsHeaders {
		if h.Get(k) != "" || h2.Get(k) != "" {
			t.Errorf("origin %s: %s = %q / %q, want no CORS header", origin, k, h.Get(k), h2.Get(k))
		}
	}
}

func TestCORSAllowsEveryOriginByDefault(t *testing.T) {
	e := enginetest.Start(t, nil)
	wantPreflight(t, e.URL, "https://anything.example")

	// A plain request gets the headers too, the origin echoed (never *).
	status, h, _ := do(t, http.MethodGet, e.URL+"/v1/version", http.Header{"Origin": {"http://localhost:3000"}}, "")
	if status != 200 || h.Get("Access-Control-Allow-Origin") != "http://localhost:3000" || h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("GET with Origin: %d %v", status, h)
	}
	// Without an Origin there is nothing to answer.
	_, h, _ = do(t, http.MethodGet, e.URL+"/v1/version", nil, "")
	if h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("no Origin, yet Access-Control-Allow-Origin %q", h.Get("Access-Control-Allow-Origin"))
	}
}

func TestCORSDomainList(t *testing.T) {
	e := enginetest.Start(t, func(c *config.Config) {
		c.CORSDomain = "https://*.foo.com, http://localhost:3000,http://127.0.0.1:*, https://*.bar.com:8443"
	})
	for _, origin := range []string{
		"https://app.foo.com",
		"http://localhost:3000",
		"http://127.0.0.1:5173",
		"http://127.0.0.1",
		"https://x.bar.com:8443",
	} {
		wantPreflight(t, e.URL, origin)
	}
	for _, origin := range []string{
		"https://foo.com",         // the wildcard does not cover the domain itself
		"https://a.b.foo.com",     // nor deeper subdomains (as in Hasura)
		"http://app.foo.com",      // another scheme
		"https://app.foo.com:444", // a port the entry does not name
		"http://localhost:3001",
		"http://localhost",
		"https://evil.example",
		"https://x.bar.com",
		"null",
	} {
		wantNoCORS(t, e.URL, origin)
	}
	// A refused preflight reaches the routes, which serve no OPTIONS.
	if status, _, _ := preflight(t, e.URL, "https://evil.example"); status != http.StatusNotFound {
		t.Errorf("refused preflight: %d, want 404", status)
	}
}

func TestCORSDisabledSendsNoHeaders(t *testing.T) {
	e := enginetest.Start(t, func(c *config.Config) { c.DisableCORS = true })
	wantNoCORS(t, e.URL, "https://anything.example")
}

// Hasura checks a websocket handshake's Origin against the domain list
// itself, refusing others with a GraphQL error.
func TestCORSRefusesWebsocketsFromOtherOrigins(t *testing.T) {
	e := enginetest.Start(t, func(c *config.Config) { c.CORSDomain = "https://*.foo.com" })
	hs := func(origin string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, e.URL+"/v1/graphql", nil)
		req.Header = http.Header{
			"Origin":                 {origin},
			"Connection":             {"Upgrade"},
			"Upgrade":                {"websocket"},
			"Sec-Websocket-Version":  {"13"},
			"Sec-Websocket-Key":      {"dGhlIHNhbXBsZSBub25jZQ=="},
			"Sec-Websocket-Protocol": {"graphql-transport-ws"},
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return resp.StatusCode, "" // the body is the websocket
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := hs("https://evil.example")
	want := `{"message":"received origin header does not match configured CORS domains","extensions":{"path":"$","code":"access-denied"}}`
	if status != http.StatusBadRequest || strings.TrimSpace(body) != want {
		t.Errorf("websocket from a refused origin: %d %s, want 400 %s", status, body, want)
	}
	if status, body := hs("https://app.foo.com"); status != http.StatusSwitchingProtocols {
		t.Errorf("websocket from an allowed origin: %d %s, want 101", status, body)
	}
}

func TestCORSSettingsAreValidatedAtStart(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"HASURA_GRAPHQL_CORS_DOMAIN": "foo.com"}, `invalid HASURA_GRAPHQL_CORS_DOMAIN: invalid domain "foo.com"`},
		{map[string]string{"HASURA_GRAPHQL_CORS_DOMAIN": "https://a.com, *.b.com"}, `invalid domain "*.b.com"`},
		{map[string]string{"HASURA_GRAPHQL_CORS_DOMAIN": "https://a.com,"}, `invalid domain ""`},
		{map[string]string{"HASURA_GRAPHQL_WS_READ_COOKIE": "true"}, "HASURA_GRAPHQL_WS_READ_COOKIE"},
		{map[string]string{"HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE": "-1"}, "invalid HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE -1"},
		{map[string]string{"HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL": "-5"}, "invalid HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL -5"},
		{map[string]string{"HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL": "1s"}, `invalid value "1s" for HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL`},
		{map[string]string{"HASURA_GRAPHQL_EXPERIMENTAL_FEATURES": "inherited_roles,time_travel"}, `invalid HASURA_GRAPHQL_EXPERIMENTAL_FEATURES: unknown feature "time_travel"`},
	} {
		_, err := config.FromEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: got %v, want one line containing %q", tc.env, err, tc.want)
		}
	}

	// Good values, and a bad domain list is not read when CORS is off (as
	// in Hasura).
	c, err := config.FromEnv(func(k string) (string, bool) {
		v, ok := map[string]string{
			"HASURA_GRAPHQL_CORS_DOMAIN":                               "not a domain",
			"HASURA_GRAPHQL_DISABLE_CORS":                              "true",
			"HASURA_GRAPHQL_WS_READ_COOKIE":                            "true",
			"HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL": "250",
			"HASURA_GRAPHQL_EXPERIMENTAL_FEATURES":                     "naming_convention, Inherited_Roles,naming_convention",
		}[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.LiveQueriesRefetchInterval.Milliseconds() != 250 || c.StreamingQueriesRefetchInterval.Milliseconds() != 1000 || c.LiveQueriesBatchSize != 100 {
		t.Errorf("subscription settings: %+v", c)
	}
	if got := strings.Join(c.ExperimentalFeatures, ","); got != "inherited_roles,naming_convention" {
		t.Errorf("experimental features %q", got)
	}
}
