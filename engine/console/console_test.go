package console

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestServesThePageAndItsAssets(t *testing.T) {
	h := New()
	for _, tc := range []struct {
		path, contentType, contains string
	}{
		{"/console", "text/html; charset=utf-8", "<title>Strata console</title>"},
		{"/console/", "text/html; charset=utf-8", `id="admin-secret"`},
		// Deeper paths are the page too: Hasura's console routes on the client.
		{"/console/data/default/schema/public", "text/html; charset=utf-8", `id="result"`},
		{"/console/assets/console.js", "text/javascript; charset=utf-8", "x-hasura-admin-secret"},
		{"/console/assets/console.css", "text/css; charset=utf-8", "#result"},
		{"/console/assets/favicon.svg", "image/svg+xml", "<svg"},
	} {
		w := get(t, h, http.MethodGet, tc.path, nil)
		if w.Code != 200 || w.Header().Get("Content-Type") != tc.contentType || !strings.Contains(w.Body.String(), tc.contains) {
			t.Errorf("%s: %d %q, body contains %q: %v", tc.path, w.Code, w.Header().Get("Content-Type"), tc.contains, strings.Contains(w.Body.String(), tc.contains))
		}
		if cc := w.Header().Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("%s: Cache-Control %q", tc.path, cc)
		}
		csp := w.Header().Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("%s: CSP %q lacks %q", tc.path, csp, d)
			}
		}
		if strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") {
			t.Errorf("%s: CSP %q allows more than its own origin", tc.path, csp)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", tc.path)
		}
	}
}

// A browser that has the page revalidates it with its ETag and gets a 304.
func TestRevalidation(t *testing.T) {
	h := New()
	w := get(t, h, http.MethodGet, "/console/assets/console.js", nil)
	etag := w.Header().Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{16}"$`).MatchString(etag) {
		t.Fatalf("ETag %q", etag)
	}
	if w := get(t, h, http.MethodGet, "/console/assets/console.js", http.Header{"If-None-Match": {etag}}); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("revalidation: %d, %d bytes", w.Code, w.Body.Len())
	}
	if w := get(t, h, http.MethodGet, "/console/assets/console.js", http.Header{"If-None-Match": {`"stale"`}}); w.Code != 200 {
		t.Errorf("stale ETag: %d", w.Code)
	}
	if w := get(t, h, http.MethodHead, "/console", nil); w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("HEAD: %d, %d bytes", w.Code, w.Body.Len())
	}
}

func TestRefusals(t *testing.T) {
	h := New()
	for _, tc := range []struct {
		method, path, body string
	}{
		{http.MethodGet, "/console/assets/nope.js", `{"path":"$","error":"Couldn't find console asset assets/nope.js","code":"not-found"}`},
		{http.MethodGet, "/console/assets/../../etc/passwd", `{"path":"$","error":"Couldn't find console asset assets/../../etc/passwd","code":"not-found"}`},
		{http.MethodGet, "/console/assets/", `{"path":"$","error":"Couldn't find console asset assets/","code":"not-found"}`},
		{http.MethodPost, "/console", `{"path":"$","error":"resource does not exist","code":"not-found"}`},
		{http.MethodPost, "/", `{"path":"$","error":"resource does not exist","code":"not-found"}`},
		{http.MethodGet, "/consoles", `{"path":"$","error":"resource does not exist","code":"not-found"}`},
	} {
		w := get(t, h, tc.method, tc.path, nil)
		if w.Code != 404 || strings.TrimSpace(w.Body.String()) != tc.body {
			t.Errorf("%s %s: %d %s\nwant 404 %s", tc.method, tc.path, w.Code, w.Body.String(), tc.body)
		}
	}
}

func TestRootRedirectsToTheConsole(t *testing.T) {
	w := get(t, New(), http.MethodGet, "/", nil)
	if w.Code != http.StatusFound || w.Header().Get("Location") != "/console" {
		t.Errorf("%d Location %q", w.Code, w.Header().Get("Location"))
	}
}

// The policy forbids inline code: the page must not need any, and every
// file it links must be served.
func TestThePageFitsItsPolicy(t *testing.T) {
	h := New()
	page := get(t, h, http.MethodGet, "/console", nil).Body.String()
	for _, re := range []string{`<script(?:\s[^>]*)?>\s*[^<\s]`, `<script(?:\s(?:[^s>]|s[^r>])*)?>`, `\sstyle=`, `<style`, `\son[a-z]+=`, `https?://`} {
		if m := regexp.MustCompile(re).FindString(page); m != "" {
			t.Errorf("the page has %q (matches %s)", m, re)
		}
	}
	links := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(links) != 3 {
		t.Errorf("links %q, want the script, the stylesheet and the icon", links)
	}
	for _, l := range links {
		if w := get(t, h, http.MethodGet, l[1], nil); w.Code != 200 {
			t.Errorf("%s: %d", l[1], w.Code)
		}
	}
	// Responses go in as text, never as markup.
	js := get(t, h, http.MethodGet, "/console/assets/console.js", nil).Body.String()
	for _, s := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
		if strings.Contains(js, s) {
			t.Errorf("console.js uses %s", s)
		}
	}
}
