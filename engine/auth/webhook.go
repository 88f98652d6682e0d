package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
)

// The auth webhook follows Hasura's Server/Auth/WebHook.hs: GET forwards
// the client's headers, POST sends {"headers": {...}, "request": ...}; a
// 200 body is the session variables, 401 refuses the request.
//
// Unlike Hasura, 200 answers are cached until the Cache-Control max-age or
// Expires the hook gives, so a busy client does not call the hook on every
// request.

const (
	maxHookBody = 1 << 20
	// hookCacheMax bounds the cache: one entry per distinct set of
	// forwarded headers, i.e. per client credential.
	hookCacheMax = 10000
)

// Headers Hasura never forwards to a GET hook (commonClientHeadersIgnored),
// plus the hop-by-hop ones that belong to the client's connection only.
var hookIgnoredHeaders = []string{
	"Content-Length", "Content-Md5", "User-Agent", "Host", "Origin", "Referer",
	"Accept", "Accept-Encoding", "Accept-Language", "Accept-Datetime",
	"Cache-Control", "Connection", "Dnt", "Content-Type",
	"Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

type webhook struct {
	url  string
	post bool
	// sendRequest: a POST hook is sent the GraphQL request (hookrequest.go).
	sendRequest bool
	http        *http.Client
	log         *slog.Logger
	now         func() time.Time

	mu    sync.Mutex
	cache map[[sha256.Size]byte]hookEntry
}

type hookEntry struct {
	role      string
	vars      map[string]string
	setCookie []string  // the hook's Set-Cookie headers, passed on to the client
	expires   time.Time // Session.Expires: what the hook's body said
	cacheEnd  time.Time // when the entry stops being used
}

func newWebhook(rawURL, mode string, sendRequest bool, client *http.Client, log *slog.Logger, now func() time.Time) (*webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("HASURA_GRAPHQL_AUTH_HOOK: expected an http or https URL")
	}
	w := &webhook{url: rawURL, sendRequest: sendRequest, http: client, log: log, now: now, cache: map[[sha256.Size]byte]hookEntry{}}
	switch strings.ToUpper(mode) {
	case "", "GET":
	case "POST":
		w.post = true
	default:
		return nil, fmt.Errorf("HASURA_GRAPHQL_AUTH_HOOK_MODE: invalid auth hook mode %q: use GET or POST", mode)
	}
	return w, nil
}

// hookRequest is the POST body. Request is left out when the hook is not
// to be sent it, and null when there is none.
type hookRequest struct {
	Headers map[string]string `json:"headers"`
	Request json.RawMessage   `json:"request,omitempty"`
}

func (w *webhook) resolve(ctx context.Context, h http.Header) (*Session, *apierr.Error) {
	var gqlReq json.RawMessage
	if w.post && w.sendRequest {
		gqlReq = hookRequestBody(ctx)
	}
	fwd, key := w.forwarded(h, gqlReq)
	if s, ok := w.cached(key); ok {
		return s, nil
	}
	req, err := w.request(ctx, h, fwd, gqlReq)
	if err != nil {
		w.log.Error("auth webhook request failed", "type", "webhook-log", "url", w.url, "error", err.Error())
		return nil, apierr.New(http.StatusInternalServerError, apierr.CodeUnexpected, "webhook authentication request failed")
	}
	resp, err := w.http.Do(req)
	if err != nil {
		// The error names the URL and the cause, never a header value.
		w.log.Error("auth webhook request failed", "type", "webhook-log", "url", w.url, "error", err.Error())
		return nil, apierr.New(http.StatusInternalServerError, apierr.CodeUnexpected, "webhook authentication request failed")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxHookBody+1))
	if err != nil || len(body) > maxHookBody {
		w.log.Error("auth webhook response unreadable", "type", "webhook-log", "url", w.url, "status", resp.StatusCode)
		return nil, apierr.New(http.StatusInternalServerError, apierr.CodeUnexpected, "webhook authentication request failed")
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		w.log.Info("auth webhook refused the request", "type", "webhook-log", "url", w.url, "status", resp.StatusCode)
		return nil, apierr.New(http.StatusUnauthorized, apierr.CodeAccessDenied, "Authentication hook unauthorized this request")
	default:
		w.log.Error("auth webhook answered an unexpected status", "type", "webhook-log", "url", w.url, "status", resp.StatusCode)
		return nil, apierr.New(http.StatusInternalServerError, apierr.CodeUnexpected, "Invalid response from authorization hook")
	}
	fields, aerr := hookFields(body)
	if aerr != nil {
		w.log.Error("auth webhook answered an invalid body", "type", "webhook-log", "url", w.url, "error", aerr.Message)
		return nil, aerr
	}
	vars := map[string]string{}
	for k, v := range fields {
		if lk := strings.ToLower(k); isSessionVar(lk) && !isSecretVar(lk) {
			vars[lk] = v
		}
	}
	role := vars["x-hasura-role"]
	if role == "" {
		return nil, apierr.BadRequest(apierr.CodeInvalidParams, "x-hasura-role not found in session variables")
	}
	now := w.now()
	expires := bodyExpiry(fields, now, w.log)
	cookies := resp.Header.Values("Set-Cookie")
	w.store(key, hookEntry{role: role, vars: vars, setCookie: cookies, expires: expires, cacheEnd: cacheEnd(expires, resp.Header, now)})
	return &Session{Role: role, Vars: copyVars(vars), Expires: expires, SetCookie: cookies}, nil
}

// forwarded picks the headers sent to the hook and hashes them, and the
// GraphQL request the hook is sent, into the cache key: a different
// credential, any other header the hook might look at, or another
// operation is a different entry. Only the digest is kept.
func (w *webhook) forwarded(h http.Header, gqlReq []byte) (http.Header, [sha256.Size]byte) {
	fwd := http.Header{}
	for k, vs := range h {
		if w.post || !slices.Contains(hookIgnoredHeaders, http.CanonicalHeaderKey(k)) {
			fwd[k] = vs
		}
	}
	names := make([]string, 0, len(fwd))
	for k := range fwd {
		names = append(names, k)
	}
	sort.Strings(names)
	d := sha256.New()
	fmt.Fprintf(d, "%t\n", w.post)
	for _, k := range names {
		for _, v := range fwd[k] {
			fmt.Fprintf(d, "%d:%s%d:%s", len(k), k, len(v), v)
		}
	}
	fmt.Fprintf(d, "request %d:%s", len(gqlReq), gqlReq)
	var key [sha256.Size]byte
	d.Sum(key[:0])
	return fwd, key
}

func (w *webhook) request(ctx context.Context, h, fwd http.Header, gqlReq json.RawMessage) (*http.Request, error) {
	if !w.post {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url, nil)
		if err != nil {
			return nil, err
		}
		for k, vs := range fwd {
			req.Header[k] = slices.Clone(vs)
		}
		setDefaultHeaders(req.Header)
		return req, nil
	}
	payload := hookRequest{Headers: map[string]string{}, Request: gqlReq}
	for k, vs := range h {
		if len(vs) > 0 {
			payload.Headers[k] = vs[len(vs)-1] // one value per name, as Hasura's map holds
		}
	}
	b, err := aeson.Marshal(payload)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	setDefaultHeaders(req.Header)
	return req, nil
}

// setDefaultHeaders are Hasura's addDefaultHeaders, replacing the client's.
func setDefaultHeaders(h http.Header) {
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", userAgent())
}

// hookFields decodes a 200 body: an object of strings only, as Hasura
// reads it (HashMap Text Text).
func hookFields(body []byte) (map[string]string, *apierr.Error) {
	invalid := func(detail string) *apierr.Error {
		return apierr.New(http.StatusInternalServerError, apierr.CodeUnexpected, "Invalid response from authorization hook: %s", detail)
	}
	v, err := decodeJSON(body)
	if err != nil {
		return nil, invalid("Error in $: Failed reading: not a valid json value")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("Error in $: parsing HashMap ~Text failed, expected Object, but encountered " + jsonKind(v))
	}
	out := make(map[string]string, len(obj))
	for k, x := range obj {
		s, ok := x.(string)
		if !ok {
			q, _ := json.Marshal(k)
			return nil, invalid(fmt.Sprintf("Error in $[%s]: parsing Text failed, expected String, but encountered %s", q, jsonKind(x)))
		}
		out[k] = s
	}
	return out, nil
}

// bodyExpiry is Hasura's: "Cache-Control" (max-age or s-maxage) or
// "Expires" (IMF-fixdate) keys of the hook's JSON body. Zero when absent.
func bodyExpiry(fields map[string]string, now time.Time, log *slog.Logger) time.Time {
	if cc, ok := fields["Cache-Control"]; ok {
		if d, ok := findMaxAge(parseCacheControl(cc)); ok {
			return now.Add(d)
		}
		log.Warn("auth webhook: could not find max-age/s-maxage in Cache-Control", "type", "webhook-log")
	}
	if e, ok := fields["Expires"]; ok {
		if t, err := time.Parse(http.TimeFormat, e); err == nil {
			return t
		}
		log.Warn("auth webhook: Value of Expires header is not a valid timestamp", "type", "webhook-log")
	}
	return time.Time{}
}

// cacheEnd is how long a 200 answer is reused: until the body's expiry, or
// failing that the response's own Cache-Control/Expires headers (where
// no-store and no-cache mean not at all). Zero: not cached.
func cacheEnd(bodyExp time.Time, hdr http.Header, now time.Time) time.Time {
	if !bodyExp.IsZero() {
		return bodyExp
	}
	if t, ok := httpExpiry(hdr, now); ok {
		return t
	}
	return time.Time{}
}

func (w *webhook) cached(key [sha256.Size]byte) (*Session, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.cache[key]
	if !ok {
		return nil, false
	}
	if !w.now().Before(e.cacheEnd) {
		delete(w.cache, key)
		return nil, false
	}
	return &Session{Role: e.role, Vars: copyVars(e.vars), Expires: e.expires, SetCookie: e.setCookie}, true
}

func (w *webhook) store(key [sha256.Size]byte, e hookEntry) {
	now := w.now()
	if !now.Before(e.cacheEnd) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.cache) >= hookCacheMax {
		for k, old := range w.cache {
			if !now.Before(old.cacheEnd) {
				delete(w.cache, k)
			}
		}
	}
	for k := range w.cache { // still full: drop arbitrary entries
		if len(w.cache) < hookCacheMax {
			break
		}
		delete(w.cache, k)
	}
	w.cache[key] = e
}

// copyVars keeps callers from changing a cached session.
func copyVars(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
