package tenantapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Personal access tokens: `Authorization: pat <token>` on every request.
// A token is 32 random bytes, shown once when created; the operator keeps
// only a salted SHA-256 of it (a per-token random salt), one key per token
// name in one Secret of the operator's namespace. A 256-bit random token
// needs no slow hash: nobody can guess it, salted or not; the salt keeps
// equal digests from showing equal tokens.

const (
	// DefaultTokenSecret is the Secret holding the tokens' digests.
	DefaultTokenSecret = "strata-tenant-api-tokens"
	// DefaultTokenNamespace is where that Secret lives unless told.
	DefaultTokenNamespace = "strata-system"
	// tokenPrefix makes a leaked token recognisable to secret scanners.
	tokenPrefix = "strata_pat_"
)

var tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$`)

// tokenRecord is what the Secret keeps of one token.
type tokenRecord struct {
	Algorithm string    `json:"alg"`
	Salt      string    `json:"salt"`
	Hash      string    `json:"hash"`
	CreatedAt time.Time `json:"createdAt"`
}

// TokenInfo describes a token without its secret.
type TokenInfo struct {
	Name      string
	CreatedAt time.Time
}

// newToken makes a token and the record that verifies it.
func newToken(now time.Time) (string, tokenRecord, error) {
	raw := make([]byte, 32)
	salt := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", tokenRecord{}, err
	}
	if _, err := rand.Read(salt); err != nil {
		return "", tokenRecord{}, err
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	return token, tokenRecord{Algorithm: "sha256-salted", Salt: base64.StdEncoding.EncodeToString(salt),
		Hash: base64.StdEncoding.EncodeToString(tokenDigest(salt, token)), CreatedAt: now.UTC().Truncate(time.Second)}, nil
}

func tokenDigest(salt []byte, token string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(token))
	return h.Sum(nil)
}

// matches reports, in constant time for a given record, whether token is
// the one the record was made from.
func (r tokenRecord) matches(token string) bool {
	if r.Algorithm != "sha256-salted" {
		return false
	}
	salt, err1 := base64.StdEncoding.DecodeString(r.Salt)
	want, err2 := base64.StdEncoding.DecodeString(r.Hash)
	if err1 != nil || err2 != nil || len(want) != sha256.Size {
		return false
	}
	return subtle.ConstantTimeCompare(tokenDigest(salt, token), want) == 1
}

// verifyToken returns the name of the token in data that token is, or
// "". Every record is checked, so the time taken does not depend on
// which one matches.
func verifyToken(data map[string][]byte, token string) string {
	found := ""
	if !strings.HasPrefix(token, tokenPrefix) {
		token = "" // still check every record
	}
	names := make([]string, 0, len(data))
	for name := range data {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var rec tokenRecord
		if json.Unmarshal(data[name], &rec) != nil {
			continue
		}
		if rec.matches(token) && token != "" && found == "" {
			found = name
		}
	}
	return found
}

// CreateToken makes a token called name, stores its digest in the
// Secret (created if missing) and returns the token: the only time it is
// ever seen.
func CreateToken(ctx context.Context, c client.Client, namespace, name string) (string, error) {
	if !tokenNameRE.MatchString(name) {
		return "", fmt.Errorf("invalid token name %q: use letters, digits, '.', '_' and '-' (at most 63)", name)
	}
	token, rec, err := newToken(time.Now())
	if err != nil {
		return "", err
	}
	value, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	key := types.NamespacedName{Namespace: namespace, Name: DefaultTokenSecret}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var s corev1.Secret
		err := c.Get(ctx, key, &s)
		if apierrors.IsNotFound(err) {
			s = corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: DefaultTokenSecret,
					Labels: map[string]string{"app.kubernetes.io/name": "strata", "app.kubernetes.io/component": "tenant-api"}},
				Type: corev1.SecretTypeOpaque,
				Data: map[string][]byte{name: value},
			}
			err = c.Create(ctx, &s)
			if apierrors.IsAlreadyExists(err) {
				// Someone created it first: go round again as a conflict.
				return apierrors.NewConflict(corev1.Resource("secrets"), DefaultTokenSecret, err)
			}
			return err
		}
		if err != nil {
			return err
		}
		if _, ok := s.Data[name]; ok {
			return errTokenExists{name}
		}
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		s.Data[name] = value
		return c.Update(ctx, &s) // carries the resourceVersion read
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

type errTokenExists struct{ name string }

func (e errTokenExists) Error() string {
	return fmt.Sprintf("a token named %q exists: revoke it first or pick another name", e.name)
}

// ErrTokenNotFound is RevokeToken's answer for a name it does not have.
var ErrTokenNotFound = errors.New("no such token")

// RevokeToken deletes a token: requests carrying it are refused from the
// next request on (the API reads the Secret on every request).
func RevokeToken(ctx context.Context, c client.Client, namespace, name string) error {
	key := types.NamespacedName{Namespace: namespace, Name: DefaultTokenSecret}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var s corev1.Secret
		if err := c.Get(ctx, key, &s); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("%w %q", ErrTokenNotFound, name)
			}
			return err
		}
		if _, ok := s.Data[name]; !ok {
			return fmt.Errorf("%w %q", ErrTokenNotFound, name)
		}
		delete(s.Data, name)
		return c.Update(ctx, &s)
	})
}

// ListTokens lists the tokens by name, oldest first.
func ListTokens(ctx context.Context, c client.Reader, namespace string) ([]TokenInfo, error) {
	var s corev1.Secret
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: DefaultTokenSecret}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []TokenInfo
	for name, v := range s.Data {
		var rec tokenRecord
		_ = json.Unmarshal(v, &rec)
		out = append(out, TokenInfo{Name: name, CreatedAt: rec.CreatedAt})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}
