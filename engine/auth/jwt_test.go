package auth

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"
)

// Every algorithm family Hasura supports: sign with a generated key, check
// the session that comes out.
func TestJWTAlgorithms(t *testing.T) {
	k := keys(t)
	rsaPKCS1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)}))
	for _, tc := range []struct {
		name, typ, alg, key string
		signKey             any
	}{
		{"HS256", "HS256", "HS256", k.hmac[:32], []byte(k.hmac[:32])},
		{"HS384", "HS384", "HS384", k.hmac[:48], []byte(k.hmac[:48])},
		{"HS512", "HS512", "HS512", k.hmac, []byte(k.hmac)},
		{"RS256", "RS256", "RS256", pkixPEM(t, &k.rsa.PublicKey), k.rsa},
		{"RS384", "RS384", "RS384", pkixPEM(t, &k.rsa.PublicKey), k.rsa},
		{"RS512", "RS512", "RS512", pkixPEM(t, &k.rsa.PublicKey), k.rsa},
		{"RS256 PKCS#1 PEM", "RS256", "RS256", rsaPKCS1, k.rsa},
		{"RS256 certificate", "RS256", "RS256", k.rsaCert, k.rsa},
		{"ES256", "ES256", "ES256", pkixPEM(t, &k.p256.PublicKey), k.p256},
		{"ES384", "ES384", "ES384", pkixPEM(t, &k.p384.PublicKey), k.p384},
		{"ES512", "ES512", "ES512", pkixPEM(t, &k.p521.PublicKey), k.p521},
		{"Ed25519", "Ed25519", "EdDSA", pkixPEM(t, k.ed.Public()), k.ed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			r := jwtResolver(t, clk, "", map[string]any{"type": tc.typ, "key": tc.key})
			tok := token(t, tc.alg, tc.signKey, nil, claims(nil))
			s, err := resolve(t, r, bearer(tok))
			if err != nil {
				t.Fatalf("%s: %v", err.Code, err.Message)
			}
			if s.Role != "user" || s.Vars["x-hasura-role"] != "user" || s.Vars["x-hasura-user-id"] != "42" || len(s.Vars) != 2 {
				t.Fatalf("session %+v", s)
			}
			if !s.Expires.Equal(t0.Add(time.Hour)) {
				t.Fatalf("expires %v, want %v", s.Expires, t0.Add(time.Hour))
			}
		})
	}
}

func hs256(t testing.TB) map[string]any {
	return map[string]any{"type": "HS256", "key": keys(t).hmac}
}

func hsToken(t testing.TB, c map[string]any) string {
	return token(t, "HS256", []byte(keys(t).hmac), nil, c)
}

func TestJWTRoleAndVariables(t *testing.T) {
	clk := newClock()
	r := jwtResolver(t, clk, "", hs256(t))
	tok := hsToken(t, claims(map[string]any{defaultClaimsNamespace: ns(map[string]any{
		"X-Hasura-Org-Id":       "7",
		"x-hasura-admin-secret": "from-a-token",
		"not-hasura":            "dropped",
	})}))

	s, err := resolve(t, r, withHeader(bearer(tok), "X-Hasura-Role", "editor", "X-Hasura-User-Id", "999", "X-Hasura-Extra", "no"))
	if err != nil {
		t.Fatal(err)
	}
	// The token alone speaks: request x-hasura-* headers add nothing, a
	// claim cannot smuggle an admin secret in, names are lower-cased.
	want := map[string]string{"x-hasura-role": "editor", "x-hasura-user-id": "42", "x-hasura-org-id": "7"}
	if s.Role != "editor" || !equalVars(s.Vars, want) {
		t.Fatalf("session %+v, want vars %v", s, want)
	}

	s, err = resolve(t, r, withHeader(bearer(tok), "X-Hasura-Role", "admin"))
	wantErr(t, s, err, 400, "access-denied", "Your requested role is not in allowed roles")

	// A valid admin secret still makes the request admin, token or not.
	s, err = resolve(t, r, withHeader(bearer("garbage"), "X-Hasura-Admin-Secret", adminSecret, "X-Hasura-Role", "manager"))
	if err != nil || s.Role != "manager" {
		t.Fatalf("admin secret: %+v %v", s, err)
	}
	s, err = resolve(t, r, withHeader(bearer(tok), "X-Hasura-Admin-Secret", "wrong"))
	wantErr(t, s, err, 401, "access-denied", msgInvalidSecret)
}

func equalVars(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

func TestJWTNoToken(t *testing.T) {
	clk := newClock()
	strict := jwtResolver(t, clk, "", hs256(t))
	s, err := resolve(t, strict, hdr("X-Hasura-Role", "user"))
	wantErr(t, s, err, 400, "invalid-headers", "Missing 'Authorization' or 'Cookie' header in JWT authentication mode")

	anon := jwtResolver(t, clk, "anonymous", hs256(t))
	s, err = resolve(t, anon, hdr("X-Hasura-Role", "user", "X-Hasura-Device", "d1"))
	if err != nil || s.Role != "anonymous" || s.Vars["x-hasura-device"] != "d1" || s.Expires != (time.Time{}) {
		t.Fatalf("unauthorized role: %+v %v", s, err)
	}
	// A malformed Authorization header is an error even with an
	// unauthorized role, as in Hasura.
	s, err = resolve(t, anon, hdr("Authorization", "Basic dXNlcjpwYXNz"))
	wantErr(t, s, err, 400, "invalid-headers", "Malformed Authorization header")
}

func TestJWTClaimsMap(t *testing.T) {
	clk := newClock()
	r := jwtResolver(t, clk, "", map[string]any{
		"type": "HS256", "key": keys(t).hmac,
		"claims_map": map[string]any{
			"x-hasura-allowed-roles": map[string]any{"path": "$.app['https://x.io/roles']"},
			"x-hasura-default-role":  map[string]any{"path": "$.app.role", "default": "user"},
			"x-hasura-user-id":       map[string]any{"path": "$.sub"},
			"X-Hasura-Org-Id":        map[string]any{"path": "$.orgs[1]", "default": "none"},
			"x-hasura-tier":          "gold",
			"ignored-claim":          "not a session variable",
		},
	})
	base := func(app map[string]any, extra map[string]any) map[string]any {
		c := map[string]any{"sub": "u-1", "exp": t0.Add(time.Hour).Unix(), "app": app}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	roles := []string{"user", "editor"}

	s, err := resolve(t, r, bearer(hsToken(t, base(map[string]any{"https://x.io/roles": roles, "role": "editor"}, map[string]any{"orgs": []string{"o0", "o1"}}))))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"x-hasura-role": "editor", "x-hasura-user-id": "u-1", "x-hasura-org-id": "o1", "x-hasura-tier": "gold"}
	if !equalVars(s.Vars, want) {
		t.Fatalf("vars %v, want %v", s.Vars, want)
	}

	// Defaults fill in missing paths.
	s, err = resolve(t, r, bearer(hsToken(t, base(map[string]any{"https://x.io/roles": roles}, nil))))
	if err != nil || s.Role != "user" || s.Vars["x-hasura-org-id"] != "none" {
		t.Fatalf("defaults: %+v %v", s, err)
	}

	// A path without default that finds nothing.
	s, err = resolve(t, r, bearer(hsToken(t, base(map[string]any{"https://x.io/roles": roles}, map[string]any{"sub": nil}))))
	wantErr(t, s, err, 400, "jwt-invalid-claims", "JWT claim from claims_map, x-hasura-user-id not found")
	s, err = resolve(t, r, bearer(hsToken(t, base(map[string]any{}, nil))))
	wantErr(t, s, err, 400, "jwt-missing-role-claims", "JWT claim does not contain x-hasura-allowed-roles")
	s, err = resolve(t, r, bearer(hsToken(t, base(map[string]any{"https://x.io/roles": "user"}, nil))))
	wantErr(t, s, err, 400, "jwt-invalid-claims", "invalid x-hasura-allowed-roles; should be a list of roles: parsing [] failed, expected Array, but encountered String")
}

func TestJWTClaimsNamespacePath(t *testing.T) {
	clk := newClock()
	r := jwtResolver(t, clk, "", map[string]any{"type": "HS256", "key": keys(t).hmac, "claims_namespace_path": "$.hasura.claims"})
	s, err := resolve(t, r, bearer(hsToken(t, map[string]any{"exp": t0.Add(time.Minute).Unix(), "hasura": map[string]any{"claims": ns(nil)}})))
	if err != nil || s.Role != "user" || s.Vars["x-hasura-user-id"] != "42" {
		t.Fatalf("%+v %v", s, err)
	}
	s, err = resolve(t, r, bearer(hsToken(t, claims(nil))))
	wantErr(t, s, err, 400, "jwt-invalid-claims", "claims not found at claims_namespace_path: '$.hasura.claims'")

	// "$" is the whole (unregistered) claims object.
	root := jwtResolver(t, clk, "", map[string]any{"type": "HS256", "key": keys(t).hmac, "claims_namespace_path": "$"})
	c := ns(nil)
	c["exp"] = t0.Add(time.Minute).Unix()
	if s, err = resolve(t, root, bearer(hsToken(t, c))); err != nil || s.Role != "user" {
		t.Fatalf("root path: %+v %v", s, err)
	}

	custom := jwtResolver(t, clk, "", map[string]any{"type": "HS256", "key": keys(t).hmac, "claims_namespace": "myapp"})
	if s, err = resolve(t, custom, bearer(hsToken(t, map[string]any{"myapp": ns(nil)}))); err != nil || s.Role != "user" {
		t.Fatalf("claims_namespace: %+v %v", s, err)
	}
	s, err = resolve(t, custom, bearer(hsToken(t, claims(nil))))
	wantErr(t, s, err, 400, "jwt-invalid-claims", "claims key: 'myapp' not found")
}

func TestJWTStringifiedClaims(t *testing.T) {
	clk := newClock()
	r := jwtResolver(t, clk, "", map[string]any{"type": "HS256", "key": keys(t).hmac, "claims_format": "stringified_json"})
	inner, _ := json.Marshal(ns(nil))
	s, err := resolve(t, r, bearer(hsToken(t, claims(map[string]any{defaultClaimsNamespace: string(inner)}))))
	if err != nil || s.Role != "user" || s.Vars["x-hasura-user-id"] != "42" {
		t.Fatalf("%+v %v", s, err)
	}
	s, err = resolve(t, r, bearer(hsToken(t, claims(nil))))
	wantErr(t, s, err, 400, "jwt-invalid-claims", "expecting a string when claims_format is stringified_json")
}

func TestJWTAudienceIssuer(t *testing.T) {
	clk := newClock()
	r := jwtResolver(t, clk, "", map[string]any{"type": "HS256", "key": keys(t).hmac, "audience": []string{"app-a", "app-b"}, "issuer": "https://idp.example"})
	single := jwtResolver(t, clk, "", map[string]any{"type": "HS256", "key": keys(t).hmac, "audience": "app-a"})
	for _, tc := range []struct {
		name  string
		r     *Resolver
		extra map[string]any
		err   string
	}{
		{"aud string in list", r, map[string]any{"aud": "app-b", "iss": "https://idp.example"}, ""},
		{"aud list overlapping", r, map[string]any{"aud": []string{"other", "app-a"}, "iss": "https://idp.example"}, ""},
		{"single audience", single, map[string]any{"aud": "app-a"}, ""},
		// hs-jose checks aud and iss only when the token has them.
		{"no aud, no iss", r, nil, ""},
		{"aud outside", r, map[string]any{"aud": "app-c"}, "Could not verify JWT: JWTNotInAudience"},
		{"empty aud list", r, map[string]any{"aud": []string{}}, "Could not verify JWT: JWTNotInAudience"},
		{"wrong iss", r, map[string]any{"iss": "https://evil.example"}, "Could not verify JWT: JWTNotInIssuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := resolve(t, tc.r, bearer(hsToken(t, claims(tc.extra))))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err.Message)
				}
				return
			}
			wantErr(t, s, err, 400, "invalid-jwt", tc.err)
		})
	}
}

func TestJWTAllowedSkew(t *testing.T) {
	clk := newClock()
	strict := jwtResolver(t, clk, "", hs256(t))
	lenient := jwtResolver(t, clk, "", map[string]any{"type": "HS256", "key": keys(t).hmac, "allowed_skew": 60})
	for _, tc := range []struct {
		name   string
		extra  map[string]any
		strict string // error under zero skew
	}{
		{"expired 30s ago", map[string]any{"exp": t0.Add(-30 * time.Second).Unix()}, "Could not verify JWT: JWTExpired"},
		{"expires now", map[string]any{"exp": t0.Unix()}, "Could not verify JWT: JWTExpired"},
		{"nbf in 30s", map[string]any{"nbf": t0.Add(30 * time.Second).Unix()}, "Could not verify JWT: JWTNotYetValid"},
		{"iat in 30s", map[string]any{"iat": t0.Add(30 * time.Second).Unix()}, "Could not verify JWT: JWTIssuedAtFuture"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := hsToken(t, claims(tc.extra))
			s, err := resolve(t, strict, bearer(tok))
			wantErr(t, s, err, 400, "invalid-jwt", tc.strict)
			if _, err := resolve(t, lenient, bearer(tok)); err != nil {
				t.Fatalf("within allowed_skew: %v", err.Message)
			}
		})
	}
	tok := hsToken(t, claims(map[string]any{"exp": t0.Add(-61 * time.Second).Unix()}))
	s, err := resolve(t, lenient, bearer(tok))
	wantErr(t, s, err, 400, "invalid-jwt", "Could not verify JWT: JWTExpired")
}

func TestJWTCookieAndCustomHeader(t *testing.T) {
	clk := newClock()
	cookie := jwtResolver(t, clk, "", map[string]any{"type": "HS256", "key": keys(t).hmac, "header": map[string]any{"type": "Cookie", "name": "tok"}})
	custom := jwtResolver(t, clk, "", map[string]any{"type": "HS256", "key": keys(t).hmac, "header": map[string]any{"type": "customheader", "name": "X-Auth-Token"}})
	tok := hsToken(t, claims(nil))

	s, err := resolve(t, cookie, hdr("Cookie", "a=b; tok="+tok+"; c=d"))
	if err != nil || s.Role != "user" {
		t.Fatalf("cookie: %+v %v", s, err)
	}
	s, err = resolve(t, cookie, bearer(tok)) // the Authorization header is not where this config looks
	wantErr(t, s, err, 400, "invalid-headers", "Missing 'Authorization' or 'Cookie' header in JWT authentication mode")

	s, err = resolve(t, custom, hdr("x-auth-token", tok))
	if err != nil || s.Role != "user" {
		t.Fatalf("custom header: %+v %v", s, err)
	}
	s, err = resolve(t, custom, bearer(tok))
	wantErr(t, s, err, 400, "invalid-headers", "Missing 'Authorization' or 'Cookie' header in JWT authentication mode")
}

// Several configurations: a token goes to the one whose issuer it names;
// two tokens both fitting is Hasura's "Multiple JWTs found".
func TestJWTSeveralConfigs(t *testing.T) {
	k := keys(t)
	clk := newClock()
	r := jwtResolver(t, clk, "",
		map[string]any{"type": "HS256", "key": k.hmac, "issuer": "hs"},
		map[string]any{"type": "RS256", "key": pkixPEM(t, &k.rsa.PublicKey), "issuer": "rs"},
		map[string]any{"type": "ES256", "key": pkixPEM(t, &k.p256.PublicKey), "header": map[string]any{"type": "Cookie", "name": "es"}},
	)
	if s, err := resolve(t, r, bearer(token(t, "HS256", []byte(k.hmac), nil, claims(map[string]any{"iss": "hs"})))); err != nil || s.Role != "user" {
		t.Fatalf("hs: %+v %v", s, err)
	}
	if s, err := resolve(t, r, bearer(token(t, "RS256", k.rsa, nil, claims(map[string]any{"iss": "rs"})))); err != nil || s.Role != "user" {
		t.Fatalf("rs: %+v %v", s, err)
	}
	s, err := resolve(t, r, bearer(token(t, "HS256", []byte(k.hmac), nil, claims(map[string]any{"iss": "nobody"}))))
	wantErr(t, s, err, 400, "invalid-jwt", "Could not verify JWT: JWTNotInIssuer")

	// No iss: both Authorization configurations take it.
	s, err = resolve(t, r, bearer(token(t, "HS256", []byte(k.hmac), nil, claims(nil))))
	wantErr(t, s, err, 400, "invalid-headers", "Could not verify JWT: Multiple JWTs found")

	es := token(t, "ES256", k.p256, nil, claims(nil))
	if s, err := resolve(t, r, hdr("Cookie", "es="+es)); err != nil || s.Role != "user" {
		t.Fatalf("es cookie: %+v %v", s, err)
	}
}

func TestJWTSessionVariableTypes(t *testing.T) {
	clk := newClock()
	r := jwtResolver(t, clk, "", hs256(t))
	// Hasura reads session variables as text: a number is refused, not
	// rendered.
	s, err := resolve(t, r, bearer(hsToken(t, claims(map[string]any{defaultClaimsNamespace: ns(map[string]any{"x-hasura-user-id": 42})}))))
	wantErr(t, s, err, 400, "jwt-invalid-claims", "x-hasura-* claims: parsing Text failed, expected String, but encountered Number")
	// Array session variables travel as Postgres array literals in a string.
	s, err = resolve(t, r, bearer(hsToken(t, claims(map[string]any{defaultClaimsNamespace: ns(map[string]any{"x-hasura-group-ids": "{1,2}"})}))))
	if err != nil || s.Vars["x-hasura-group-ids"] != "{1,2}" {
		t.Fatalf("%+v %v", s, err)
	}
}

func TestJWTConfigErrors(t *testing.T) {
	k := keys(t)
	for _, tc := range []struct {
		name string
		cfg  string
		want string
	}{
		{"not JSON", `{"type":`, "not a JSON object"},
		{"no key", `{"type":"HS256"}`, "key and jwk_url both cannot be empty"},
		{"key and url", `{"type":"HS256","key":"` + k.hmac + `","jwk_url":"http://x"}`, "key, jwk_url both cannot be present"},
		{"no type", `{"key":"` + k.hmac + `"}`, `key "type" not found`},
		{"unknown type", `{"type":"PS256","key":"x"}`, "Invalid JWK: Key type: PS256 is not supported"},
		{"short HMAC", `{"type":"HS512","key":"` + k.hmac[:32] + `"}`, "Invalid JWK: Key size too small; should be atleast 64 characters"},
		{"bad PEM", `{"type":"RS256","key":"nope"}`, "Invalid JWK: Could not decode PEM: No pem found"},
		{"EC key for RS256", jsonConfig(t, map[string]any{"type": "RS256", "key": pkixPEM(t, &k.p256.PublicKey)}), "Invalid JWK: the PEM key does not fit type RS256"},
		{"P-384 key for ES256", jsonConfig(t, map[string]any{"type": "ES256", "key": pkixPEM(t, &k.p384.PublicKey)}), "Invalid JWK: the PEM key does not fit type ES256"},
		{"namespace and path", `{"type":"HS256","key":"` + k.hmac + `","claims_namespace":"a","claims_namespace_path":"$.a"}`, "claims_namespace and claims_namespace_path both cannot be set"},
		{"bad path", `{"type":"HS256","key":"` + k.hmac + `","claims_namespace_path":"$.a b"}`, "invalid JSON path claims_namespace_path error"},
		{"bad format", `{"type":"HS256","key":"` + k.hmac + `","claims_format":"xml"}`, "claims_format"},
		{"claims_map without default role", `{"type":"HS256","key":"` + k.hmac + `","claims_map":{"x-hasura-allowed-roles":["a"]}}`, "x-hasura-default-role is expected but not found"},
		{"claims_map roles not a list", `{"type":"HS256","key":"` + k.hmac + `","claims_map":{"x-hasura-allowed-roles":"a","x-hasura-default-role":"a"}}`, "parsing [] failed"},
		{"bad header type", `{"type":"HS256","key":"` + k.hmac + `","header":{"type":"Query"}}`, "expected 'type' is 'Authorization' or 'Cookie' or 'CustomHeader'"},
		{"cookie without name", `{"type":"HS256","key":"` + k.hmac + `","header":{"type":"Cookie"}}`, "needs a name"},
		{"bad jwk_url", `{"jwk_url":"file:///etc/passwd"}`, "jwk_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewResolver(Options{AdminSecrets: []string{adminSecret}, JWT: []string{hs256JSON(t), tc.cfg}})
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Index != 1 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ConfigError index 1 containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), k.hmac) {
				t.Fatal("the error quotes the secret")
			}
		})
	}
}

func hs256JSON(t testing.TB) string { return jsonConfig(t, hs256(t)) }

// Hasura's start-up rules for combining modes.
func TestAuthModeValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want error
	}{
		{"JWT and hook", Options{AdminSecrets: []string{"s"}, JWT: []string{hs256JSON(t)}, Hook: "http://hook"}, errJWTAndHook},
		{"JWT without secret", Options{JWT: []string{hs256JSON(t)}}, errJWTNeedsSecret},
		{"hook without secret", Options{Hook: "http://hook"}, errHookNeedsSecret},
		{"hook with unauthorized role", Options{AdminSecrets: []string{"s"}, Hook: "http://hook", UnauthorizedRole: "anon"}, errHookWithUnauthRole},
	} {
		if _, err := NewResolver(tc.o); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := NewResolver(Options{AdminSecrets: []string{"s"}, Hook: "http://hook", HookMode: "PUT"}); err == nil {
		t.Error("hook mode PUT accepted")
	}
}

func TestJSONPath(t *testing.T) {
	doc := map[string]any{"a": map[string]any{"b-c": []any{"x", map[string]any{"d.e": "deep"}}}, "_u": "under"}
	for _, tc := range []struct {
		path, want, encoded string
	}{
		{"$.a['b-c'][0]", "x", "$.a.b-c[0]"},
		{`$.a["b-c"][1]["d.e"]`, "deep", `$.a.b-c[1]["d.e"]`},
		{"a.b-c[0]", "x", "$.a.b-c[0]"},
		{"$._u", "under", "$._u"},
		{"$.a.b-c.[0]", "x", "$.a.b-c[0]"},
	} {
		p, err := parseJSONPath(tc.path)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if v, ok := p.get(doc); !ok || v != tc.want {
			t.Errorf("%s: got %v %v", tc.path, v, ok)
		}
		if p.String() != tc.encoded {
			t.Errorf("%s encodes as %s, want %s", tc.path, p.String(), tc.encoded)
		}
	}
	for _, bad := range []string{"", "$.", "$.1a", "$.a b", "$[x]", "$['a'", "$.-a", "$a[", "$.a[01x]"} {
		if _, err := parseJSONPath(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if p, _ := parseJSONPath("$.a.missing"); p != nil {
		if _, ok := p.get(doc); ok {
			t.Error("missing key found")
		}
	}
}
