package pgmeta

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-dev/strata/test/pgtest"
)

// encrypt is crypto-js' AES.encrypt(plain, pass).toString(): OpenSSL's
// salted format with EVP_BytesToKey(MD5) and AES-256-CBC, PKCS#7 padding.
func encrypt(t testing.TB, plain, pass string) string {
	t.Helper()
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	key, iv := evpBytesToKey([]byte(pass), salt, keyLen, aes.BlockSize)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	n := aes.BlockSize - len(plain)%aes.BlockSize
	pt := append([]byte(plain), bytes.Repeat([]byte{byte(n)}, n)...)
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, pt)
	return base64.StdEncoding.EncodeToString(append(append([]byte(saltedMagic), salt...), ct...))
}

// opensslVector was made with
//
//	printf '%s' 'postgres://meta:s3cret@db.example.com:5432/app?sslmode=disable' |
//	  openssl enc -aes-256-cbc -md md5 -salt -base64 -A -pass pass:openssl-test-key
//
// (OpenSSL 3.0.19).
const (
	opensslVector = "U2FsdGVkX18+vQxD2Sq0hQY6GIXaWr6n3ZjvL8BA2QNafzWzE9/YFqN9oZFcYtGLX1q2flCTB3wl9iCI1nt2cnovAAU08l2mxdUc/zp7d+s="
	opensslKey    = "openssl-test-key"
	opensslPlain  = "postgres://meta:s3cret@db.example.com:5432/app?sslmode=disable"
)

func TestDecryptOpenSSLVector(t *testing.T) {
	got, err := decryptConnString(opensslVector, opensslKey)
	if err != nil {
		t.Fatal(err)
	}
	if got != opensslPlain {
		t.Fatalf("got %q", got)
	}
	// and our encryption round-trips
	for _, plain := range []string{"postgres://a@b/c", "postgresql://x:y@h:1/d?sslmode=require&application_name=ü " + strings.Repeat("x", 100)} {
		got, err := decryptConnString(encrypt(t, plain, "k"), "k")
		if err != nil || got != strings.TrimSpace(plain) {
			t.Fatalf("round trip %q: %q %v", plain, got, err)
		}
	}
}

func TestDecryptBadHeaders(t *testing.T) {
	key := "right-key"
	cases := map[string]string{
		"not base64":       "%%%not base64%%%",
		"no salt prefix":   base64.StdEncoding.EncodeToString([]byte("Unsalted_12345678123456789012345678901234")),
		"short":            base64.StdEncoding.EncodeToString([]byte("Salted__1234")),
		"not whole blocks": base64.StdEncoding.EncodeToString([]byte("Salted__12345678abc")),
		"wrong key":        encrypt(t, "postgres://u:p@h/d", "wrong-key"),
		"not postgres":     encrypt(t, "mysql://u:p@h/d", key),
		"not a URL":        encrypt(t, "host=h user=u password=p", key),
		"empty":            encrypt(t, "  ", key),
		"openssl, wrong":   opensslVector,
	}
	for name, hdr := range cases {
		_, err := decryptConnString(hdr, key)
		var he *headerError
		if !errors.As(err, &he) {
			t.Errorf("%s: err %v", name, err)
			continue
		}
		if strings.Contains(err.Error(), "u:p") || strings.Contains(err.Error(), "password=p") {
			t.Errorf("%s: error shows the connection string: %v", name, err)
		}
	}
	if _, err := decryptConnString(encrypt(t, "postgres://h/d", key), ""); err == nil {
		t.Error("no key: accepted")
	}
	// crypto-js output without base64 padding is accepted too
	hdr := strings.TrimRight(encrypt(t, "postgres://h/d", key), "=")
	if _, err := decryptConnString(hdr, key); err != nil {
		t.Errorf("unpadded: %v", err)
	}
}

// withPassword puts a (trust-ignored) password in a pgtest URL, so the
// tests can check it never shows.
func withPassword(t *testing.T, raw, pw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), pw)
	return u.String()
}

func TestEncryptedHeaderSelectsDatabase(t *testing.T) {
	const key = "header-key"
	e := newEnv(t, withKey(key))
	second := pgtest.NewDatabase(t)
	secondName := strings.TrimPrefix(must2(url.Parse(second)).Path, "/")
	hdr := encrypt(t, withPassword(t, second, "pw-Secret-123"), key)

	got := must[[]obj](e, "POST", "/pg/query", query("SELECT current_database() AS db"), "X-Connection-Encrypted", hdr)
	if got[0]["db"] != secondName {
		t.Fatalf("ran in %v, want %s", got[0]["db"], secondName)
	}
	// the default database is the other one
	if got := must[[]obj](e, "POST", "/pg/query", query("SELECT current_database() AS db")); got[0]["db"] == secondName {
		t.Fatal("default database is the second one")
	}
	// catalog and writes too
	must[[]obj](e, "POST", "/pg/query", query("CREATE TABLE only_in_second (a int)"), "X-Connection-Encrypted", hdr)
	if !has(must[[]obj](e, "GET", "/pg/tables", nil, "X-Connection-Encrypted", hdr), "name", "only_in_second") {
		t.Error("table not listed through the header")
	}
	if has(must[[]obj](e, "GET", "/pg/tables", nil), "name", "only_in_second") {
		t.Error("table listed in the default database")
	}
	s := must[obj](e, "POST", "/pg/schemas", map[string]any{"name": "via_header"}, "X-Connection-Encrypted", hdr)
	must[obj](e, "GET", fmt.Sprintf("/pg/schemas/%s", s["id"]), nil, "X-Connection-Encrypted", hdr)

	// same header, and another encryption of the same string: one pool
	open, created, _ := e.h.pools.stats()
	if open != 1 || created != 1 {
		t.Fatalf("pools open %d created %d", open, created)
	}
	must[[]obj](e, "POST", "/pg/query", query("SELECT 1"), "X-Connection-Encrypted", encrypt(t, withPassword(t, second, "pw-Secret-123"), key))
	if open, created, _ := e.h.pools.stats(); open != 1 || created != 1 {
		t.Fatalf("pools open %d created %d", open, created)
	}
}

func must2[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestEncryptedHeaderErrors(t *testing.T) {
	const key = "header-key"
	e := newEnv(t, withKey(key))
	second := pgtest.NewDatabase(t)
	const secret = "pw-Secret-123"
	check := func(name string, status int, hdr string) {
		t.Helper()
		got, out := e.do("GET", "/pg/schemas", nil, "X-Connection-Encrypted", hdr)
		if got != status {
			t.Errorf("%s: status %d, want %d: %s", name, got, status, out)
		}
		if !strings.HasPrefix(string(out), `{"error":`) {
			t.Errorf("%s: body %s", name, out)
		}
		if strings.Contains(string(out), secret) || strings.Contains(string(out), "127.0.0.1") {
			t.Errorf("%s: the answer shows the connection string: %s", name, out)
		}
	}
	check("not base64", 400, "!!!")
	check("wrong key", 400, encrypt(t, withPassword(t, second, secret), "other-key"))
	check("not postgres", 400, encrypt(t, "mysql://u:"+secret+"@127.0.0.1/x", key))
	check("empty header", 400, "")
	check("unparsable URL options", 400, encrypt(t, "postgres://u:"+secret+"@127.0.0.1:5432/x?sslmode=bogus", key))
	// reachable server, no such database: Postgres' message, a 400
	u := must2(url.Parse(withPassword(t, second, secret)))
	u.Path = "/no_such_db_pgmeta"
	check("no such database", 400, encrypt(t, u.String(), key))
	// nothing listening
	check("unreachable", 502, encrypt(t, "postgres://u:"+secret+"@127.0.0.1:1/x?connect_timeout=2", key))
	// the bad header never falls back to the default database
	if got, _ := e.do("POST", "/pg/query", query("SELECT 1"), "X-Connection-Encrypted", "garbage"); got != 400 {
		t.Errorf("garbage header: status %d", got)
	}

	// no crypto key: the header is refused
	noKey := newEnv(t)
	got, out := noKey.do("GET", "/pg/schemas", nil, "X-Connection-Encrypted", encrypt(t, second, ""))
	if got != 400 || !strings.Contains(string(out), "no crypto key") {
		t.Errorf("no key: %d %s", got, out)
	}
}

func TestEncryptedPoolsLRU(t *testing.T) {
	const key = "lru-key"
	e := newEnv(t, withKey(key))
	e.h.pools.close()
	e.h.pools = newPoolSet(2, time.Hour)
	second := pgtest.NewDatabase(t)
	conns := func(app string) int64 {
		return e.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app).(int64)
	}
	hdr := func(app string) string {
		return encrypt(t, second+"&application_name="+app, key)
	}
	for _, app := range []string{"pgmeta_lru_1", "pgmeta_lru_2"} {
		must[[]obj](e, "POST", "/pg/query", query("SELECT 1"), "X-Connection-Encrypted", hdr(app))
		if n := conns(app); n != 1 {
			t.Fatalf("%s: %d connections", app, n)
		}
	}
	// a third string evicts the least recently used pool, which is closed
	must[[]obj](e, "POST", "/pg/query", query("SELECT 1"), "X-Connection-Encrypted", hdr("pgmeta_lru_3"))
	open, created, closed := e.h.pools.stats()
	if open != 2 || created != 3 || closed != 1 {
		t.Fatalf("open %d created %d closed %d", open, created, closed)
	}
	waitFor(t, func() bool { return conns("pgmeta_lru_1") == 0 }, "evicted pool's connection still open")
	if conns("pgmeta_lru_2") != 1 || conns("pgmeta_lru_3") != 1 {
		t.Fatal("live pools lost their connections")
	}
	// using pool 2 makes pool 3 the oldest
	must[[]obj](e, "POST", "/pg/query", query("SELECT 1"), "X-Connection-Encrypted", hdr("pgmeta_lru_2"))
	must[[]obj](e, "POST", "/pg/query", query("SELECT 1"), "X-Connection-Encrypted", hdr("pgmeta_lru_1"))
	waitFor(t, func() bool { return conns("pgmeta_lru_3") == 0 }, "pool 3 not evicted")
	if conns("pgmeta_lru_2") != 1 {
		t.Fatal("recently used pool evicted")
	}

	// many concurrent first requests for one new string: one pool
	before, _, _ := e.h.pools.stats()
	_, createdBefore, _ := e.h.pools.stats()
	var wg sync.WaitGroup
	h4 := hdr("pgmeta_lru_4")
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, out := e.do("POST", "/pg/query", query("SELECT pg_sleep(0.05)"), "X-Connection-Encrypted", h4); got != 200 {
				t.Errorf("status %d: %s", got, out)
			}
		}()
	}
	wg.Wait()
	_, createdAfter, _ := e.h.pools.stats()
	if createdAfter-createdBefore != 1 || before != 2 {
		t.Fatalf("created %d pools for one string", createdAfter-createdBefore)
	}
	if n := conns("pgmeta_lru_4"); n < 1 || n > encryptedMaxConns {
		t.Fatalf("%d connections", n)
	}

	// Close closes everything
	e.h.Close()
	waitFor(t, func() bool { return conns("pgmeta_lru_4")+conns("pgmeta_lru_1") == 0 }, "pools not closed")
	if got, _ := e.do("GET", "/pg/schemas", nil, "X-Connection-Encrypted", h4); got != http.StatusServiceUnavailable {
		t.Errorf("after Close: status %d", got)
	}
}

func TestEncryptedPoolsIdle(t *testing.T) {
	const key = "idle-key"
	e := newEnv(t, withKey(key))
	e.h.pools.close()
	e.h.pools = newPoolSet(10, 200*time.Millisecond)
	second := pgtest.NewDatabase(t)
	hdr := encrypt(t, second+"&application_name=pgmeta_idle", key)
	must[[]obj](e, "POST", "/pg/query", query("SELECT 1"), "X-Connection-Encrypted", hdr)
	waitFor(t, func() bool { open, _, _ := e.h.pools.stats(); return open == 0 }, "idle pool kept")
	waitFor(t, func() bool {
		return e.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgmeta_idle'") == int64(0)
	}, "idle pool's connection open")
	// a pool in use is not expired under the request
	must[[]obj](e, "POST", "/pg/query", query("SELECT pg_sleep(0.6)"), "X-Connection-Encrypted", hdr)
}

func TestPoolSetEvictsInUsePoolOnRelease(t *testing.T) {
	ps := newPoolSet(1, time.Hour)
	defer ps.close()
	a, err := ps.acquire("postgres://127.0.0.1:1/a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ps.acquire("postgres://127.0.0.1:1/b")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, closed := ps.stats(); closed != 0 {
		t.Fatal("in-use pool closed on eviction")
	}
	ps.release(a)
	if _, _, closed := ps.stats(); closed != 1 {
		t.Fatal("evicted pool not closed on release")
	}
	ps.release(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ps.closing.Wait()
	if _, err := a.pool.Acquire(ctx); err == nil {
		t.Fatal("evicted pool still usable")
	}
}

func waitFor(t *testing.T, ok func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEncryptedConfigIgnoresServerEnvironment(t *testing.T) {
	t.Setenv("PGPASSWORD", "server-secret")
	t.Setenv("PGHOST", "server-default-host")
	cfg, err := parseEncryptedConfig("postgres://u@other.example.com/db")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ConnConfig.Password != "" || cfg.ConnConfig.Host != "other.example.com" {
		t.Fatalf("password %q host %q", cfg.ConnConfig.Password, cfg.ConnConfig.Host)
	}
	if cfg.ConnConfig.ConnectTimeout != connectTimeout {
		t.Errorf("connect timeout %v", cfg.ConnConfig.ConnectTimeout)
	}
	for s, want := range map[string]string{
		"postgres://u:pw@h/db":                    "pw",
		"postgres://u@h/db?password=qpw":          "qpw",
		"postgres:///db?host=/var/run/postgresql": "",
	} {
		cfg, err := parseEncryptedConfig(s)
		if err != nil || cfg.ConnConfig.Password != want {
			t.Errorf("%s: %v %v", s, cfg, err)
		}
	}
	for _, bad := range []string{
		"postgres:///db",
		"postgres://h/db?sslkey=/etc/ssl/private/key.pem",
		"postgres://h/db?passfile=/root/.pgpass",
		"postgres://h/db?service=prod",
	} {
		var he *headerError
		if _, err := parseEncryptedConfig(bad); !errors.As(err, &he) {
			t.Errorf("%s: accepted (%v)", bad, err)
		}
	}
}
