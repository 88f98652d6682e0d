package auth

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/strata-dev/strata/test/testlog"
)

// jwksServer is a local JWK endpoint whose keys, headers and status the
// test changes, counting the fetches it serves.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int64

	mu     sync.Mutex
	body   []byte
	header http.Header
	status int
	delay  time.Duration
}

func newJWKSServer(t testing.TB, cacheControl string, ks ...jose.JSONWebKey) *jwksServer {
	t.Helper()
	s := &jwksServer{header: http.Header{}, status: http.StatusOK}
	if cacheControl != "" {
		s.header.Set("Cache-Control", cacheControl)
	}
	s.set(t, ks...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		body, status, delay := s.body, s.status, s.delay
		for k, v := range s.header {
			w.Header()[k] = v
		}
		s.mu.Unlock()
		time.Sleep(delay)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(t testing.TB, ks ...jose.JSONWebKey) {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: ks})
	if err != nil {
		t.Fatal(err)
	}
	s.setBody(b)
}

func (s *jwksServer) setBody(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = b
}

func (s *jwksServer) setStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = code
}

func jwk(pub any, kid, alg string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"}
}

func jwkResolver(t testing.TB, clk *clock, url string) *Resolver {
	t.Helper()
	r, err := NewResolver(Options{AdminSecrets: []string{adminSecret}, JWT: []string{jsonConfig(t, map[string]any{"jwk_url": url})}, Now: clk.Now, startupBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestJWKURLAlgorithms(t *testing.T) {
	k := keys(t)
	srv := newJWKSServer(t, "max-age=300",
		jwk(&k.rsa.PublicKey, "rsa", ""),
		jwk(&k.p256.PublicKey, "p256", "ES256"),
		jwk(&k.p521.PublicKey, "p521", ""),
		jwk(k.ed.Public(), "ed", "EdDSA"),
	)
	r := jwkResolver(t, newClock(), srv.URL)
	for _, tc := range []struct {
		alg, kid string
		key      any
	}{
		{"RS256", "rsa", k.rsa}, {"RS512", "rsa", k.rsa}, {"PS256", "rsa", k.rsa},
		{"ES256", "p256", k.p256}, {"ES512", "p521", k.p521}, {"EdDSA", "ed", k.ed},
		{"RS384", "", k.rsa}, // no kid: every key is tried
	} {
		hd := map[string]any{}
		if tc.kid != "" {
			hd["kid"] = tc.kid
		}
		s, err := resolve(t, r, bearer(token(t, tc.alg, tc.key, hd, claims(nil))))
		if err != nil || s.Role != "user" {
			t.Errorf("%s kid %q: %+v %v", tc.alg, tc.kid, s, err)
		}
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("%d fetches, want the start-up one only", n)
	}
}

// Keys rotate at the JWK server: after the cache period the old key's
// tokens fail and the new key's work.
func TestJWKRotation(t *testing.T) {
	k := keys(t)
	srv := newJWKSServer(t, "public, max-age=300", jwk(&k.rsa.PublicKey, "k1", "RS256"))
	clk := newClock()
	r := jwkResolver(t, clk, srv.URL)
	old := token(t, "RS256", k.rsa, map[string]any{"kid": "k1"}, claims(map[string]any{"exp": t0.Add(24 * time.Hour).Unix()}))
	fresh := token(t, "RS256", k.rsa2, map[string]any{"kid": "k2"}, claims(map[string]any{"exp": t0.Add(24 * time.Hour).Unix()}))

	if _, err := resolve(t, r, bearer(old)); err != nil {
		t.Fatal(err.Message)
	}
	srv.set(t, jwk(&k.rsa2.PublicKey, "k2", "RS256"))

	// Within max-age and the refetch floor the cached set still answers.
	clk.Advance(10 * time.Second)
	if _, err := resolve(t, r, bearer(old)); err != nil {
		t.Fatalf("cached key refused: %v", err.Message)
	}
	s, err := resolve(t, r, bearer(fresh))
	wantErr(t, s, err, 400, "invalid-jwt", "Could not verify JWT: JWSError NoUsableKeys")
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("%d fetches within the cache period", n)
	}

	clk.Advance(291 * time.Second) // max-age passed
	if s, err := resolve(t, r, bearer(fresh)); err != nil || s.Role != "user" {
		t.Fatalf("new key after refresh: %+v %v", s, err)
	}
	s, err = resolve(t, r, bearer(old))
	wantErr(t, s, err, 400, "invalid-jwt", "Could not verify JWT: JWSError NoUsableKeys")
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

// Without cache headers the set is kept until a token names a kid it does
// not have; then it is refetched, at most once per jwkMinRefresh.
func TestJWKUnknownKidRefetch(t *testing.T) {
	k := keys(t)
	srv := newJWKSServer(t, "", jwk(&k.rsa.PublicKey, "k1", ""))
	clk := newClock()
	r := jwkResolver(t, clk, srv.URL)
	fresh := token(t, "RS256", k.rsa2, map[string]any{"kid": "k2"}, claims(map[string]any{"exp": t0.Add(24 * time.Hour).Unix()}))
	srv.set(t, jwk(&k.rsa.PublicKey, "k1", ""), jwk(&k.rsa2.PublicKey, "k2", ""))

	clk.Advance(jwkMinRefresh + time.Second)
	if _, err := resolve(t, r, bearer(fresh)); err != nil {
		t.Fatalf("rotated key: %v", err.Message)
	}
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	// Made-up kids cannot make us fetch again before the floor has passed.
	for _, kid := range []string{"x1", "x2", "x3"} {
		s, err := resolve(t, r, bearer(token(t, "RS256", k.rsa, map[string]any{"kid": kid}, claims(nil))))
		wantErr(t, s, err, 400, "invalid-jwt", "Could not verify JWT: JWSError NoUsableKeys")
	}
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches after unknown kids, want 2", n)
	}
	// Long after, the known keys still answer without a fetch: no expiry.
	clk.Advance(24 * time.Hour)
	if _, err := resolve(t, r, bearer(token(t, "RS256", k.rsa, map[string]any{"kid": "k1"}, claims(map[string]any{"iat": nil, "exp": nil})))); err != nil {
		t.Fatal(err.Message)
	}
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

// 100 concurrent requests after the cache period share one fetch.
func TestJWKConcurrentRefreshFetchesOnce(t *testing.T) {
	k := keys(t)
	srv := newJWKSServer(t, "max-age=120", jwk(&k.p256.PublicKey, "k1", "ES256"))
	srv.mu.Lock()
	srv.delay = 20 * time.Millisecond // let the requests pile up on the refresh
	srv.mu.Unlock()
	clk := newClock()
	r := jwkResolver(t, clk, srv.URL)
	tok := token(t, "ES256", k.p256, map[string]any{"kid": "k1"}, claims(map[string]any{"exp": t0.Add(24 * time.Hour).Unix()}))

	burst := func() {
		var wg sync.WaitGroup
		start := make(chan struct{})
		var failed atomic.Int64
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := resolve(t, r, bearer(tok)); err != nil {
					failed.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		if n := failed.Load(); n != 0 {
			t.Fatalf("%d requests failed", n)
		}
	}
	burst()
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("%d fetches within the first period, want 1", n)
	}
	for period := int64(2); period <= 4; period++ {
		clk.Advance(121 * time.Second)
		burst()
		if n := srv.hits.Load(); n != period {
			t.Fatalf("%d fetches after %d periods, want %d", n, period-1, period)
		}
	}
}

// A failed refresh keeps the keys it had and does not retry at once.
func TestJWKRefreshFailureKeepsKeys(t *testing.T) {
	k := keys(t)
	srv := newJWKSServer(t, "max-age=60", jwk(k.ed.Public(), "k1", ""))
	clk := newClock()
	var logs testlog.Buffer
	r, err := NewResolver(Options{AdminSecrets: []string{adminSecret}, JWT: []string{jsonConfig(t, map[string]any{"jwk_url": srv.URL})},
		Now: clk.Now, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tok := token(t, "EdDSA", k.ed, map[string]any{"kid": "k1"}, claims(map[string]any{"exp": t0.Add(24 * time.Hour).Unix()}))

	srv.setStatus(http.StatusServiceUnavailable)
	clk.Advance(61 * time.Second)
	for range 3 {
		if _, err := resolve(t, r, bearer(tok)); err != nil {
			t.Fatalf("previous keys dropped: %v", err.Message)
		}
	}
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2 (start-up, one failed refresh)", n)
	}
	srv.setBody([]byte("not json"))
	srv.setStatus(http.StatusOK)
	clk.Advance(jwkMinRefresh)
	if _, err := resolve(t, r, bearer(tok)); err != nil {
		t.Fatalf("previous keys dropped after a bad body: %v", err.Message)
	}
	if n := srv.hits.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
	if !strings.Contains(logs.String(), "JWK refresh failed") {
		t.Errorf("refresh failure not logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), tok) {
		t.Error("a token reached the log")
	}
}

// Like Hasura, start-up fails when the JWK set cannot be fetched, after a
// few retries.
func TestJWKStartup(t *testing.T) {
	k := keys(t)
	srv := newJWKSServer(t, "", jwk(&k.rsa.PublicKey, "k1", ""))
	srv.setStatus(http.StatusInternalServerError)
	_, err := NewResolver(Options{AdminSecrets: []string{adminSecret}, JWT: []string{jsonConfig(t, map[string]any{"jwk_url": srv.URL})}, startupBackoff: time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "Non-2xx response on fetching JWK from") {
		t.Fatalf("got %v", err)
	}
	if n := srv.hits.Load(); n != 1+jwkStartupRetries {
		t.Fatalf("%d attempts, want %d", n, 1+jwkStartupRetries)
	}

	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close()
	if _, err := NewResolver(Options{AdminSecrets: []string{adminSecret}, JWT: []string{jsonConfig(t, map[string]any{"jwk_url": url})}, startupBackoff: time.Millisecond}); err == nil || !strings.Contains(err.Error(), "Error fetching JWK") {
		t.Fatalf("unreachable server: %v", err)
	}

	// A server that recovers within the retries is fine.
	srv.hits.Store(0)
	go func() {
		for srv.hits.Load() < 2 {
			time.Sleep(time.Millisecond)
		}
		srv.setStatus(http.StatusOK)
	}()
	if _, err := NewResolver(Options{AdminSecrets: []string{adminSecret}, JWT: []string{jsonConfig(t, map[string]any{"jwk_url": srv.URL})}, startupBackoff: 5 * time.Millisecond}); err != nil {
		t.Fatalf("recovering server: %v", err)
	}
}

func TestParseJWKSet(t *testing.T) {
	k := keys(t)
	good, _ := json.Marshal(jwk(&k.rsa.PublicKey, "good", "RS256"))
	// Cognito-style: n in padded standard base64 with a leading zero byte.
	var cognito map[string]any
	_ = json.Unmarshal(good, &cognito)
	nb := append([]byte{0}, k.rsa.PublicKey.N.Bytes()...)
	cognito["n"] = strings.NewReplacer("-", "+", "_", "/").Replace(b64(nb)) + "=="
	cognito["kid"] = "cognito"
	cog, _ := json.Marshal(cognito)
	body := `{"keys":[` + string(good) + `,` + string(cog) + `,
		{"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
		{"kty":"XYZ","kid":"unknown"},
		{"kty":"oct","kid":"shared","k":"` + b64([]byte(k.hmac)) + `"},
		{"kty":"EC","kid":"bad-alg","alg":"RS256","crv":"P-256","x":"` + b64(k.p256.PublicKey.X.FillBytes(make([]byte, 32))) + `","y":"` + b64(k.p256.PublicKey.Y.FillBytes(make([]byte, 32))) + `"},
		"not an object"]}`
	got, err := parseJWKSet([]byte(body), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, g := range got {
		kids = append(kids, g.kid)
	}
	if strings.Join(kids, ",") != "good,cognito" {
		t.Fatalf("kept %v, want good and cognito", kids)
	}
	if _, err := parseJWKSet([]byte(`[1,2]`), slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a list is not a JWK set")
	}
}

func TestHTTPExpiry(t *testing.T) {
	for _, tc := range []struct {
		cc, expires string
		want        time.Duration
		known       bool
	}{
		{"max-age=60", "", 60 * time.Second, true},
		{"public, s-maxage=30, max-age=60", "", 30 * time.Second, true},
		{`private, max-age="45"`, "", 45 * time.Second, true},
		{"Max-Age=10", "", 10 * time.Second, true},
		{"no-cache", "", 0, true},
		{"no-store, max-age=60", "", 0, true},
		{"must-revalidate, max-age=20", "", 20 * time.Second, true},
		{"must-revalidate", "", 0, true},
		{"public", t0.Add(time.Hour).Format(http.TimeFormat), time.Hour, true},
		{"", t0.Add(2 * time.Hour).Format(http.TimeFormat), 2 * time.Hour, true},
		{"", "yesterday", 0, false},
		{"public", "", 0, false},
		{"max-age=abc", "", 0, false},
	} {
		h := http.Header{}
		if tc.cc != "" {
			h.Set("Cache-Control", tc.cc)
		}
		if tc.expires != "" {
			h.Set("Expires", tc.expires)
		}
		got, known := httpExpiry(h, t0)
		if known != tc.known || (known && !got.Equal(t0.Add(tc.want))) {
			t.Errorf("Cache-Control %q Expires %q: got %v %v, want +%v %v", tc.cc, tc.expires, got, known, tc.want, tc.known)
		}
	}
}
