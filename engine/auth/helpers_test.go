package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
)

const adminSecret = "adm1n-s3cret-value"

// t0 is the tests' "now": tokens and the resolver's clock agree on it.
var t0 = time.Unix(1_900_000_000, 0).UTC()

// clock is the injectable time source: tests move it instead of sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Keys are generated once per test binary; RSA generation is the slow part.
type testKeys struct {
	hmac    string
	rsa     *rsa.PrivateKey
	rsa2    *rsa.PrivateKey
	p256    *ecdsa.PrivateKey
	p384    *ecdsa.PrivateKey
	p521    *ecdsa.PrivateKey
	ed      ed25519.PrivateKey
	ed2     ed25519.PrivateKey
	rsaCert string // PEM certificate for rsa
}

var (
	keysOnce sync.Once
	keysVal  testKeys
)

func keys(t testing.TB) *testKeys {
	t.Helper()
	keysOnce.Do(func() {
		k := &keysVal
		k.hmac = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		var err error
		must := func(e error) {
			if e != nil {
				panic(e)
			}
		}
		k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		k.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		k.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		must(err)
		k.p521, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
		must(err)
		_, k.ed, err = ed25519.GenerateKey(rand.Reader)
		must(err)
		_, k.ed2, err = ed25519.GenerateKey(rand.Reader)
		must(err)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "issuer"},
			NotBefore: time.Unix(0, 0), NotAfter: time.Unix(4_000_000_000, 0)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.rsa.PublicKey, k.rsa)
		must(err)
		k.rsaCert = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	})
	return &keysVal
}

// pkixPEM is a public key as "PUBLIC KEY" PEM.
func pkixPEM(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// token builds a compact JWS: header {"alg": signAlg, "typ": "JWT"} with
// hdr's members laid over it, the claims (a map, or raw bytes/string used
// as the payload as is), signed by signAlg with key (nil: no signature).
func token(t testing.TB, signAlg string, key any, hdr map[string]any, claims any) string {
	t.Helper()
	h := map[string]any{"alg": signAlg, "typ": "JWT"}
	for k, v := range hdr {
		h[k] = v
	}
	hb, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var pb []byte
	switch c := claims.(type) {
	case []byte:
		pb = c
	case string:
		pb = []byte(c)
	default:
		if pb, err = json.Marshal(c); err != nil {
			t.Fatal(err)
		}
	}
	signing := b64(hb) + "." + b64(pb)
	if key == nil {
		return signing + "."
	}
	sig, err := jwt.GetSigningMethod(signAlg).Sign(signing, key)
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + b64(sig)
}

// claims is a valid Hasura claims set at t0 under the default namespace;
// extra members replace or add top-level claims (nil deletes).
func claims(extra map[string]any) map[string]any {
	c := map[string]any{
		"sub": "42",
		"iat": t0.Unix(),
		"exp": t0.Add(time.Hour).Unix(),
		defaultClaimsNamespace: map[string]any{
			"x-hasura-allowed-roles": []string{"user", "editor"},
			"x-hasura-default-role":  "user",
			"x-hasura-user-id":       "42",
		},
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// ns returns the default-namespace claims with changes (nil deletes).
func ns(changes map[string]any) map[string]any {
	n := map[string]any{
		"x-hasura-allowed-roles": []string{"user", "editor"},
		"x-hasura-default-role":  "user",
		"x-hasura-user-id":       "42",
	}
	for k, v := range changes {
		if v == nil {
			delete(n, k)
		} else {
			n[k] = v
		}
	}
	return n
}

func jsonConfig(t testing.TB, m map[string]any) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jwtResolver is a JWT-mode resolver on the test clock.
func jwtResolver(t testing.TB, clk *clock, unauthRole string, configs ...map[string]any) *Resolver {
	t.Helper()
	o := Options{AdminSecrets: []string{adminSecret}, UnauthorizedRole: unauthRole, Now: clk.Now}
	for _, c := range configs {
		o.JWT = append(o.JWT, jsonConfig(t, c))
	}
	r, err := NewResolver(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func bearer(tok string) http.Header { return hdr("Authorization", "Bearer "+tok) }

func withHeader(h http.Header, kv ...string) http.Header {
	h = h.Clone()
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func resolve(t testing.TB, r *Resolver, h http.Header) (*Session, *apierr.Error) {
	t.Helper()
	return r.Resolve(context.Background(), h)
}

// wantErr checks status, code and message (prefix when msg ends in "*").
func wantErr(t testing.TB, s *Session, err *apierr.Error, status int, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %d %s %q, got session %+v", status, code, msg, s)
	}
	okMsg := err.Message == msg
	if p, ok := strings.CutSuffix(msg, "*"); ok {
		okMsg = strings.HasPrefix(err.Message, p)
	}
	if err.Status != status || err.Code != code || !okMsg {
		t.Fatalf("want %d %s %q, got %d %s %q", status, code, msg, err.Status, err.Code, err.Message)
	}
}

// errorBody is what a client would read for err.
func errorBody(err *apierr.Error) string {
	b, _ := aeson.Marshal(apierr.GraphQLBody(err, true))
	return string(b)
}
