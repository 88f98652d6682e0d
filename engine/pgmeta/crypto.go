package pgmeta

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"strings"
	"unicode/utf8"
)

// The X-Connection-Encrypted header is what postgres-meta's clients send:
// crypto-js `AES.encrypt(connectionString, CRYPTO_KEY).toString()`, which is
// OpenSSL's "enc" format with a passphrase:
//
//	base64( "Salted__" | salt[8] | AES-256-CBC(key, iv, PKCS#7(plaintext)) )
//
// where key||iv = EVP_BytesToKey(MD5, passphrase, salt, 1 iteration): the
// concatenation of D1 = MD5(pass|salt), Di = MD5(D(i-1)|pass|salt) until 48
// bytes are there. `openssl enc -aes-256-cbc -md md5 -salt -base64 -A -pass
// pass:KEY` produces the same format.

const (
	saltedMagic = "Salted__"
	saltLen     = 8
	keyLen      = 32 // AES-256
)

// headerError is a bad X-Connection-Encrypted header. Its text is safe to
// show: it never contains the (decrypted) connection string.
type headerError struct{ reason string }

func (e *headerError) Error() string {
	return "invalid X-Connection-Encrypted header: " + e.reason
}

// evpBytesToKey derives key and IV as OpenSSL's EVP_BytesToKey with MD5 and
// one iteration (the derivation crypto-js and `openssl enc -md md5` use).
func evpBytesToKey(pass, salt []byte, keyLen, ivLen int) (key, iv []byte) {
	var out, prev []byte
	for len(out) < keyLen+ivLen {
		h := md5.New()
		h.Write(prev)
		h.Write(pass)
		h.Write(salt)
		prev = h.Sum(nil)
		out = append(out, prev...)
	}
	return out[:keyLen], out[keyLen : keyLen+ivLen]
}

// decryptConnString decrypts an X-Connection-Encrypted value with the
// passphrase and checks that the result is a postgres:// URL. Errors are
// *headerError and never include the plaintext.
func decryptConnString(header, passphrase string) (string, error) {
	if passphrase == "" {
		return "", &headerError{"encrypted connections are not enabled (no crypto key is configured)"}
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
	if err != nil {
		// Some clients strip the padding.
		if raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(header), "=")); err != nil {
			return "", &headerError{"not valid base64"}
		}
	}
	if len(raw) < len(saltedMagic)+saltLen || string(raw[:len(saltedMagic)]) != saltedMagic {
		return "", &headerError{`not in OpenSSL "Salted__" format`}
	}
	salt := raw[len(saltedMagic) : len(saltedMagic)+saltLen]
	ct := raw[len(saltedMagic)+saltLen:]
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return "", &headerError{"ciphertext is not a whole number of AES blocks"}
	}
	key, iv := evpBytesToKey([]byte(passphrase), salt, keyLen, aes.BlockSize)
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", &headerError{"cannot set up AES"}
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
	pt, ok := pkcs7Unpad(pt)
	if !ok {
		return "", &headerError{"decryption failed (wrong key or corrupted value)"}
	}
	if !utf8.Valid(pt) {
		return "", &headerError{"decryption failed (wrong key or corrupted value)"}
	}
	s := strings.TrimSpace(string(pt))
	if err := checkPostgresURL(s); err != nil {
		return "", err
	}
	return s, nil
}

func pkcs7Unpad(b []byte) ([]byte, bool) {
	if len(b) == 0 || len(b)%aes.BlockSize != 0 {
		return nil, false
	}
	n := int(b[len(b)-1])
	if n == 0 || n > aes.BlockSize {
		return nil, false
	}
	pad := bytes.Repeat([]byte{byte(n)}, n)
	if subtle.ConstantTimeCompare(b[len(b)-n:], pad) != 1 {
		return nil, false
	}
	return b[:len(b)-n], true
}

// checkPostgresURL accepts postgres:// and postgresql:// URLs only. The
// error does not quote the string.
func checkPostgresURL(s string) error {
	if s == "" {
		return &headerError{"the decrypted connection string is empty"}
	}
	u, err := url.Parse(s)
	if err != nil {
		return &headerError{"the decrypted connection string is not a valid URL"}
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return &headerError{"the decrypted connection string is not a postgres:// URL"}
	}
	return nil
}
