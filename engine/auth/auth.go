// Package auth resolves who is asking: the role and session variables of a
// request, as Hasura v2 does (Server/Auth.hs).
//
// Implemented today: no auth (every request is admin), the admin secret
// (several accepted, compared in constant time), the X-Hasura-Role switch
// for admins, X-Hasura-* session variables and the unauthorized role. JWT
// and the auth webhook plug in as further modes of Resolver.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/strata-dev/strata/engine/apierr"
)

// AdminRole is the built-in role that bypasses permissions.
const AdminRole = "admin"

// Session is the resolved identity of a request.
type Session struct {
	Role string
	// Vars are the x-hasura-* session variables, keys lower-cased, the
	// role included as x-hasura-role.
	Vars map[string]string
}

// IsAdmin reports whether the session acts as admin.
func (s *Session) IsAdmin() bool { return s.Role == AdminRole }

// Resolver turns request headers into a Session.
type Resolver struct {
	secrets          [][sha256.Size]byte // digests, so comparison time says nothing about length
	unauthorizedRole string
}

// NewResolver configures admin secrets (none = no auth) and the role of
// requests without credentials.
func NewResolver(adminSecrets []string, unauthorizedRole string) *Resolver {
	r := &Resolver{unauthorizedRole: unauthorizedRole}
	for _, s := range adminSecrets {
		r.secrets = append(r.secrets, sha256.Sum256([]byte(s)))
	}
	return r
}

// Hasura's messages for the admin secret.
const (
	msgInvalidSecret = "invalid x-hasura-admin-secret/x-hasura-access-key"
	msgSecretMissing = "x-hasura-admin-secret/x-hasura-access-key required, but not found"
)

// Resolve returns the request's session, or Hasura's 401 access-denied.
func (r *Resolver) Resolve(h http.Header) (*Session, *apierr.Error) {
	vars := sessionVars(h)
	if len(r.secrets) == 0 {
		return withRole(vars, vars["x-hasura-role"]), nil
	}
	given, sent := secretHeader(h)
	if sent {
		if !r.matches(given) {
			return nil, apierr.New(http.StatusUnauthorized, apierr.CodeAccessDenied, msgInvalidSecret)
		}
		return withRole(vars, vars["x-hasura-role"]), nil
	}
	if r.unauthorizedRole != "" {
		// The role header of an unauthenticated request is ignored: it
		// cannot choose its role.
		return withRole(vars, r.unauthorizedRole), nil
	}
	return nil, apierr.New(http.StatusUnauthorized, apierr.CodeAccessDenied, msgSecretMissing)
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
		if !strings.HasPrefix(lk, "x-hasura-") || lk == "x-hasura-admin-secret" || lk == "x-hasura-access-key" || len(v) == 0 {
			continue
		}
		vars[lk] = v[0]
	}
	return vars
}

func withRole(vars map[string]string, role string) *Session {
	if role == "" {
		role = AdminRole
	}
	vars["x-hasura-role"] = role
	return &Session{Role: role, Vars: vars}
}
