package auth

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Crafted bad credentials that must all be refused, and whose refusal never
// quotes the token or the admin secret back.
func TestJWTSecurity(t *testing.T) {
	k := keys(t)
	clk := newClock()
	rsaPEM := pkixPEM(t, &k.rsa.PublicKey)
	hsR := jwtResolver(t, clk, "", map[string]any{"type": "HS256", "key": k.hmac, "issuer": "https://idp.example", "audience": "app"})
	rsR := jwtResolver(t, clk, "", map[string]any{"type": "RS256", "key": rsaPEM})
	edR := jwtResolver(t, clk, "", map[string]any{"type": "Ed25519", "key": pkixPEM(t, k.ed.Public())})
	strR := jwtResolver(t, clk, "", map[string]any{"type": "HS256", "key": k.hmac, "claims_format": "stringified_json"})
	srv := newJWKSServer(t, "max-age=600", jwk(&k.rsa.PublicKey, "k1", "RS256"), jwk(&k.p256.PublicKey, "k2", ""))
	jwkR := jwkResolver(t, clk, srv.URL)
	hmac := []byte(k.hmac)

	good := claims(nil)
	hs := func(c any) string { return token(t, "HS256", hmac, nil, c) }
	rs := func(c any) string { return token(t, "RS256", k.rsa, nil, c) }
	goodRS := rs(good)
	parts := strings.Split(goodRS, ".")
	tamperedPayload, _ := json.Marshal(claims(map[string]any{defaultClaimsNamespace: ns(map[string]any{"x-hasura-allowed-roles": []string{"admin"}, "x-hasura-default-role": "admin"})}))
	tamperedHeader, _ := json.Marshal(map[string]any{"alg": "RS256", "typ": "JWT", "kid": "other"})
	rsaPKCS1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)})
	attackerJWK, _ := json.Marshal(jwk(&k.rsa2.PublicKey, "k1", "RS256"))
	var attackerHeader map[string]any
	_ = json.Unmarshal(attackerJWK, &attackerHeader)
	huge := strings.Repeat("A", 1<<20)

	type tc struct {
		name   string
		r      *Resolver
		h      http.Header
		status int
		code   string
		msg    string // "*" suffix: prefix match
	}
	invalid := func(name string, r *Resolver, tok, msg string) tc {
		return tc{name, r, bearer(tok), 400, "invalid-jwt", "Could not verify JWT: " + msg}
	}
	cases := []tc{
		invalid("alg none", hsR, token(t, "none", nil, nil, good), "JWSError JWSNoSignatures"),
		invalid("alg none on RSA", rsR, token(t, "none", nil, nil, good), "JWSError JWSNoSignatures"),
		invalid("alg none with a signature", hsR, strings.TrimSuffix(token(t, "none", nil, nil, good), ".")+"."+parts[2], "JWSError JWSNoSignatures"),
		invalid("alg NONE", hsR, token(t, "HS256", hmac, map[string]any{"alg": "NONE"}, good), "JWSError AlgorithmNotImplemented"),
		invalid("alg HS512 under HS256 with the same secret", hsR, token(t, "HS512", hmac, nil, good), "JWSError JWSInvalidSignature"),
		invalid("alg RS512 under RS256 with the right key", rsR, token(t, "RS512", k.rsa, nil, good), "JWSError JWSInvalidSignature"),
		invalid("alg PS256 under RS256", rsR, token(t, "PS256", k.rsa, nil, good), "JWSError JWSInvalidSignature"),
		invalid("HS256 signed with the RSA public key PEM", rsR, token(t, "HS256", []byte(rsaPEM), nil, good), "JWSError JWSInvalidSignature"),
		invalid("HS256 signed with the PKCS#1 PEM", rsR, token(t, "HS256", rsaPKCS1, nil, good), "JWSError JWSInvalidSignature"),
		invalid("HS256 with the JWK's PEM at jwk_url", jwkR, token(t, "HS256", []byte(rsaPEM), map[string]any{"kid": "k1"}, good), "JWSError JWSInvalidSignature"),
		invalid("HS256 with the Ed25519 public key", edR, token(t, "HS256", []byte(k.ed.Public().(ed25519.PublicKey)), nil, good), "JWSError JWSInvalidSignature"),
		invalid("ES256 under RS256", rsR, token(t, "ES256", k.p256, nil, good), "JWSError JWSInvalidSignature"),
		invalid("RS256 under a jwk_url EC key", jwkR, token(t, "RS256", k.rsa, map[string]any{"kid": "k2"}, good), "JWSError JWSInvalidSignature"),
		invalid("wrong RSA key", rsR, token(t, "RS256", k.rsa2, nil, good), "JWSError JWSInvalidSignature"),
		invalid("wrong HMAC secret", hsR, token(t, "HS256", []byte(strings.ToUpper(k.hmac)), nil, good), "JWSError JWSInvalidSignature"),
		invalid("wrong Ed25519 key", edR, token(t, "EdDSA", k.ed2, nil, good), "JWSError JWSInvalidSignature"),
		invalid("tampered payload", rsR, parts[0]+"."+b64(tamperedPayload)+"."+parts[2], "JWSError JWSInvalidSignature"),
		invalid("tampered header", rsR, b64(tamperedHeader)+"."+parts[1]+"."+parts[2], "JWSError JWSInvalidSignature"),
		invalid("truncated signature", rsR, goodRS[:len(goodRS)-10], "JWSError JWSInvalidSignature"),
		invalid("empty signature", rsR, parts[0]+"."+parts[1]+".", "JWSError JWSInvalidSignature"),
		invalid("two segments", rsR, parts[0]+"."+parts[1], "JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 2)"),
		invalid("extra segment", rsR, goodRS+".x", "JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 4)"),
		invalid("JWE-shaped", rsR, goodRS+".x.y", "JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 5)"),
		invalid("one segment", rsR, "abc", "JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 1)"),
		invalid("garbage base64", rsR, "!!!.@@@.###", "JWSError (JSONDecodeError*"),
		invalid("padded base64 header", rsR, parts[0]+"=."+parts[1]+"."+parts[2], "JWSError (JSONDecodeError*"),
		invalid("header not JSON", rsR, b64([]byte("{alg"))+"."+parts[1]+"."+parts[2], "JWSError (JSONDecodeError*"),
		invalid("header without alg", rsR, b64([]byte(`{"typ":"JWT"}`))+"."+parts[1]+"."+parts[2], "JWSError (JSONDecodeError*"),
		invalid("crit header", rsR, token(t, "RS256", k.rsa, map[string]any{"crit": []string{"b64"}, "b64": false}, good), "JWSError JWSCritUnprotected"),
		invalid("embedded attacker jwk", rsR, token(t, "RS256", k.rsa2, map[string]any{"jwk": attackerHeader}, good), "JWSError JWSInvalidSignature"),
		invalid("jku to an attacker set", jwkR, token(t, "RS256", k.rsa2, map[string]any{"kid": "k1", "jku": "http://127.0.0.1:1/keys"}, good), "JWSError JWSInvalidSignature"),
		invalid("unknown kid at jwk_url", jwkR, token(t, "RS256", k.rsa2, map[string]any{"kid": "nope"}, good), "JWSError NoUsableKeys"),
		invalid("known kid, other key", jwkR, token(t, "RS256", k.rsa2, map[string]any{"kid": "k1"}, good), "JWSError JWSInvalidSignature"),
		invalid("expired", rsR, rs(claims(map[string]any{"exp": t0.Add(-time.Second).Unix()})), "JWTExpired"),
		invalid("not yet valid", rsR, rs(claims(map[string]any{"nbf": t0.Add(time.Minute).Unix()})), "JWTNotYetValid"),
		invalid("issued in the future", rsR, rs(claims(map[string]any{"iat": t0.Add(time.Minute).Unix()})), "JWTIssuedAtFuture"),
		invalid("exp is a string", rsR, rs(claims(map[string]any{"exp": "2100-01-01"})), "JWTClaimsSetDecodeError*"),
		invalid("aud is a number", hsR, hs(claims(map[string]any{"aud": 7})), "JWTClaimsSetDecodeError*"),
		invalid("wrong aud", hsR, hs(claims(map[string]any{"aud": "other-app", "iss": "https://idp.example"})), "JWTNotInAudience"),
		invalid("wrong iss", hsR, hs(claims(map[string]any{"aud": "app", "iss": "https://evil.example"})), "JWTNotInIssuer"),
		invalid("payload not JSON", rsR, rs([]byte("not json")), "JWTClaimsSetDecodeError*"),
		invalid("payload a JSON list", rsR, rs([]byte(`[1]`)), "JWTClaimsSetDecodeError*"),
		invalid("oversized token", rsR, b64([]byte(`{"alg":"RS256"}`))+"."+huge+".x", "JWSError (CompactDecodeError the token is larger than 65536 bytes)"),
		{"oversized header value", rsR, hdr("Authorization", "Bearer "+huge), 400, "invalid-jwt", "Could not verify JWT: JWSError (CompactDecodeError the token is larger than 65536 bytes)"},
		{"missing allowed roles", rsR, bearer(rs(claims(map[string]any{defaultClaimsNamespace: ns(map[string]any{"x-hasura-allowed-roles": nil})}))), 400, "jwt-missing-role-claims", "JWT claim does not contain x-hasura-allowed-roles"},
		{"missing default role", rsR, bearer(rs(claims(map[string]any{defaultClaimsNamespace: ns(map[string]any{"x-hasura-default-role": nil})}))), 400, "jwt-missing-role-claims", "JWT claim does not contain x-hasura-default-role"},
		{"allowed roles not a list", rsR, bearer(rs(claims(map[string]any{defaultClaimsNamespace: ns(map[string]any{"x-hasura-allowed-roles": "user"})}))), 400, "jwt-invalid-claims", "invalid x-hasura-allowed-roles; should be a list of roles: parsing [] failed, expected Array, but encountered String"},
		{"empty role name", rsR, bearer(rs(claims(map[string]any{defaultClaimsNamespace: ns(map[string]any{"x-hasura-default-role": ""})}))), 400, "jwt-invalid-claims", "invalid x-hasura-default-role; should be a single role name: empty string not allowed"},
		{"default role not allowed", rsR, bearer(rs(claims(map[string]any{defaultClaimsNamespace: ns(map[string]any{"x-hasura-default-role": "admin"})}))), 400, "access-denied", "Your requested role is not in allowed roles"},
		{"requested role not allowed", rsR, withHeader(bearer(goodRS), "X-Hasura-Role", "admin"), 400, "access-denied", "Your requested role is not in allowed roles"},
		{"claims not an object", rsR, bearer(rs(claims(map[string]any{defaultClaimsNamespace: "{}"}))), 400, "jwt-invalid-claims", "expecting a json object when claims_format is json"},
		{"no claims namespace", rsR, bearer(rs(claims(map[string]any{defaultClaimsNamespace: nil}))), 400, "jwt-invalid-claims", "claims key: 'https://hasura.io/jwt/claims' not found"},
		{"stringified claims not JSON", strR, bearer(hs(claims(map[string]any{defaultClaimsNamespace: "{not json"}))), 400, "jwt-invalid-claims", "expecting stringified json at: 'claims_namespace https://hasura.io/jwt/claims', but found: {not json"},
		{"stringified claims a JSON list", strR, bearer(hs(claims(map[string]any{defaultClaimsNamespace: "[]"}))), 400, "jwt-invalid-claims", "expecting stringified json at*"},
		{"number session variable", rsR, bearer(rs(claims(map[string]any{defaultClaimsNamespace: ns(map[string]any{"x-hasura-user-id": 1})}))), 400, "jwt-invalid-claims", "x-hasura-* claims: parsing Text failed, expected String, but encountered Number"},
		{"empty token", rsR, hdr("Authorization", "Bearer "), 400, "invalid-headers", "Malformed Authorization header"},
		{"bearer alone", rsR, hdr("Authorization", "Bearer"), 400, "invalid-headers", "Malformed Authorization header"},
		{"lower-case scheme", rsR, hdr("Authorization", "bearer "+goodRS), 400, "invalid-headers", "Malformed Authorization header"},
		{"token and more", rsR, hdr("Authorization", "Bearer "+goodRS+" extra"), 400, "invalid-headers", "Malformed Authorization header"},
		{"two Authorization headers", rsR, withHeader(bearer(goodRS), "Authorization", "Bearer "+goodRS), 400, "invalid-headers", "Could not verify JWT: Multiple JWTs found"},
		{"no token", rsR, hdr("X-Hasura-Role", "user"), 400, "invalid-headers", "Missing 'Authorization' or 'Cookie' header in JWT authentication mode"},
		{"wrong admin secret with a good token", rsR, withHeader(bearer(goodRS), "X-Hasura-Admin-Secret", adminSecret+"x"), 401, "access-denied", msgInvalidSecret},
		{"empty admin secret", rsR, withHeader(bearer(goodRS), "X-Hasura-Admin-Secret", ""), 401, "access-denied", msgInvalidSecret},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := resolve(t, c.r, c.h)
			wantErr(t, s, err, c.status, c.code, c.msg)
			body := errorBody(err)
			for _, v := range c.h.Values("Authorization") {
				if tok := strings.TrimPrefix(v, "Bearer "); len(tok) > 8 && (strings.Contains(body, tok) || strings.Contains(err.Error(), tok)) {
					t.Fatalf("the error quotes the token: %s", body)
				}
			}
			if strings.Contains(body, adminSecret) || strings.Contains(body, k.hmac) {
				t.Fatalf("the error quotes a secret: %s", body)
			}
		})
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("%d JWK fetches: bad tokens must not force refetches within jwkMinRefresh", n)
	}
}
