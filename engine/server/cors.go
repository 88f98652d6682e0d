package server

import (
	"net/http"
	"strings"
)

// Hasura's CORS answers (Server/Middleware.hs, Server/Cors.hs).
const (
	corsMethods = "GET,POST,PUT,PATCH,DELETE,OPTIONS"
	// The console reads the cache headers across origins.
	corsExposeHeaders = "X-Hasura-Query-Cache-Key,X-Hasura-Query-Family-Cache-Key,Warning"
	corsMaxAge        = "1728000" // 20 days
)

// corsMiddleware applies HASURA_GRAPHQL_CORS_DOMAIN the way Hasura does. A
// request whose Origin is allowed gets the CORS headers, the origin echoed
// (never "*", since credentials are allowed); an OPTIONS request from an
// allowed origin is a preflight, answered 204 here. Other requests pass
// untouched: a refused origin simply gets no CORS headers, and the browser
// blocks the response. With CORS disabled no request gets CORS headers.
//
// Websocket handshakes get no CORS headers (browsers do not ask for them);
// Hasura's websocket server checks their Origin instead, see
// websocketOrigin.
func (s *Server) corsMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if isWebsocket(r) {
			if origin != "" {
				r = s.websocketOrigin(w, r, origin)
				if r == nil {
					return
				}
			}
			next.ServeHTTP(w, r)
			return
		}
		if origin == "" || !s.cors.Allows(origin) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Allow-Methods", corsMethods)
		h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		// Hasura does not say so, but the answer depends on the Origin:
		// shared caches must not hand one origin's answer to another.
		h.Add("Vary", "Origin")
		if r.Method != http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Max-Age", corsMaxAge)
		// Whatever headers the browser asks to send are allowed (Hasura
		// sends the header empty when none were asked for).
		h.Set("Access-Control-Allow-Headers", r.Header.Get("Access-Control-Request-Headers"))
		h.Set("Content-Type", "text/plain charset=UTF-8")
		w.WriteHeader(http.StatusNoContent)
	})
}

// websocketOrigin is Hasura's check of a websocket handshake's Origin
// (GraphQL/Transport/WebSocket.hs enforceCors): with a domain list, an
// origin outside it is refused with 400 access-denied; with CORS disabled
// the handshake loses its Cookie header (a page on any origin could
// otherwise ride the user's cookies), unless HASURA_GRAPHQL_WS_READ_COOKIE
// says CORS is enforced in front of the engine. It returns the request to
// serve, nil when it has answered.
func (s *Server) websocketOrigin(w http.ResponseWriter, r *http.Request, origin string) *http.Request {
	switch {
	case s.cors.Disabled:
		if s.cors.WSReadCookie || len(r.Header.Values("Cookie")) == 0 {
			return r
		}
		r2 := *r
		r2.Header = r.Header.Clone()
		r2.Header.Del("Cookie")
		s.deps.Log.Info("Cookie is not read when CORS is disabled, because it is a potential security issue. If you're already handling CORS before the engine and enforcing CORS on websocket connections, use --ws-read-cookie or HASURA_GRAPHQL_WS_READ_COOKIE to read the cookie when CORS is disabled.",
			"type", "websocket-log", "path", r.URL.Path)
		return &r2
	case !s.cors.Allows(origin):
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"message":"received origin header does not match configured CORS domains","extensions":{"path":"$","code":"access-denied"}}`))
		return nil
	}
	return r
}

func isWebsocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}
