package auth

import (
	"context"
	"net/http"
	"testing"
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestResolve(t *testing.T) {
	open := mustResolver(t, Options{})
	locked := mustResolver(t, Options{AdminSecrets: []string{"s3cret", "rotated"}})
	anon := mustResolver(t, Options{AdminSecrets: []string{"s3cret"}, UnauthorizedRole: "anonymous"})

	for _, tc := range []struct {
		name     string
		r        *Resolver
		h        http.Header
		role     string
		userID   string
		deniedIs string
	}{
		{"no auth: admin", open, hdr(), "admin", "", ""},
		{"no auth: role header", open, hdr("X-Hasura-Role", "user", "X-Hasura-User-Id", "7"), "user", "7", ""},
		{"secret", locked, hdr("X-Hasura-Admin-Secret", "s3cret"), "admin", "", ""},
		{"second secret", locked, hdr("X-Hasura-Admin-Secret", "rotated"), "admin", "", ""},
		{"deprecated header", locked, hdr("X-Hasura-Access-Key", "s3cret"), "admin", "", ""},
		{"admin acts as user", locked, hdr("X-Hasura-Admin-Secret", "s3cret", "X-Hasura-Role", "user", "X-Hasura-User-Id", "1"), "user", "1", ""},
		{"wrong secret", locked, hdr("X-Hasura-Admin-Secret", "nope"), "", "", msgInvalidSecret},
		{"empty secret", locked, hdr("X-Hasura-Admin-Secret", ""), "", "", msgInvalidSecret},
		{"prefix of secret", locked, hdr("X-Hasura-Admin-Secret", "s3cre"), "", "", msgInvalidSecret},
		{"missing secret", locked, hdr("X-Hasura-Role", "admin"), "", "", msgSecretMissing},
		{"unauthorized role ignores role header", anon, hdr("X-Hasura-Role", "admin"), "anonymous", "", ""},
		{"wrong secret is not the unauthorized role", anon, hdr("X-Hasura-Admin-Secret", "x"), "", "", msgInvalidSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.r.Resolve(context.Background(), tc.h)
			if tc.deniedIs != "" {
				if err == nil || err.Status != 401 || err.Code != "access-denied" || err.Message != tc.deniedIs {
					t.Fatalf("want 401 access-denied %q, got %+v %+v", tc.deniedIs, s, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected %v", err)
			}
			if s.Role != tc.role || s.Vars["x-hasura-role"] != tc.role || s.Vars["x-hasura-user-id"] != tc.userID {
				t.Fatalf("session %+v, want role %s user %q", s, tc.role, tc.userID)
			}
			if _, leaked := s.Vars["x-hasura-admin-secret"]; leaked {
				t.Fatal("the admin secret must not become a session variable")
			}
		})
	}
}

func mustResolver(t *testing.T, o Options) *Resolver {
	t.Helper()
	r, err := NewResolver(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
