package tenantapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestTokensAreRandomSaltedAndVerified(t *testing.T) {
	tok1, rec1, err := newToken(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tok2, rec2, _ := newToken(time.Now())
	if tok1 == tok2 || rec1.Salt == rec2.Salt || !strings.HasPrefix(tok1, tokenPrefix) || len(tok1) < len(tokenPrefix)+43 {
		t.Fatalf("tokens not random or salted: %q %q", tok1, tok2)
	}
	if !rec1.matches(tok1) || rec1.matches(tok2) || rec2.matches(tok1) {
		t.Error("a record matches the wrong token")
	}
	if rec1.matches(tok1[:len(tok1)-1]) || rec1.matches(tok1+"x") || rec1.matches("") {
		t.Error("a record matches a near miss")
	}
	b, _ := json.Marshal(rec1)
	if strings.Contains(string(b), strings.TrimPrefix(tok1, tokenPrefix)) {
		t.Error("the record holds the token")
	}
	tampered := rec1
	tampered.Salt = rec2.Salt
	if tampered.matches(tok1) {
		t.Error("the salt is not part of the digest")
	}

	data := map[string][]byte{"ci": mustJSON(t, rec1), "laptop": mustJSON(t, rec2), "junk": []byte("{")}
	if got := verifyToken(data, tok2); got != "laptop" {
		t.Errorf("verifyToken = %q, want laptop", got)
	}
	for _, bad := range []string{"", "pat", tokenPrefix, "nope"} {
		if got := verifyToken(data, bad); got != "" {
			t.Errorf("verifyToken(%q) = %q", bad, got)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCreateRevokeListTokens(t *testing.T) {
	c := fakeClient(t)
	ctx := context.Background()
	tok, err := CreateToken(ctx, c, "ops", "ci")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateToken(ctx, c, "ops", "ci"); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a second token of the same name: %v", err)
	}
	if _, err := CreateToken(ctx, c, "ops", "bad name"); err == nil {
		t.Error("an invalid name was accepted")
	}
	tok2, err := CreateToken(ctx, c, "ops", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	var s corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: "ops", Name: DefaultTokenSecret}, &s); err != nil {
		t.Fatal(err)
	}
	for name, v := range s.Data {
		if strings.Contains(string(v), tok) || strings.Contains(string(v), tok2) {
			t.Errorf("key %s stores a token", name)
		}
	}
	if verifyToken(s.Data, tok) != "ci" || verifyToken(s.Data, tok2) != "laptop" {
		t.Error("stored tokens do not verify")
	}
	list, err := ListTokens(ctx, c, "ops")
	if err != nil || len(list) != 2 || list[0].Name != "ci" || list[0].CreatedAt.IsZero() {
		t.Errorf("ListTokens: %+v %v", list, err)
	}
	if err := RevokeToken(ctx, c, "ops", "ci"); err != nil {
		t.Fatal(err)
	}
	if err := RevokeToken(ctx, c, "ops", "ci"); !errors.Is(err, ErrTokenNotFound) {
		t.Errorf("revoking twice: %v", err)
	}
	_ = c.Get(ctx, client.ObjectKey{Namespace: "ops", Name: DefaultTokenSecret}, &s)
	if verifyToken(s.Data, tok) != "" || verifyToken(s.Data, tok2) != "laptop" {
		t.Error("revoke removed the wrong token")
	}
}
