package server

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/google/uuid"

	"github.com/strata-dev/strata/engine/apierr"
)

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and Hijack (websockets).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestLog gives every request an x-request-id (the client's, or a new
// one) and writes one structured line per request, like Hasura's http-log.
// It logs the path only: query strings and headers can carry credentials.
func requestLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		level := slog.LevelInfo
		if sw.status >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(r.Context(), level, "request",
			slog.String("type", "http-log"),
			slog.String("request_id", id),
			slog.String("method", r.Method),
			slog.String("url", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Int("response_size", sw.bytes),
			slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("ip", r.RemoteAddr),
		)
	})
}

// recoverPanics turns a handler panic into Hasura's 500 "unexpected" and a
// log line with the stack, instead of a dropped connection.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("handler panicked", "type", "unexpected", "panic", v, "stack", string(debug.Stack()))
				apierr.WriteREST(w, apierr.Internal(), false)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
