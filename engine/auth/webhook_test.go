package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-dev/strata/test/testlog"
)

// hookServer is a local auth webhook that records what it receives and
// answers what the test set.
type hookServer struct {
	*httptest.Server
	hits atomic.Int64

	mu       sync.Mutex
	method   string
	headers  http.Header
	body     []byte
	status   int
	answer   string
	respHdrs http.Header
}

func newHookServer(t testing.TB) *hookServer {
	t.Helper()
	s := &hookServer{status: http.StatusOK, answer: `{"X-Hasura-Role":"user","X-Hasura-User-Id":"1"}`, respHdrs: http.Header{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.method, s.headers, s.body = r.Method, r.Header.Clone(), body
		status, answer := s.status, s.answer
		for k, v := range s.respHdrs {
			w.Header()[k] = v
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *hookServer) respond(status int, answer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.answer = status, answer
}

func (s *hookServer) received() (string, http.Header, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.method, s.headers, s.body
}

func hookResolver(t testing.TB, clk *clock, url, mode string, log *slog.Logger) *Resolver {
	t.Helper()
	r, err := NewResolver(Options{AdminSecrets: []string{adminSecret}, Hook: url, HookMode: mode, Now: clk.Now, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// clientHeaders is what a browser might send.
func clientHeaders() http.Header {
	return hdr(
		"Authorization", "Bearer opaque-session-token",
		"Cookie", "sid=abc",
		"X-Hasura-Role", "editor",
		"X-Custom", "v1",
		"User-Agent", "Mozilla/5.0",
		"Origin", "https://app.example",
		"Accept-Encoding", "br",
		"Accept-Language", "fr",
		"Content-Type", "application/json",
		"Connection", "keep-alive",
		"Proxy-Authorization", "Basic cHJveHk=",
	)
}

func TestWebhookGET(t *testing.T) {
	hook := newHookServer(t)
	r := hookResolver(t, newClock(), hook.URL, "GET", nil)
	s, err := resolve(t, r, clientHeaders())
	if err != nil {
		t.Fatal(err)
	}
	if s.Role != "user" || !equalVars(s.Vars, map[string]string{"x-hasura-role": "user", "x-hasura-user-id": "1"}) || !s.Expires.IsZero() {
		t.Fatalf("session %+v", s)
	}
	method, got, body := hook.received()
	if method != http.MethodGet || len(body) != 0 {
		t.Fatalf("hook got %s with body %q", method, body)
	}
	for k, want := range map[string]string{
		"Authorization": "Bearer opaque-session-token", "Cookie": "sid=abc", "X-Hasura-Role": "editor", "X-Custom": "v1",
		"Content-Type": "application/json", "User-Agent": userAgent(),
	} {
		if got.Get(k) != want {
			t.Errorf("hook header %s = %q, want %q", k, got.Get(k), want)
		}
	}
	// (Accept-Encoding is not listed: Go's transport sets its own.)
	for _, k := range []string{"Origin", "Proxy-Authorization", "Accept-Language"} {
		if got.Get(k) != "" {
			t.Errorf("hook header %s forwarded: %q", k, got.Get(k))
		}
	}
}

func TestWebhookPOST(t *testing.T) {
	hook := newHookServer(t)
	r := hookResolver(t, newClock(), hook.URL, "post", nil)
	if _, err := resolve(t, r, clientHeaders()); err != nil {
		t.Fatal(err)
	}
	method, got, body := hook.received()
	if method != http.MethodPost || got.Get("Content-Type") != "application/json" {
		t.Fatalf("hook got %s %q", method, got.Get("Content-Type"))
	}
	var payload struct {
		Headers map[string]string `json:"headers"`
		Request *json.RawMessage  `json:"request"`
	}
	if err := json.Unmarshal(body, &payload); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if payload.Headers["Authorization"] != "Bearer opaque-session-token" || payload.Headers["X-Hasura-Role"] != "editor" || payload.Headers["Origin"] != "https://app.example" {
		t.Errorf("headers sent %v", payload.Headers)
	}
	// Not a GraphQL request (a metadata call, say): null, as Hasura sends.
	if !strings.Contains(string(body), `"request":null`) {
		t.Errorf("request member: %s", body)
	}
}

// TestWebhookPOSTRequest: a POST hook is sent the GraphQL request it
// authorizes as Hasura encodes it (GQLReq: operationName, query,
// variables, nothing else, null members left out; a batch as a list),
// null for a body that is not a GraphQL request, and nothing at all when
// HASURA_GRAPHQL_AUTH_HOOK_SEND_REQUEST_BODY is false.
func TestWebhookPOSTRequest(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"single", `{"query":"query Q($id: Int) { a(id: $id) { b } }", "variables": { "id": 1 }, "operationName": "Q", "extensions": {"x": 1}}`,
			`{"operationName":"Q","query":"query Q($id: Int) { a(id: $id) { b } }","variables":{"id":1}}`},
		{"null members", `{"query":"{ a }","variables":null,"operationName":null}`, `{"query":"{ a }"}`},
		{"no HTML escaping", `{"query":"{ a(where: {b: {_like: \"<&>\"}}) }"}`, `{"query":"{ a(where: {b: {_like: \"<&>\"}}) }"}`},
		{"batch", `[{"query":"{ a }"},{"query":"{ b }","variables":{}}]`, `[{"query":"{ a }"},{"query":"{ b }","variables":{}}]`},
		{"no query", `{"variables":{}}`, `null`},
		{"variables not an object", `{"query":"{ a }","variables":[1]}`, `null`},
		{"not JSON", `{"query":`, `null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hook := newHookServer(t)
			r := hookResolver(t, newClock(), hook.URL, "POST", nil)
			ctx := WithGraphQLRequest(context.Background(), []byte(tc.body))
			if _, err := r.Resolve(ctx, clientHeaders()); err != nil {
				t.Fatal(err)
			}
			_, _, body := hook.received()
			var payload struct{ Request json.RawMessage }
			if err := json.Unmarshal(body, &payload); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if string(payload.Request) != tc.want {
				t.Errorf("request sent\n got %s\nwant %s", payload.Request, tc.want)
			}
		})
	}

	t.Run("not sent", func(t *testing.T) {
		hook := newHookServer(t)
		r, err := NewResolver(Options{AdminSecrets: []string{adminSecret}, Hook: hook.URL, HookMode: "POST", HookOmitRequest: true, Now: newClock().Now})
		if err != nil {
			t.Fatal(err)
		}
		ctx := WithGraphQLRequest(context.Background(), []byte(`{"query":"{ a }"}`))
		if _, err := r.Resolve(ctx, clientHeaders()); err != nil {
			t.Fatal(err)
		}
		if _, _, body := hook.received(); strings.Contains(string(body), `"request"`) {
			t.Errorf("the request was sent: %s", body)
		}
	})
}

// TestWebhookCacheKeyedByRequest: a POST hook that is sent the request
// may answer differently per operation, so a cached answer is reused
// only for the same credentials and the same request.
func TestWebhookCacheKeyedByRequest(t *testing.T) {
	hook := newHookServer(t)
	hook.respond(200, `{"X-Hasura-Role":"user","Cache-Control":"max-age=60"}`)
	r := hookResolver(t, newClock(), hook.URL, "POST", nil)
	for _, q := range []string{`{"query":"{ a }"}`, `{"query":"{ a }"}`, `{"query":"{ b }"}`} {
		if _, err := r.Resolve(WithGraphQLRequest(context.Background(), []byte(q)), clientHeaders()); err != nil {
			t.Fatal(err)
		}
	}
	if n := hook.hits.Load(); n != 2 {
		t.Errorf("the hook was called %d times for two distinct requests, want 2", n)
	}
}

// TestWebhookSetCookie: the hook's Set-Cookie headers come back with the
// session, from a cached answer too, for the server to pass on.
func TestWebhookSetCookie(t *testing.T) {
	hook := newHookServer(t)
	hook.respond(200, `{"X-Hasura-Role":"user","Cache-Control":"max-age=60"}`)
	hook.mu.Lock()
	hook.respHdrs["Set-Cookie"] = []string{"sid=new; HttpOnly", "theme=dark"}
	hook.mu.Unlock()
	r := hookResolver(t, newClock(), hook.URL, "GET", nil)
	for range 2 {
		s, err := resolve(t, r, clientHeaders())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.SetCookie, []string{"sid=new; HttpOnly", "theme=dark"}) {
			t.Errorf("Set-Cookie %q", s.SetCookie)
		}
	}
	if n := hook.hits.Load(); n != 1 {
		t.Errorf("%d hook calls, want 1 (the second from the cache)", n)
	}
}

func TestWebhookAnswers(t *testing.T) {
	for _, tc := range []struct {
		name          string
		status        int
		answer        string
		wantStatus    int
		code, message string
	}{
		{"401", 401, `{}`, 401, "access-denied", "Authentication hook unauthorized this request"},
		{"403", 403, `{}`, 500, "unexpected", "Invalid response from authorization hook"},
		{"500", 500, `oops`, 500, "unexpected", "Invalid response from authorization hook"},
		{"not JSON", 200, `<html>`, 500, "unexpected", "Invalid response from authorization hook: Error in $: Failed reading: not a valid json value"},
		{"a list", 200, `["x-hasura-role"]`, 500, "unexpected", "Invalid response from authorization hook: Error in $: parsing HashMap ~Text failed, expected Object, but encountered Array"},
		{"a number value", 200, `{"x-hasura-role":"user","x-hasura-user-id":1}`, 500, "unexpected", `Invalid response from authorization hook: Error in $["x-hasura-user-id"]: parsing Text failed, expected String, but encountered Number`},
		{"no role", 200, `{"x-hasura-user-id":"1"}`, 400, "invalid-params", "x-hasura-role not found in session variables"},
		{"empty role", 200, `{"x-hasura-role":""}`, 400, "invalid-params", "x-hasura-role not found in session variables"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hook := newHookServer(t)
			hook.respond(tc.status, tc.answer)
			r := hookResolver(t, newClock(), hook.URL, "GET", nil)
			s, err := resolve(t, r, clientHeaders())
			wantErr(t, s, err, tc.wantStatus, tc.code, tc.message)
			if strings.Contains(errorBody(err), "opaque-session-token") {
				t.Fatal("the error quotes the client's token")
			}
		})
	}

	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close()
	s, err := resolve(t, hookResolver(t, newClock(), url, "GET", nil), clientHeaders())
	wantErr(t, s, err, 500, "unexpected", "webhook authentication request failed")
}

func TestWebhookCache(t *testing.T) {
	hook := newHookServer(t)
	hook.respond(200, `{"X-Hasura-Role":"user","x-hasura-user-id":"1","Cache-Control":"max-age=60"}`)
	clk := newClock()
	var logs testlog.Buffer
	r := hookResolver(t, clk, hook.URL, "GET", slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))

	s, err := resolve(t, r, clientHeaders())
	if err != nil || !s.Expires.Equal(t0.Add(time.Minute)) {
		t.Fatalf("%+v %v", s, err)
	}
	s.Vars["x-hasura-user-id"] = "changed by a caller"
	s, err = resolve(t, r, clientHeaders())
	if err != nil || s.Vars["x-hasura-user-id"] != "1" || !s.Expires.Equal(t0.Add(time.Minute)) {
		t.Fatalf("cached session %+v %v", s, err)
	}
	if n := hook.hits.Load(); n != 1 {
		t.Fatalf("%d hook calls within max-age, want 1", n)
	}
	// Another credential is another entry.
	other := clientHeaders()
	other.Set("Authorization", "Bearer someone-else")
	if _, err := resolve(t, r, other); err != nil {
		t.Fatal(err)
	}
	if n := hook.hits.Load(); n != 2 {
		t.Fatalf("%d hook calls, want 2", n)
	}
	// Ignored headers are not part of the key.
	same := clientHeaders()
	same.Set("User-Agent", "curl")
	if _, err := resolve(t, r, same); err != nil || hook.hits.Load() != 2 {
		t.Fatalf("ignored header changed the key: %v, %d calls", err, hook.hits.Load())
	}
	clk.Advance(61 * time.Second)
	if _, err := resolve(t, r, clientHeaders()); err != nil || hook.hits.Load() != 3 {
		t.Fatalf("expired entry reused: %v, %d calls", err, hook.hits.Load())
	}
	if strings.Contains(logs.String(), "opaque-session-token") {
		t.Fatal("a token reached the log")
	}
}

func TestWebhookCacheLifetimes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		answer     string
		respHeader map[string]string
		cached     bool
		expires    time.Time
	}{
		{"no cache hints", `{"x-hasura-role":"user"}`, nil, false, time.Time{}},
		{"Expires in the body", `{"x-hasura-role":"user","Expires":"` + t0.Add(time.Hour).Format(http.TimeFormat) + `"}`, nil, true, t0.Add(time.Hour)},
		{"Expires in the past", `{"x-hasura-role":"user","Expires":"` + t0.Add(-time.Hour).Format(http.TimeFormat) + `"}`, nil, false, t0.Add(-time.Hour)},
		{"body key is case-sensitive, as in Hasura", `{"x-hasura-role":"user","cache-control":"max-age=60"}`, nil, false, time.Time{}},
		{"response Cache-Control header", `{"x-hasura-role":"user"}`, map[string]string{"Cache-Control": "private, max-age=30"}, true, time.Time{}},
		{"response no-store", `{"x-hasura-role":"user"}`, map[string]string{"Cache-Control": "no-store"}, false, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hook := newHookServer(t)
			hook.respond(200, tc.answer)
			hook.mu.Lock()
			for k, v := range tc.respHeader {
				hook.respHdrs.Set(k, v)
			}
			hook.mu.Unlock()
			r := hookResolver(t, newClock(), hook.URL, "POST", nil)
			for range 2 {
				s, err := resolve(t, r, clientHeaders())
				if err != nil || !s.Expires.Equal(tc.expires) {
					t.Fatalf("%+v %v, want expires %v", s, err, tc.expires)
				}
			}
			want := int64(2)
			if tc.cached {
				want = 1
			}
			if n := hook.hits.Load(); n != want {
				t.Fatalf("%d hook calls, want %d", n, want)
			}
		})
	}
}

func TestWebhookAdminSecretBypass(t *testing.T) {
	hook := newHookServer(t)
	r := hookResolver(t, newClock(), hook.URL, "GET", nil)
	s, err := resolve(t, r, withHeader(clientHeaders(), "X-Hasura-Admin-Secret", adminSecret))
	if err != nil || s.Role != "editor" {
		t.Fatalf("admin acting as editor: %+v %v", s, err)
	}
	s, err = resolve(t, r, hdr("X-Hasura-Access-Key", adminSecret))
	if err != nil || !s.IsAdmin() {
		t.Fatalf("admin: %+v %v", s, err)
	}
	s, err = resolve(t, r, hdr("X-Hasura-Admin-Secret", "wrong"))
	wantErr(t, s, err, 401, "access-denied", msgInvalidSecret)
	if strings.Contains(errorBody(err), "wrong") {
		t.Fatal("the error quotes the secret sent")
	}
	if n := hook.hits.Load(); n != 0 {
		t.Fatalf("the hook was called %d times", n)
	}
}

// The hook is called with the request's context: a cancelled request does
// not wait for it.
func TestWebhookContext(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	r := hookResolver(t, newClock(), slow.URL, "GET", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, err := r.Resolve(ctx, clientHeaders())
	wantErr(t, s, err, 500, "unexpected", "webhook authentication request failed")
}

func TestWebhookCacheBound(t *testing.T) {
	clk := newClock()
	w, err := newWebhook("http://hook.invalid", "GET", true, http.DefaultClient, slog.New(slog.DiscardHandler), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range hookCacheMax + 500 {
		key := sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
		w.store(key, hookEntry{role: "user", cacheEnd: t0.Add(time.Minute)})
	}
	if n := len(w.cache); n > hookCacheMax {
		t.Fatalf("%d entries, bound %d", n, hookCacheMax)
	}
	// Expired entries go first.
	clk.Advance(2 * time.Minute)
	w.store(sha256.Sum256([]byte("fresh")), hookEntry{role: "user", cacheEnd: clk.Now().Add(time.Minute)})
	if n := len(w.cache); n != 1 {
		t.Fatalf("%d entries after expiry, want 1", n)
	}
}
