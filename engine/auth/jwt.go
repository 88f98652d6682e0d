package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"

	"github.com/strata-dev/strata/engine/apierr"
)

// JWT mode follows Hasura's Server/Auth/JWT.hs; error codes and messages
// are Hasura's (hs-jose's error names after "Could not verify JWT: ").
// The compact form is split here; signatures are checked by golang-jwt's
// signing methods and JWK sets parsed by go-jose (jwk.go).

const (
	defaultClaimsNamespace = "https://hasura.io/jwt/claims"
	allowedRolesClaim      = "x-hasura-allowed-roles"
	defaultRoleClaim       = "x-hasura-default-role"
	// maxTokenBytes refuses a token before any decoding. Real tokens are a
	// few KiB (cookies cannot exceed 4 KiB); Hasura has no limit.
	maxTokenBytes = 64 << 10
)

// jwtConfig is one parsed HASURA_GRAPHQL_JWT_SECRET(S) entry.
type jwtConfig struct {
	static   *verifyKey  // from "key"
	remote   *remoteKeys // from "jwk_url"
	audience []string    // nil: any audience
	issuer   *string     // nil: any issuer
	claims   claimsSpec
	skew     time.Duration
	loc      tokenLocation
}

// tokenLocation is where the token is read: Authorization: Bearer, a
// cookie, or a custom header (name lower-cased).
type tokenLocation struct {
	kind int
	name string
}

const (
	locAuthorization = iota
	locCookie
	locCustomHeader
)

// claimsSpec says where the Hasura claims are: an object (or a string of
// JSON) under a key or a JSON path, or a claims_map.
type claimsSpec struct {
	nsKey       string
	nsPath      jsonPath // non-nil: claims_namespace_path
	stringified bool
	cmap        *claimsMap
}

type claimsMap struct {
	allowedRoles claimValue
	defaultRole  claimValue
	others       map[string]claimValue // lower-cased x-hasura-* name
}

// claimValue is a claims_map entry: a literal, or a path into the token's
// claims with an optional default.
type claimValue struct {
	path   jsonPath // nil: literal
	value  any      // the literal, or the default
	hasDef bool
}

// parseJWTConfig reads Hasura's JSON configuration (JWTConfig's FromJSON).
// Unknown members are ignored and null is absent, as with aeson's .:?.
func parseJWTConfig(raw []byte) (*jwtConfig, error) {
	var o map[string]json.RawMessage
	if err := json.Unmarshal(raw, &o); err != nil || o == nil {
		return nil, errors.New("not a JSON object")
	}
	for k, v := range o {
		if string(v) == "null" {
			delete(o, k)
		}
	}
	str := func(k string) (string, bool, error) {
		v, ok := o[k]
		if !ok {
			return "", false, nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", true, fmt.Errorf("%s: expected a string", k)
		}
		return s, true, nil
	}
	c := &jwtConfig{}

	key, hasKey, err := str("key")
	if err != nil {
		return nil, err
	}
	jwkURL, hasURL, err := str("jwk_url")
	if err != nil {
		return nil, err
	}
	switch {
	case !hasKey && !hasURL:
		return nil, errors.New("key and jwk_url both cannot be empty")
	case hasKey && hasURL:
		return nil, errors.New("key, jwk_url both cannot be present")
	case hasKey:
		typ, ok, err := str("type")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errors.New(`key "type" not found`)
		}
		k, err := parseStaticKey(typ, key)
		if err != nil {
			return nil, fmt.Errorf("Invalid JWK: %v", err)
		}
		c.static = k
	default:
		u, err := url.Parse(jwkURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("jwk_url: expected an http or https URL")
		}
		c.remote = &remoteKeys{url: jwkURL}
	}

	ns, hasNS, err := str("claims_namespace")
	if err != nil {
		return nil, err
	}
	nsPath, hasNSPath, err := str("claims_namespace_path")
	if err != nil {
		return nil, err
	}
	switch {
	case hasNS && hasNSPath:
		return nil, errors.New("claims_namespace and claims_namespace_path both cannot be set")
	case hasNSPath:
		p, err := parseJSONPath(nsPath)
		if err != nil {
			return nil, fmt.Errorf("invalid JSON path claims_namespace_path error: %v", err)
		}
		c.claims.nsPath = p
	case hasNS:
		c.claims.nsKey = ns
	default:
		c.claims.nsKey = defaultClaimsNamespace
	}
	if f, ok, err := str("claims_format"); err != nil {
		return nil, err
	} else if ok {
		switch f {
		case "json":
		case "stringified_json":
			c.claims.stringified = true
		default:
			return nil, fmt.Errorf("claims_format: expected json or stringified_json, got %q", f)
		}
	}
	if v, ok := o["claims_map"]; ok {
		m, err := parseClaimsMap(v)
		if err != nil {
			return nil, fmt.Errorf("claims_map: %v", err)
		}
		c.claims.cmap = m
	}

	if v, ok := o["audience"]; ok {
		var one string
		if json.Unmarshal(v, &one) == nil {
			c.audience = []string{one}
		} else if err := json.Unmarshal(v, &c.audience); err != nil || c.audience == nil {
			return nil, errors.New("audience: expected a string or a list of strings")
		}
	}
	if iss, ok, err := str("issuer"); err != nil {
		return nil, err
	} else if ok {
		c.issuer = &iss
	}
	if v, ok := o["allowed_skew"]; ok {
		var secs float64
		if err := json.Unmarshal(v, &secs); err != nil || secs < 0 || secs > 1e9 {
			return nil, errors.New("allowed_skew: expected a number of seconds")
		}
		c.skew = time.Duration(secs * float64(time.Second))
	}
	if v, ok := o["header"]; ok {
		var hd struct {
			Type *string `json:"type"`
			Name *string `json:"name"`
		}
		if err := json.Unmarshal(v, &hd); err != nil || hd.Type == nil {
			return nil, errors.New("header: expected an object with a type")
		}
		needName := func() (string, error) {
			if hd.Name == nil || *hd.Name == "" {
				return "", fmt.Errorf("header: type %s needs a name", *hd.Type)
			}
			return *hd.Name, nil
		}
		switch strings.ToLower(*hd.Type) {
		case "authorization":
			c.loc = tokenLocation{kind: locAuthorization}
		case "cookie":
			n, err := needName()
			if err != nil {
				return nil, err
			}
			c.loc = tokenLocation{kind: locCookie, name: n}
		case "customheader":
			n, err := needName()
			if err != nil {
				return nil, err
			}
			c.loc = tokenLocation{kind: locCustomHeader, name: strings.ToLower(n)}
		default:
			return nil, errors.New("header: expected 'type' is 'Authorization' or 'Cookie' or 'CustomHeader'")
		}
	}
	return c, nil
}

// parseStaticKey turns "type" and "key" into a key bound to exactly that
// algorithm (Hasura binds the key type only; we also refuse, say, an
// HS512 token under an HS256 configuration).
func parseStaticKey(typ, key string) (*verifyKey, error) {
	switch typ {
	case "HS256", "HS384", "HS512":
		bits, _ := strconv.Atoi(typ[2:])
		// The secret is the string's bytes, not decoded, as in Hasura.
		if len(key) < bits/8 {
			return nil, fmt.Errorf("Key size too small; should be atleast %d characters", bits/8)
		}
		return &verifyKey{algs: []string{typ}, key: []byte(key)}, nil
	case "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "Ed25519":
		pub, err := parsePublicPEM(key)
		if err != nil {
			return nil, fmt.Errorf("Could not decode PEM: %v", err)
		}
		alg := typ
		if typ == "Ed25519" {
			alg = "EdDSA"
		}
		if !slices.Contains(algsFor(pub), alg) {
			return nil, fmt.Errorf("the PEM key does not fit type %s", typ)
		}
		return &verifyKey{algs: []string{alg}, key: pub}, nil
	}
	return nil, fmt.Errorf("Key type: %s is not supported", typ)
}

// parsePublicPEM reads the first PEM block as a PKCS#1 RSA public key, a
// PKIX public key or an X.509 certificate, as Hasura accepts.
func parsePublicPEM(s string) (any, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("No pem found")
	}
	var pub any
	var err error
	switch block.Type {
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = cert.PublicKey
		}
	default:
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	}
	if err != nil {
		return nil, errors.New("Could not decode public key")
	}
	switch pub.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return pub, nil
	}
	return nil, errors.New("Could not decode RSA, EdDSA or EC public key")
}

func parseClaimsMap(raw json.RawMessage) (*claimsMap, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, errors.New("expected an object")
	}
	m := &claimsMap{others: map[string]claimValue{}}
	for _, k := range []string{allowedRolesClaim, defaultRoleClaim} {
		v, ok := obj[k]
		if !ok {
			return nil, fmt.Errorf("%s is expected but not found", k)
		}
		cv, err := parseClaimValue(v, func(x any) error {
			var aerr *apierr.Error
			if k == allowedRolesClaim {
				_, aerr = parseRoles(x, k, "")
			} else {
				_, aerr = parseRole(x, k, "")
			}
			if aerr != nil {
				return aerr // not a typed nil: only when set
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
		if k == allowedRolesClaim {
			m.allowedRoles = cv
		} else {
			m.defaultRole = cv
		}
	}
	for k, v := range obj {
		lk := strings.ToLower(k)
		if !isSessionVar(lk) || lk == allowedRolesClaim || lk == defaultRoleClaim {
			continue // Hasura keeps the x-hasura-* entries only
		}
		cv, err := parseClaimValue(v, func(x any) error {
			if _, ok := x.(string); !ok {
				return errors.New("expected a string")
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
		m.others[lk] = cv
	}
	return m, nil
}

// parseClaimValue reads {"path": ..., "default": ...} or a literal; check
// validates the literal or the default.
func parseClaimValue(raw json.RawMessage, check func(any) error) (claimValue, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return claimValue{}, err
	}
	obj, isObj := v.(map[string]any)
	if !isObj {
		return claimValue{value: v}, check(v)
	}
	p, ok := obj["path"].(string)
	if !ok {
		return claimValue{}, errors.New(`key "path" not found`)
	}
	path, err := parseJSONPath(p)
	if err != nil {
		return claimValue{}, fmt.Errorf("invalid JSON path: %v", err)
	}
	cv := claimValue{path: path}
	if d, ok := obj["default"]; ok && d != nil {
		if err := check(d); err != nil {
			return claimValue{}, fmt.Errorf("default: %v", err)
		}
		cv.value, cv.hasDef = d, true
	}
	return cv, nil
}

// decodeJSON decodes one JSON value, keeping numbers as written.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

// resolveJWT is Hasura's processJwt_: find the tokens at each
// configuration's location, drop those whose (unverified) issuer another
// configuration owns, and verify exactly one.
func (r *Resolver) resolveJWT(ctx context.Context, h http.Header) (*Session, *apierr.Error) {
	type candidate struct {
		c     *jwtConfig
		token string
	}
	var found []candidate
	wrongIssuer := 0
	for _, c := range r.jwt {
		for _, v := range c.loc.values(h) {
			if len(v) > maxTokenBytes+len("Bearer ")+8 {
				return nil, errTokenTooLarge()
			}
			tok, aerr := c.loc.token(v)
			if aerr != nil {
				return nil, aerr
			}
			if len(tok) > maxTokenBytes {
				return nil, errTokenTooLarge()
			}
			if c.issuer != nil {
				if iss, ok := unverifiedIssuer(tok); ok && iss != *c.issuer {
					wrongIssuer++
					continue
				}
			}
			found = append(found, candidate{c, tok})
		}
	}
	switch {
	case len(found) == 0 && wrongIssuer == 0:
		return r.unauthorized(h, apierr.BadRequest(CodeInvalidHeaders, "Missing 'Authorization' or 'Cookie' header in JWT authentication mode"))
	case len(found) == 0:
		return nil, invalidJWT("JWTNotInIssuer")
	case len(found) > 1:
		return nil, apierr.BadRequest(CodeInvalidHeaders, "Could not verify JWT: Multiple JWTs found")
	}
	c := found[0].c
	payload, exp, aerr := c.verify(ctx, found[0].token, r.now())
	if aerr != nil {
		return nil, aerr
	}
	claims, aerr := c.claims.extract(payload)
	if aerr != nil {
		return nil, aerr
	}
	return sessionFromClaims(claims, h, exp)
}

// values are the raw header values at the location.
func (l tokenLocation) values(h http.Header) []string {
	switch l.kind {
	case locCookie:
		var out []string
		for _, line := range h.Values("Cookie") {
			for _, part := range strings.Split(line, ";") {
				name, value, ok := strings.Cut(part, "=")
				if ok && strings.TrimSpace(name) == l.name {
					out = append(out, strings.TrimSpace(value))
				}
			}
		}
		return out
	case locCustomHeader:
		return h.Values(l.name)
	}
	return h.Values("Authorization")
}

// token takes the JWT out of a header value: "Bearer <jwt>" exactly for
// Authorization, the value itself elsewhere.
func (l tokenLocation) token(v string) (string, *apierr.Error) {
	if l.kind != locAuthorization {
		return v, nil
	}
	f := strings.Fields(v)
	if len(f) != 2 || f[0] != "Bearer" {
		return "", apierr.BadRequest(CodeInvalidHeaders, "Malformed Authorization header")
	}
	return f[1], nil
}

// unverifiedIssuer reads iss without checking anything, only to pick the
// configuration a token belongs to (Hasura's tokenIssuer).
func unverifiedIssuer(tok string) (string, bool) {
	parts := strings.SplitN(tok, ".", 4)
	if len(parts) < 3 {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var c struct {
		Iss *string `json:"iss"`
	}
	if json.Unmarshal(b, &c) != nil || c.Iss == nil {
		return "", false
	}
	return *c.Iss, true
}

func invalidJWT(reason string) *apierr.Error {
	return apierr.BadRequest(CodeInvalidJWT, "Could not verify JWT: %s", reason)
}

func errTokenTooLarge() *apierr.Error {
	return invalidJWT(fmt.Sprintf("JWSError (CompactDecodeError the token is larger than %d bytes)", maxTokenBytes))
}

func jwsDecodeError(what string) *apierr.Error {
	return invalidJWT(fmt.Sprintf("JWSError (JSONDecodeError %q)", what))
}

func claimsDecodeError(what string) *apierr.Error {
	return invalidJWT(fmt.Sprintf("JWTClaimsSetDecodeError %q", what))
}

// verify checks the token's signature and then its registered claims, in
// hs-jose's order (exp, iat, nbf, iss, aud), and returns its claims and
// expiry. Messages never quote the token.
func (c *jwtConfig) verify(ctx context.Context, tok string, now time.Time) (map[string]any, time.Time, *apierr.Error) {
	if n := strings.Count(tok, ".") + 1; n != 3 {
		return nil, time.Time{}, invalidJWT(fmt.Sprintf("JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got %d)", n))
	}
	parts := strings.Split(tok, ".")
	hb, err := base64.RawURLEncoding.Strict().DecodeString(parts[0])
	if err != nil {
		return nil, time.Time{}, jwsDecodeError("Error in $: invalid base64url in the JWS header")
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(hb, &hdr); err != nil || hdr == nil {
		return nil, time.Time{}, jwsDecodeError("Error in $: the JWS header is not a JSON object")
	}
	var alg, kid string
	if json.Unmarshal(hdr["alg"], &alg) != nil {
		return nil, time.Time{}, jwsDecodeError(`Error in $: key "alg" not found`)
	}
	if v, ok := hdr["kid"]; ok && json.Unmarshal(v, &kid) != nil {
		return nil, time.Time{}, jwsDecodeError("Error in $.kid: expected String")
	}
	if _, ok := hdr["crit"]; ok {
		// No extension is understood, so a critical one must be refused
		// (RFC 7515 §4.1.11); b64:false (RFC 7797) arrives this way.
		return nil, time.Time{}, invalidJWT("JWSError JWSCritUnprotected")
	}
	switch alg {
	case "none":
		// hs-jose does not validate "none" signatures, leaving none at all.
		return nil, time.Time{}, invalidJWT("JWSError JWSNoSignatures")
	case "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA":
	default:
		return nil, time.Time{}, invalidJWT("JWSError AlgorithmNotImplemented")
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil {
		return nil, time.Time{}, jwsDecodeError("Error in $: invalid base64url in the JWS signature")
	}
	var keys []verifyKey
	if c.static != nil {
		keys = []verifyKey{*c.static} // a configured key ignores kid
	} else {
		keys = c.remote.keysFor(ctx, kid)
	}
	if len(keys) == 0 {
		return nil, time.Time{}, invalidJWT("JWSError NoUsableKeys")
	}
	method := jwt.GetSigningMethod(alg)
	signed := tok[:len(parts[0])+1+len(parts[1])]
	ok := false
	for i := range keys {
		// A key checks only the algorithms of its type: this is where an
		// HS256 token meets an RSA key and fails.
		if method != nil && keys[i].allows(alg) && method.Verify(signed, sig, keys[i].key) == nil {
			ok = true
			break
		}
	}
	if !ok {
		return nil, time.Time{}, invalidJWT("JWSError JWSInvalidSignature")
	}

	pb, err := base64.RawURLEncoding.Strict().DecodeString(parts[1])
	if err != nil {
		return nil, time.Time{}, jwsDecodeError("Error in $: invalid base64url in the JWS payload")
	}
	v, err := decodeJSON(pb)
	if err != nil {
		return nil, time.Time{}, claimsDecodeError("Error in $: Failed reading: not a valid json value")
	}
	claims, isObj := v.(map[string]any)
	if !isObj {
		return nil, time.Time{}, claimsDecodeError("Error in $: parsing JWT Claims Set failed, expected Object, but encountered " + jsonKind(v))
	}
	exp, aerr := numericDate(claims, "exp")
	if aerr != nil {
		return nil, time.Time{}, aerr
	}
	iat, aerr := numericDate(claims, "iat")
	if aerr != nil {
		return nil, time.Time{}, aerr
	}
	nbf, aerr := numericDate(claims, "nbf")
	if aerr != nil {
		return nil, time.Time{}, aerr
	}
	for _, k := range []string{"iss", "sub", "jti"} {
		if x, ok := claims[k]; ok && x != nil {
			if _, isStr := x.(string); !isStr {
				return nil, time.Time{}, claimsDecodeError(fmt.Sprintf("Error in $.%s: parsing StringOrURI failed, expected String, but encountered %s", k, jsonKind(x)))
			}
		}
	}
	auds, hasAud, aerr := audienceClaim(claims)
	if aerr != nil {
		return nil, time.Time{}, aerr
	}

	if !exp.IsZero() && !now.Before(exp.Add(c.skew)) {
		return nil, time.Time{}, invalidJWT("JWTExpired")
	}
	if !iat.IsZero() && iat.After(now.Add(c.skew)) {
		return nil, time.Time{}, invalidJWT("JWTIssuedAtFuture")
	}
	if !nbf.IsZero() && now.Before(nbf.Add(-c.skew)) {
		return nil, time.Time{}, invalidJWT("JWTNotYetValid")
	}
	// Like Hasura (hs-jose), iss and aud are checked when the token has
	// them: a token without either is not refused for that.
	if iss, ok := claims["iss"].(string); ok && c.issuer != nil && iss != *c.issuer {
		return nil, time.Time{}, invalidJWT("JWTNotInIssuer")
	}
	if hasAud && !slices.ContainsFunc(auds, func(a string) bool { return c.audience == nil || slices.Contains(c.audience, a) }) {
		return nil, time.Time{}, invalidJWT("JWTNotInAudience")
	}
	return claims, exp, nil
}

// numericDate reads exp/iat/nbf: seconds since the epoch, fractions kept.
func numericDate(claims map[string]any, k string) (time.Time, *apierr.Error) {
	x, ok := claims[k]
	if !ok || x == nil {
		return time.Time{}, nil
	}
	n, isNum := x.(json.Number)
	var f float64
	var err error
	if isNum {
		f, err = n.Float64()
	}
	if !isNum || err != nil || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
		return time.Time{}, claimsDecodeError(fmt.Sprintf("Error in $.%s: parsing NumericDate failed, expected Number, but encountered %s", k, jsonKind(x)))
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// audienceClaim reads aud: a string or a list of strings.
func audienceClaim(claims map[string]any) ([]string, bool, *apierr.Error) {
	x, ok := claims["aud"]
	if !ok || x == nil {
		return nil, false, nil
	}
	bad := claimsDecodeError("Error in $.aud: parsing Audience failed, expected String or Array of String, but encountered " + jsonKind(x))
	switch a := x.(type) {
	case string:
		return []string{a}, true, nil
	case []any:
		out := make([]string, 0, len(a))
		for _, e := range a {
			s, ok := e.(string)
			if !ok {
				return nil, false, bad
			}
			out = append(out, s)
		}
		return out, true, nil
	}
	return nil, false, bad
}

// registeredClaims are not "unregistered claims", where Hasura looks for
// the claims namespace.
var registeredClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

// extract finds the Hasura claims in the token's claims (Hasura's
// parseClaimsMap): lower-cased x-hasura-* names to their JSON values.
func (s *claimsSpec) extract(claims map[string]any) (map[string]any, *apierr.Error) {
	if s.cmap != nil {
		return s.cmap.extract(claims)
	}
	unregistered := make(map[string]any, len(claims))
	for k, v := range claims {
		if !slices.Contains(registeredClaims, k) {
			unregistered[k] = v
		}
	}
	var v any
	var found bool
	location := "claims_namespace " + s.nsKey
	if s.nsPath != nil {
		v, found = s.nsPath.get(unregistered)
		location = "claims_namespace_path " + s.nsPath.String()
		if !found {
			return nil, apierr.BadRequest(CodeJWTInvalidClaims, "claims not found at claims_namespace_path: '%s'", s.nsPath.String())
		}
	} else if v, found = unregistered[s.nsKey]; !found {
		return nil, apierr.BadRequest(CodeJWTInvalidClaims, "claims key: '%s' not found", s.nsKey)
	}
	var obj map[string]any
	if s.stringified {
		str, ok := v.(string)
		if !ok {
			return nil, apierr.BadRequest(CodeJWTInvalidClaims, "expecting a string when claims_format is stringified_json")
		}
		parsed, err := decodeJSON([]byte(str))
		if obj, ok = parsed.(map[string]any); err != nil || !ok {
			return nil, apierr.BadRequest(CodeJWTInvalidClaims, "expecting stringified json at: '%s', but found: %s", location, str)
		}
	} else {
		var ok bool
		if obj, ok = v.(map[string]any); !ok {
			return nil, apierr.BadRequest(CodeJWTInvalidClaims, "expecting a json object when claims_format is json")
		}
	}
	out := map[string]any{}
	for k, v := range obj {
		if lk := strings.ToLower(k); isSessionVar(lk) {
			out[lk] = v
		}
	}
	return out, nil
}

func (m *claimsMap) extract(claims map[string]any) (map[string]any, *apierr.Error) {
	lookup := func(cv claimValue) (any, bool) {
		if cv.path == nil {
			return cv.value, true
		}
		if v, ok := cv.path.get(claims); ok {
			return v, true
		}
		return cv.value, cv.hasDef
	}
	out := map[string]any{}
	for _, k := range []string{allowedRolesClaim, defaultRoleClaim} {
		cv := m.allowedRoles
		if k == defaultRoleClaim {
			cv = m.defaultRole
		}
		v, ok := lookup(cv)
		if !ok {
			return nil, apierr.BadRequest(CodeJWTRoleClaimMissing, "JWT claim does not contain %s", k)
		}
		var aerr *apierr.Error
		if k == allowedRolesClaim {
			_, aerr = parseRoles(v, k, "should be a list of roles")
		} else {
			_, aerr = parseRole(v, k, "should be a role")
		}
		if aerr != nil {
			return nil, aerr
		}
		out[k] = v
	}
	for k, cv := range m.others {
		v, ok := lookup(cv)
		if !ok {
			return nil, apierr.BadRequest(CodeJWTInvalidClaims, "JWT claim from claims_map, %s not found", k)
		}
		out[k] = v
	}
	return out, nil
}

// parseRoles reads x-hasura-allowed-roles: a list of non-empty strings.
func parseRoles(v any, claim, hint string) ([]string, *apierr.Error) {
	list, ok := v.([]any)
	if !ok {
		return nil, invalidClaim(claim, hint, "parsing [] failed, expected Array, but encountered "+jsonKind(v))
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		r, aerr := parseRole(e, claim, hint)
		if aerr != nil {
			return nil, aerr
		}
		out = append(out, r)
	}
	return out, nil
}

// parseRole reads one role name: a non-empty string.
func parseRole(v any, claim, hint string) (string, *apierr.Error) {
	s, ok := v.(string)
	if !ok {
		return "", invalidClaim(claim, hint, "parsing String failed, expected String, but encountered "+jsonKind(v))
	}
	if s == "" {
		return "", invalidClaim(claim, hint, "empty string not allowed")
	}
	return s, nil
}

func invalidClaim(claim, hint, detail string) *apierr.Error {
	if hint == "" {
		return apierr.BadRequest(CodeJWTInvalidClaims, "invalid %s: %s", claim, detail)
	}
	return apierr.BadRequest(CodeJWTInvalidClaims, "invalid %s; %s: %s", claim, hint, detail)
}

// sessionFromClaims is Hasura's withAuthZ: the role is X-Hasura-Role if
// sent, else the default role, and must be allowed; the other x-hasura-*
// claims, all strings, are the session variables. Request headers add
// nothing: the token alone speaks for a non-admin.
func sessionFromClaims(claims map[string]any, h http.Header, exp time.Time) (*Session, *apierr.Error) {
	raw, ok := claims[allowedRolesClaim]
	if !ok {
		return nil, apierr.BadRequest(CodeJWTRoleClaimMissing, "JWT claim does not contain %s", allowedRolesClaim)
	}
	allowed, aerr := parseRoles(raw, allowedRolesClaim, "should be a list of roles")
	if aerr != nil {
		return nil, aerr
	}
	if raw, ok = claims[defaultRoleClaim]; !ok {
		return nil, apierr.BadRequest(CodeJWTRoleClaimMissing, "JWT claim does not contain %s", defaultRoleClaim)
	}
	role, aerr := parseRole(raw, defaultRoleClaim, "should be a single role name")
	if aerr != nil {
		return nil, aerr
	}
	if requested := h.Get("X-Hasura-Role"); requested != "" {
		role = requested
	}
	if !slices.Contains(allowed, role) {
		return nil, apierr.BadRequest(apierr.CodeAccessDenied, "Your requested role is not in allowed roles")
	}
	vars := map[string]string{}
	for k, v := range claims {
		if k == allowedRolesClaim || k == defaultRoleClaim {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, apierr.BadRequest(CodeJWTInvalidClaims, "x-hasura-* claims: parsing Text failed, expected String, but encountered %s", jsonKind(v))
		}
		if !isSecretVar(k) {
			vars[k] = s
		}
	}
	vars["x-hasura-role"] = role
	return &Session{Role: role, Vars: vars, Expires: exp}, nil
}

// jsonKind names a decoded JSON value's type as aeson's errors do.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "Null"
	case bool:
		return "Boolean"
	case json.Number, float64:
		return "Number"
	case string:
		return "String"
	case []any:
		return "Array"
	}
	return "Object"
}

// jsonPath is Hasura's JSON path (Data.Parser.JSONPath): $ then .name,
// [index], ["name"] or ['name'] elements.
type jsonPath []pathElem

type pathElem struct {
	key   string
	index int
	isIdx bool
}

// parseJSONPath accepts what Hasura's parser accepts: an optional leading
// $, names of letters, digits, _ and - (not starting with a digit or -),
// and bracketed indexes or quoted names.
func parseJSONPath(s string) (jsonPath, error) {
	invalid := fmt.Errorf(`%s. Accept letters, digits, underscore (_) or hyphen (-) only. Use quotes enclosed in bracket (["..."]) if there is any special character`, s)
	if s == "$" {
		return jsonPath{}, nil
	}
	rs := []rune(strings.TrimPrefix(s, "$"))
	var p jsonPath
	for i := 0; i < len(rs); {
		if rs[i] == '.' {
			i++
		}
		if i >= len(rs) {
			return nil, invalid
		}
		if rs[i] == '[' {
			e, n, ok := parseBracket(rs[i:])
			if !ok {
				return nil, invalid
			}
			p, i = append(p, e), i+n
			continue
		}
		if !unicode.IsLetter(rs[i]) && rs[i] != '_' {
			return nil, invalid
		}
		j := i + 1
		for j < len(rs) && (unicode.IsLetter(rs[j]) || (rs[j] >= '0' && rs[j] <= '9') || rs[j] == '_' || rs[j] == '-') {
			j++
		}
		p, i = append(p, pathElem{key: string(rs[i:j])}), j
	}
	if len(p) == 0 {
		return nil, invalid
	}
	return p, nil
}

// parseBracket reads [123], ["name"] or ['name'] (JSON string escapes
// inside quotes) and says how many runes it took.
func parseBracket(rs []rune) (pathElem, int, bool) {
	if len(rs) < 3 {
		return pathElem{}, 0, false
	}
	if q := rs[1]; q == '"' || q == '\'' {
		var b strings.Builder
		for i := 2; i < len(rs); i++ {
			switch {
			case rs[i] == '\\' && i+1 < len(rs):
				if q == '\'' && rs[i+1] == '\'' {
					b.WriteRune('\'')
				} else {
					b.WriteRune('\\')
					b.WriteRune(rs[i+1])
				}
				i++
			case rs[i] == q:
				if i+1 >= len(rs) || rs[i+1] != ']' {
					return pathElem{}, 0, false
				}
				var key string
				if json.Unmarshal([]byte(`"`+b.String()+`"`), &key) != nil {
					return pathElem{}, 0, false
				}
				return pathElem{key: key}, i + 2, true
			case rs[i] == '"':
				b.WriteString(`\"`)
			default:
				b.WriteRune(rs[i])
			}
		}
		return pathElem{}, 0, false
	}
	j := 1
	for j < len(rs) && rs[j] >= '0' && rs[j] <= '9' {
		j++
	}
	if j == 1 || j >= len(rs) || rs[j] != ']' {
		return pathElem{}, 0, false
	}
	n, err := strconv.Atoi(string(rs[1:j]))
	if err != nil {
		return pathElem{}, 0, false
	}
	return pathElem{index: n, isIdx: true}, j + 1, true
}

// get follows the path: names into objects, indexes into arrays.
func (p jsonPath) get(v any) (any, bool) {
	for _, e := range p {
		if e.isIdx {
			a, ok := v.([]any)
			if !ok || e.index >= len(a) {
				return nil, false
			}
			v = a[e.index]
			continue
		}
		o, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = o[e.key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// String writes the path as Hasura's encodeJSONPath does, for messages.
func (p jsonPath) String() string {
	var b strings.Builder
	b.WriteString("$")
	for _, e := range p {
		switch {
		case e.isIdx:
			fmt.Fprintf(&b, "[%d]", e.index)
		case plainName(e.key):
			b.WriteString("." + e.key)
		default:
			q, _ := json.Marshal(e.key)
			b.WriteString("[" + string(q) + "]")
		}
	}
	return b.String()
}

func plainName(k string) bool {
	for i, r := range k {
		letter := (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r == '_'
		if !letter && (i == 0 || !((r >= '0' && r <= '9') || r == '-')) {
			return false
		}
	}
	return k != ""
}
