// Package console serves the engine's small built-in console when
// HASURA_GRAPHQL_ENABLE_CONSOLE is on: one hand-written page (plain HTML,
// one script, one stylesheet, embedded in the binary) that runs GraphQL
// queries against /v1/graphql with an admin secret and shows the tracked
// tables with their relationships and permissions from export_metadata.
//
// The paths follow Hasura's (Server/App.hs, serveApiConsole): GET /
// redirects to /console, every GET under /console is the page (Hasura's
// console routes on the client), and its files are under
// /console/assets/. The page talks only to its own origin, which the
// Content-Security-Policy enforces: no inline script or style, no CDN.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/strata-dev/strata/engine/apierr"
)

//go:embed static
var static embed.FS

// Paths the console answers.
const (
	Root       = "/"
	Page       = "/console"
	assetsPath = "/console/assets/"
)

// securityHeaders go on every console response. The policy allows the
// page's own script, stylesheet and icon and requests to its own origin
// (the GraphQL and metadata APIs), nothing else: no inline code, no
// framing, no form posts.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"X-Frame-Options":        "DENY",
	"Referrer-Policy":        "no-referrer",
}

// contentTypes by extension, spelled out rather than read from the
// system's MIME tables, which differ between machines.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// file is one embedded file, ready to serve.
type file struct {
	name        string
	body        []byte
	contentType string
	etag        string
}

// Handler serves the console's paths.
type Handler struct {
	page   file
	assets map[string]file // by name under /console/assets/
}

// New loads the embedded files.
func New() *Handler {
	h := &Handler{assets: map[string]file{}}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		f := file{
			name:        path.Base(p),
			body:        body,
			contentType: contentTypes[path.Ext(p)],
			etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
		}
		if f.contentType == "" {
			panic("console: no content type for " + p) // a file added without its type
		}
		if f.name == "index.html" {
			h.page = f
		} else {
			h.assets[f.name] = f
		}
		return nil
	})
	if err != nil || h.page.body == nil {
		panic("console: embedded files unreadable") // the build embeds them
	}
	return h
}

// ServeHTTP answers GET (and HEAD) of /, /console, /console/... and
// /console/assets/<file>; any other method is Hasura's 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range securityHeaders {
		w.Header().Set(k, v)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		notFound(w, "resource does not exist")
		return
	}
	p := r.URL.Path
	switch {
	case p == Root:
		http.Redirect(w, r, Page, http.StatusFound)
	case strings.HasPrefix(p, assetsPath):
		name := strings.TrimPrefix(p, assetsPath)
		f, ok := h.assets[name]
		if !ok {
			notFound(w, "Couldn't find console asset "+strings.TrimPrefix(p, "/console/"))
			return
		}
		serve(w, r, f)
	case p == Page || strings.HasPrefix(p, Page+"/"):
		serve(w, r, h.page)
	default:
		notFound(w, "resource does not exist")
	}
}

// serve writes a file. Every response is revalidated (no-cache with an
// ETag): the files are small, a 304 costs one round trip, and an upgraded
// engine never pairs a cached old script with its new page.
func serve(w http.ResponseWriter, r *http.Request, f file) {
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", f.etag)
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
}

func notFound(w http.ResponseWriter, msg string) {
	apierr.WriteREST(w, apierr.New(http.StatusNotFound, apierr.CodeNotFound, "%s", msg), false)
}
