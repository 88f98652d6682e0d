package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/strata-dev/strata/engine/auth"
	"github.com/strata-dev/strata/engine/config"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testServer is a Server without databases, for what the middleware does
// around handlers the test mounts itself.
func testServer(t *testing.T, configure func(*config.Config), mount func(s *Server)) (*httptest.Server, *lockedBuffer) {
	t.Helper()
	cfg := config.Default()
	if configure != nil {
		configure(cfg)
	}
	resolver, err := auth.NewResolver(auth.Options{AdminSecrets: cfg.AdminSecrets})
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	s := New(Deps{Config: cfg, Log: slog.New(slog.NewJSONHandler(logs, nil)), Auth: resolver})
	if mount != nil {
		mount(s)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, logs
}

// A handler that knows the GraphQL operation tells the log through the
// request context.
func TestAnnotateNamesTheOperationInTheLog(t *testing.T) {
	ts, logs := testServer(t, nil, func(s *Server) {
		s.mux.Handle("/annotated", labelled(config.APIGraphQL, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := s.resolve(r.Context(), r.Header); err != nil {
				t.Error(err)
			}
			_, _ = io.ReadAll(r.Body)
			Annotate(r.Context(), "", "GetUsers")
			w.WriteHeader(http.StatusOK)
		})))
	})
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/annotated", strings.NewReader(`{"query":"query GetUsers { users { id } }"}`))
	req.Header.Set("X-Hasura-Role", "editor")
	req.Header.Set("X-Hasura-User-Id", "7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	var line struct {
		Detail struct {
			Operation struct {
				UserVars    map[string]string `json:"user_vars"`
				Query       map[string]string `json:"query"`
				RequestMode string            `json:"request_mode"`
			} `json:"operation"`
		} `json:"detail"`
	}
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `"http-log"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	op := line.Detail.Operation
	if op.Query["operationName"] != "GetUsers" || op.UserVars["x-hasura-role"] != "editor" || op.UserVars["x-hasura-user-id"] != "7" || op.RequestMode != "single" {
		t.Errorf("logged operation %+v in %s", op, logs.String())
	}
}

// With CORS disabled a websocket handshake from a page loses its Cookie
// header, unless HASURA_GRAPHQL_WS_READ_COOKIE is set; with CORS on it
// keeps it.
func TestWebsocketCookieWithCORSDisabled(t *testing.T) {
	for _, tc := range []struct {
		name       string
		configure  func(*config.Config)
		origin     string
		wantCookie bool
	}{
		{"disabled", func(c *config.Config) { c.DisableCORS = true }, "https://page.example", false},
		{"disabled, no origin", func(c *config.Config) { c.DisableCORS = true }, "", true},
		{"disabled, read cookie", func(c *config.Config) { c.DisableCORS, c.WSReadCookie = true, true }, "https://page.example", true},
		{"allow all", nil, "https://page.example", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			ts, _ := testServer(t, tc.configure, func(s *Server) {
				s.mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) { got = r.Header.Get("Cookie") })
			})
			req, _ := http.NewRequest(http.MethodGet, ts.URL+"/ws", nil)
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Cookie", "session=abc")
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if (got != "") != tc.wantCookie {
				t.Errorf("handler saw Cookie %q, want it kept: %v", got, tc.wantCookie)
			}
		})
	}
}

func TestCORSDomainMatching(t *testing.T) {
	c := config.Default()
	c.CORSDomain = "https://*.foo.com, http://localhost:3000, http://127.0.0.1:*, https://*.bar.com:*, app+x://host, https://x.com:0443"
	p, err := c.CORS()
	if err != nil {
		t.Fatal(err)
	}
	for origin, want := range map[string]bool{
		"https://a.foo.com":        true,
		"https://-.foo.com":        true,
		"https://foo.com":          false,
		"https://a.b.foo.com":      false,
		"https://a.foo.com:443":    false,
		"http://a.foo.com":         false,
		"https://a.foo.com.evil":   false,
		"https://evilfoo.com":      false,
		"http://localhost:3000":    true,
		"http://localhost:30000":   false,
		"http://localhost:300":     false,
		"http://localhost":         false,
		"http://127.0.0.1":         true,
		"http://127.0.0.1:1":       true,
		"http://127.0.0.1:65535":   true,
		"http://127.0.0.1.evil":    false,
		"http://127.0.0.10:80":     false,
		"https://q.bar.com":        true,
		"https://q.bar.com:8443":   true,
		"https://bar.com":          false,
		"app+x://host":             true,
		"https://x.com:443":        true, // Hasura reads the port as a number
		"https://x.com:0443":       false,
		"":                         false,
		"null":                     false,
		"https://":                 false,
		"localhost:3000":           false,
		"http://localhost:3000/":   false,
		"HTTPS://a.foo.com":        false,
		"http://localhost:3000 ":   false,
		"http://localhost:3000abc": false,
	} {
		if got := p.Allows(origin); got != want {
			t.Errorf("Allows(%q) = %v, want %v", origin, got, want)
		}
	}
	if all, _ := config.Default().CORS(); !all.Allows("https://whatever.example") {
		t.Error(`"*" allows every origin`)
	}
	c.DisableCORS = true
	if p, _ := c.CORS(); p.Allows("http://localhost:3000") {
		t.Error("disabled CORS allows no origin")
	}
}
