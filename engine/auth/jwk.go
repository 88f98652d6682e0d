package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"

	"github.com/strata-dev/strata/engine/version"
)

// verifyKey is one public (or HMAC) key and the JWS algorithms it may
// check. Binding algorithms to the key is what stops algorithm confusion:
// an HS256 token is never checked against an RSA key's bytes.
type verifyKey struct {
	kid  string
	algs []string
	key  any // []byte, *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

func (k *verifyKey) allows(alg string) bool { return slices.Contains(k.algs, alg) }

// algsFor lists the algorithms a key of this type can check. RSA keys from
// a JWK set also take PS256/384/512, as Hasura's JOSE library does.
func algsFor(key any) []string {
	switch k := key.(type) {
	case []byte:
		return []string{"HS256", "HS384", "HS512"}
	case *rsa.PublicKey:
		return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case *ecdsa.PublicKey:
		if alg := ecAlg(k.Curve); alg != "" {
			return []string{alg}
		}
	case ed25519.PublicKey:
		return []string{"EdDSA"}
	}
	return nil
}

// ecAlg is the one ES algorithm defined for a curve (RFC 7518 §3.4).
func ecAlg(c elliptic.Curve) string {
	switch c {
	case elliptic.P256():
		return "ES256"
	case elliptic.P384():
		return "ES384"
	case elliptic.P521():
		return "ES512"
	}
	return ""
}

// How a jwk_url is followed.
const (
	// jwkMinRefresh is the least time between two fetches of one JWK set,
	// whatever asks for it: an expired max-age, a token whose kid is not in
	// the set (the usual sign of a key rotation), or a failed fetch. It
	// bounds what a stream of tokens with made-up kids can make us fetch;
	// Hasura polls every 60s and refetches on expiry only, so this is never
	// slower than Hasura to follow a rotation.
	jwkMinRefresh = 30 * time.Second
	// jwkFetchTimeout bounds one fetch: requests waiting on a refresh wait
	// at most this long before going on with the keys they had.
	jwkFetchTimeout = 10 * time.Second
	// jwkStartupRetries and the doubling backoff from 200ms are Hasura's
	// (mkJwtCtx): about 6s before start-up gives up.
	jwkStartupRetries = 5
	maxJWKSetBytes    = 1 << 20
)

// remoteKeys is a JWK set fetched from a jwk_url and refreshed lazily, on
// the request that finds it stale, rather than by a poller: nothing runs
// while no token arrives, and a clock moved by a test is all it takes.
type remoteKeys struct {
	url    string
	client *http.Client
	log    *slog.Logger
	now    func() time.Time

	mu          sync.RWMutex
	keys        []verifyKey
	expiry      time.Time // from Cache-Control/Expires; zero: keep until a kid is unknown
	lastAttempt time.Time // last fetch started, successful or not

	flight singleflight.Group // concurrent refreshes share one fetch
}

func (s *remoteKeys) init(client *http.Client, log *slog.Logger, now func() time.Time) {
	s.client, s.log, s.now = client, log, now
}

// startupFetch is Hasura's start-up check: the set must be fetchable, or
// the engine does not start. A missing or unparsable expiry is not fatal.
func (s *remoteKeys) startupFetch(backoff time.Duration) error {
	if backoff <= 0 {
		backoff = 200 * time.Millisecond
	}
	var err error
	for attempt := 0; ; attempt++ {
		if err = s.refresh(); err == nil {
			return nil
		}
		if attempt == jwkStartupRetries {
			return err
		}
		time.Sleep(backoff)
		backoff *= 2
	}
}

// keysFor returns the keys a token with this kid may be checked with,
// refreshing the set first when it has expired or does not know the kid.
// A refresh that fails leaves the previous keys in place.
func (s *remoteKeys) keysFor(ctx context.Context, kid string) []verifyKey {
	if s.stale(kid) {
		ch := s.flight.DoChan("refresh", func() (any, error) {
			// Re-check inside the flight: a caller that saw the set stale
			// just before another refresh finished must not fetch again.
			if s.stale(kid) {
				_ = s.refresh()
			}
			return nil, nil
		})
		select {
		case <-ch:
		case <-ctx.Done():
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return selectKeys(s.keys, kid)
}

// selectKeys: a token naming a kid is checked with that key only (keys
// without a kid too, as a set may not name them); a token without one,
// with every key, as Hasura's JOSE library does.
func selectKeys(keys []verifyKey, kid string) []verifyKey {
	if kid == "" {
		return keys
	}
	var out []verifyKey
	for _, k := range keys {
		if k.kid == kid || k.kid == "" {
			out = append(out, k)
		}
	}
	return out
}

func (s *remoteKeys) stale(kid string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	now := s.now()
	if now.Sub(s.lastAttempt) < jwkMinRefresh {
		return false
	}
	if len(s.keys) == 0 || (!s.expiry.IsZero() && !now.Before(s.expiry)) {
		return true
	}
	if kid == "" {
		return false
	}
	for _, k := range s.keys {
		if k.kid == kid {
			return false
		}
	}
	return true
}

// refresh fetches the set and installs it. The fetch is detached from any
// request: it is shared by every request waiting on it.
func (s *remoteKeys) refresh() error {
	s.mu.Lock()
	s.lastAttempt = s.now()
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), jwkFetchTimeout)
	defer cancel()
	s.log.Info("refreshing JWK set", "type", "jwk-refresh-log", "url", s.url)
	keys, hdr, err := s.fetch(ctx)
	if err != nil {
		s.log.Error("JWK refresh failed; keeping the previous keys", "type", "jwk-refresh-log", "url", s.url, "error", err.Error())
		return err
	}
	now := s.now()
	expiry, known := httpExpiry(hdr, now)
	if !known {
		s.log.Info("the JWK response has no usable Cache-Control max-age or Expires: keeping the keys until a token names an unknown kid",
			"type", "jwk-refresh-log", "url", s.url)
	}
	s.mu.Lock()
	s.keys, s.expiry = keys, expiry
	s.mu.Unlock()
	return nil
}

func (s *remoteKeys) fetch(ctx context.Context) ([]verifyKey, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("Error fetching JWK: %v", err)
	}
	req.Header.Set("User-Agent", userAgent())
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("Error fetching JWK: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxJWKSetBytes))
		return nil, nil, fmt.Errorf("Non-2xx response on fetching JWK from: %s (status %d)", s.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSetBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("Error fetching JWK: %v", err)
	}
	if len(body) > maxJWKSetBytes {
		return nil, nil, fmt.Errorf("Error parsing JWK from url: %s: larger than %d bytes", s.url, maxJWKSetBytes)
	}
	keys, err := parseJWKSet(body, s.log)
	if err != nil {
		return nil, nil, fmt.Errorf("Error parsing JWK from url: %s: %v", s.url, err)
	}
	return keys, resp.Header, nil
}

// parseJWKSet reads {"keys":[...]}. Like Hasura, keys it cannot use (an
// unknown kty, use "enc", a broken member, and unlike Hasura an oct key)
// are skipped rather than failing the whole set, and RSA n/e written in padded or standard base64 with
// leading zero bytes (AWS Cognito) are accepted.
func parseJWKSet(body []byte, log *slog.Logger) ([]verifyKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, errors.New("not a JSON object with a keys list")
	}
	var out []verifyKey
	for i, raw := range doc.Keys {
		k, err := parseJWK(raw)
		if err != nil {
			log.Debug("skipping a JWK", "type", "jwk-refresh-log", "index", i, "reason", err.Error())
			continue
		}
		out = append(out, k)
	}
	return out, nil
}

func parseJWK(raw json.RawMessage) (verifyKey, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return verifyKey{}, errors.New("not a JSON object")
	}
	if use, ok := m["use"]; ok && use != "sig" {
		return verifyKey{}, fmt.Errorf("use %v is not sig", use)
	}
	if m["kty"] == "oct" {
		// A shared secret published at a URL is no secret: Hasura would take
		// it, we refuse to verify with it.
		return verifyKey{}, errors.New("symmetric (oct) keys are not taken from a jwk_url")
	}
	if m["kty"] == "RSA" {
		for _, f := range []string{"n", "e"} {
			if s, ok := m[f].(string); ok {
				m[f] = canonicalBase64URLInt(s)
			}
		}
		raw, _ = json.Marshal(m)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return verifyKey{}, err
	}
	if !jwk.Valid() {
		return verifyKey{}, errors.New("invalid key")
	}
	if !jwk.IsPublic() { // a private key published by mistake: use its public half
		jwk = jwk.Public()
	}
	algs := algsFor(jwk.Key)
	if jwk.Algorithm != "" {
		if !slices.Contains(algs, jwk.Algorithm) {
			return verifyKey{}, fmt.Errorf("alg %s does not fit the key type", jwk.Algorithm)
		}
		algs = []string{jwk.Algorithm}
	}
	if len(algs) == 0 {
		return verifyKey{}, errors.New("unsupported key type")
	}
	return verifyKey{kid: jwk.KeyID, algs: algs, key: jwk.Key}, nil
}

// canonicalBase64URLInt rewrites a big-endian integer in base64 or
// base64url, padded or not, as unpadded base64url without leading zero
// bytes (RFC 7518 §6.3.1). Anything undecodable is left for the JWK parser
// to refuse.
func canonicalBase64URLInt(s string) string {
	s = strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(s), "=")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return s
	}
	return base64.RawURLEncoding.EncodeToString(new(big.Int).SetBytes(b).Bytes())
}

// httpExpiry is when a JWK response stops being fresh, by Hasura's rules
// (determineJwkExpiryLifetime): Cache-Control first — must-revalidate
// means max-age or now, no-cache and no-store mean now, else max-age or
// s-maxage — then Expires. known is false when neither says.
func httpExpiry(h http.Header, now time.Time) (t time.Time, known bool) {
	if cc := h.Get("Cache-Control"); cc != "" {
		dirs := parseCacheControl(cc)
		maxAge, hasMaxAge := findMaxAge(dirs)
		switch {
		case hasDirective(dirs, "must-revalidate"):
			if hasMaxAge {
				return now.Add(maxAge), true
			}
			return now, true
		case hasDirective(dirs, "no-cache"), hasDirective(dirs, "no-store"):
			return now, true
		case hasMaxAge:
			return now.Add(maxAge), true
		}
	}
	if e := h.Get("Expires"); e != "" {
		if t, err := http.ParseTime(e); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// cacheDirective is one Cache-Control directive; value is "" for a bare
// token.
type cacheDirective struct{ name, value string }

// parseCacheControl splits a Cache-Control value into directives (RFC 9111
// §5.2): names are case-insensitive, values a token or a quoted string.
func parseCacheControl(v string) []cacheDirective {
	var out []cacheDirective
	for len(v) > 0 {
		var part string
		part, v = nextDirective(v)
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		value = strings.TrimSpace(value)
		if uq, err := strconv.Unquote(value); err == nil && strings.HasPrefix(value, `"`) {
			value = uq
		}
		out = append(out, cacheDirective{strings.ToLower(strings.TrimSpace(name)), value})
	}
	return out
}

// nextDirective cuts v at the first comma outside a quoted string.
func nextDirective(v string) (string, string) {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				return v[:i], v[i+1:]
			}
		}
	}
	return v, ""
}

// findMaxAge is the first max-age or s-maxage with a number, as Hasura
// takes it.
func findMaxAge(dirs []cacheDirective) (time.Duration, bool) {
	for _, d := range dirs {
		if d.name != "max-age" && d.name != "s-maxage" {
			continue
		}
		n, err := strconv.ParseInt(leadingDigits(d.value), 10, 64)
		if err != nil || n < 0 {
			return 0, false
		}
		if n > int64(365*24*time.Hour/time.Second) { // keep the Duration in range
			n = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	return 0, false
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

func hasDirective(dirs []cacheDirective, name string) bool {
	for _, d := range dirs {
		if d.name == name && d.value == "" {
			return true
		}
	}
	return false
}

// userAgent is sent to the JWK server and the webhook, as Hasura sends its
// own.
func userAgent() string { return "strata/" + version.Version }
