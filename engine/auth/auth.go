// Package auth resolves who is asking: the role and session variables of a
// request, as Hasura v2 does (Server/Auth.hs).
//
// The modes are Hasura's: no auth (every request is admin), the admin secret
// alone (several accepted, compared in constant time, with an optional
// unauthorized role), and the admin secret together with either JWT
// (jwt.go, keys in jwk.go) or an auth webhook (webhook.go). A valid admin
// secret always wins: the request is admin and may act as any role through
// X-Hasura-Role and X-Hasura-* headers.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/strata-dev/strata/engine/apierr"
)

// AdminRole is the built-in role that bypasses permissions.
const AdminRole = "admin"

// Hasura's error codes for authentication (Base/Error.hs) that apierr does
// not list: only this package emits them.
const (
	CodeInvalidJWT          = "invalid-jwt"
	CodeJWTInvalidClaims    = "jwt-invalid-claims"
	CodeJWTRoleClaimMissing = "jwt-missing-role-claims"
	CodeInvalidHeaders      = "invalid-headers"
)

// Session is the resolved identity of a request.
type Session struct {
	Role string
	// Vars are the x-hasura-* session variables, keys lower-cased, the
	// role included as x-hasura-role.
	Vars map[string]string
	// Expires is when the credentials the session came from stop being
	// valid: the JWT's exp claim, or the Expires/Cache-Control the auth
	// webhook returned. Zero when unknown. A long-lived connection (a
	// websocket) should end when it passes, as Hasura closes it.
	Expires time.Time
	// SetCookie are the Set-Cookie headers the auth webhook answered
	// with; Hasura passes them on in the response to the client.
	SetCookie []string
}

// IsAdmin reports whether the session acts as admin.
func (s *Session) IsAdmin() bool { return s.Role == AdminRole }

// Options configure a Resolver. The zero value is no auth.
type Options struct {
	// AdminSecrets: none means no auth, unless JWT or Hook is set, which
	// (as in Hasura) require one.
	AdminSecrets []string
	// UnauthorizedRole is the role of requests without credentials (admin
	// secret or JWT modes only).
	UnauthorizedRole string
	// JWT holds raw JSON JWT configurations: HASURA_GRAPHQL_JWT_SECRET and
	// each element of HASURA_GRAPHQL_JWT_SECRETS.
	JWT []string
	// Hook is the auth webhook URL, HookMode "GET" (default) or "POST".
	Hook     string
	HookMode string
	// HookOmitRequest keeps the GraphQL request out of a POST hook's body
	// (HASURA_GRAPHQL_AUTH_HOOK_SEND_REQUEST_BODY=false); see
	// WithGraphQLRequest.
	HookOmitRequest bool
	// HTTPClient fetches JWK sets and calls the webhook; nil uses a client
	// with a 30s timeout.
	HTTPClient *http.Client
	// Log gets JWK refreshes and webhook failures; nil discards.
	Log *slog.Logger
	// Now is the clock for token times, JWK expiry and the webhook cache;
	// nil is time.Now. Tests move it instead of sleeping.
	Now func() time.Time

	// startupBackoff is the first wait between start-up JWK fetch attempts
	// (0: Hasura's 200ms); tests shorten it.
	startupBackoff time.Duration
}

// ConfigError is an invalid JWT configuration; Index is its position in
// Options.JWT, so the caller can name the setting it came from.
type ConfigError struct {
	Index int
	Err   error
}

func (e *ConfigError) Error() string { return fmt.Sprintf("JWT configuration %d: %v", e.Index, e.Err) }
func (e *ConfigError) Unwrap() error { return e.Err }

// Resolver turns request headers into a Session.
type Resolver struct {
	secrets          [][sha256.Size]byte // digests, so comparison time says nothing about length
	unauthorizedRole string
	jwt              []*jwtConfig // JWT mode when non-empty
	hook             *webhook     // webhook mode when non-nil
	now              func() time.Time
}

// Hasura's start-up refusals (Server/Auth.hs setupAuthMode), worded with
// the environment variables an operator sets.
var (
	errJWTAndHook         = errors.New("both webhook and JWT mode cannot be enabled at the same time (HASURA_GRAPHQL_AUTH_HOOK and HASURA_GRAPHQL_JWT_SECRET)")
	errJWTNeedsSecret     = errors.New("HASURA_GRAPHQL_JWT_SECRET requires HASURA_GRAPHQL_ADMIN_SECRET to be set")
	errHookNeedsSecret    = errors.New("HASURA_GRAPHQL_AUTH_HOOK requires HASURA_GRAPHQL_ADMIN_SECRET to be set")
	errHookWithUnauthRole = errors.New("HASURA_GRAPHQL_UNAUTHORIZED_ROLE is not allowed when HASURA_GRAPHQL_AUTH_HOOK is set")
)

// NewResolver validates the configuration the way Hasura's start-up does.
// With a jwk_url it fetches the key set once (retrying briefly, as Hasura
// does) and fails if it cannot: Hasura refuses to start then too.
func NewResolver(o Options) (*Resolver, error) {
	r := &Resolver{unauthorizedRole: o.UnauthorizedRole, now: o.Now}
	if r.now == nil {
		r.now = time.Now
	}
	for _, s := range o.AdminSecrets {
		r.secrets = append(r.secrets, sha256.Sum256([]byte(s)))
	}
	switch {
	case len(o.JWT) > 0 && o.Hook != "":
		return nil, errJWTAndHook
	case len(o.JWT) > 0 && len(r.secrets) == 0:
		return nil, errJWTNeedsSecret
	case o.Hook != "" && len(r.secrets) == 0:
		return nil, errHookNeedsSecret
	case o.Hook != "" && o.UnauthorizedRole != "":
		return nil, errHookWithUnauthRole
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := o.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	seen := map[string]bool{}
	for i, raw := range o.JWT {
		if seen[raw] { // Hasura drops duplicate configurations (L.nub)
			continue
		}
		seen[raw] = true
		c, err := parseJWTConfig([]byte(raw))
		if err != nil {
			return nil, &ConfigError{Index: i, Err: err}
		}
		if c.remote != nil {
			c.remote.init(client, log, r.now)
			if err := c.remote.startupFetch(o.startupBackoff); err != nil {
				return nil, &ConfigError{Index: i, Err: err}
			}
		}
		r.jwt = append(r.jwt, c)
	}
	if o.Hook != "" {
		h, err := newWebhook(o.Hook, o.HookMode, !o.HookOmitRequest, client, log, r.now)
		if err != nil {
			return nil, err
		}
		r.hook = h
	}
	return r, nil
}

// Hasura's messages for the admin secret.
const (
	msgInvalidSecret = "invalid x-hasura-admin-secret/x-hasura-access-key"
	msgSecretMissing = "x-hasura-admin-secret/x-hasura-access-key required, but not found"
)

// Resolve returns the request's session or Hasura's error for it. ctx
// bounds the webhook call and a JWK refresh.
func (r *Resolver) Resolve(ctx context.Context, h http.Header) (*Session, *apierr.Error) {
	if len(r.secrets) == 0 {
		vars := sessionVars(h)
		return withRole(vars, vars["x-hasura-role"]), nil
	}
	given, sent := secretHeader(h)
	if sent {
		if !r.matches(given) {
			return nil, apierr.New(http.StatusUnauthorized, apierr.CodeAccessDenied, msgInvalidSecret)
		}
		vars := sessionVars(h)
		return withRole(vars, vars["x-hasura-role"]), nil
	}
	switch {
	case len(r.jwt) > 0:
		return r.resolveJWT(ctx, h)
	case r.hook != nil:
		return r.hook.resolve(ctx, h)
	}
	return r.unauthorized(h, apierr.New(http.StatusUnauthorized, apierr.CodeAccessDenied, msgSecretMissing))
}

// unauthorized is a request without credentials: the unauthorized role
// with its x-hasura-* headers, or err.
func (r *Resolver) unauthorized(h http.Header, err *apierr.Error) (*Session, *apierr.Error) {
	if r.unauthorizedRole == "" {
		return nil, err
	}
	// The role header of an unauthenticated request is ignored: it cannot
	// choose its role.
	return withRole(sessionVars(h), r.unauthorizedRole), nil
}

func (r *Resolver) matches(given string) bool {
	d := sha256.Sum256([]byte(given))
	ok := 0
	for _, s := range r.secrets {
		ok |= subtle.ConstantTimeCompare(d[:], s[:])
	}
	return ok == 1
}

// secretHeader reads X-Hasura-Admin-Secret or its deprecated name
// X-Hasura-Access-Key.
func secretHeader(h http.Header) (string, bool) {
	for _, k := range []string{"X-Hasura-Admin-Secret", "X-Hasura-Access-Key"} {
		if v, ok := h[k]; ok && len(v) > 0 {
			return v[0], true
		}
	}
	return "", false
}

// sessionVars collects x-hasura-* headers other than the secrets.
func sessionVars(h http.Header) map[string]string {
	vars := map[string]string{}
	for k, v := range h {
		lk := strings.ToLower(k)
		if !isSessionVar(lk) || isSecretVar(lk) || len(v) == 0 {
			continue
		}
		vars[lk] = v[0]
	}
	return vars
}

// isSessionVar: Hasura's session variables are the names starting with
// x-hasura- (lk is lower-cased).
func isSessionVar(lk string) bool { return strings.HasPrefix(lk, "x-hasura-") }

// isSecretVar: the admin secret never becomes a session variable, whoever
// sends it (Hasura's mkUserInfo drops both names).
func isSecretVar(lk string) bool { return lk == "x-hasura-admin-secret" || lk == "x-hasura-access-key" }

func withRole(vars map[string]string, role string) *Session {
	if role == "" {
		role = AdminRole
	}
	vars["x-hasura-role"] = role
	return &Session{Role: role, Vars: vars}
}
