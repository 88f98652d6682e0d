package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/server/reqlog"
)

// statusWriter remembers the status and size of a response, and the start
// of an error response's body for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	errBuf []byte // first errBodyMax bytes of a >= 400 response
}

const errBodyMax = 4 << 10

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
	if w.status >= 400 && len(w.errBuf) < errBodyMax {
		w.errBuf = append(w.errBuf, b[:min(len(b), errBodyMax-len(w.errBuf))]...)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and Hijack (websockets).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// timedBody measures the time a handler spends waiting for the request
// body (Hasura's request_read_time) and notes its first byte, which tells
// a batched GraphQL request ("[") from a single one.
type timedBody struct {
	io.ReadCloser
	wait  time.Duration
	first byte
}

func (b *timedBody) Read(p []byte) (int, error) {
	t := time.Now()
	n, err := b.ReadCloser.Read(p)
	b.wait += time.Since(t)
	if b.first == 0 {
		for _, c := range p[:n] {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				b.first = c
				break
			}
		}
	}
	return n, err
}

// observe gives every request an x-request-id (the client's, or a new
// one), counts it in the metrics and writes its log line when it is done.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-Id", id)
		entry := &reqlog.Entry{}
		r = r.WithContext(context.WithValue(reqlog.NewContext(r.Context(), entry), responseHeaderKey{}, w.Header()))
		var body *timedBody
		if r.Body != nil && r.Body != http.NoBody {
			body = &timedBody{ReadCloser: r.Body}
			r.Body = body
		}
		var done func(string, int, time.Duration)
		if s.metrics != nil {
			done = s.metrics.begin(isWebsocket(r))
		}
		sw := &statusWriter{ResponseWriter: w}

		next.ServeHTTP(sw, r)

		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		elapsed := time.Since(start)
		f := entry.Fields()
		if f.Group == "" {
			f.Group = "unknown" // answered by the middleware (a preflight, a refused websocket)
		}
		if done != nil {
			done(f.Group, sw.status, elapsed)
		}
		s.logRequest(r, sw, id, f, body, elapsed, start)
	})
}

// The http-log line, Hasura's shape (Server/Logging.hs): detail holds the
// operation (request id, session variables, sizes, timings in seconds,
// error) and http_info (status, method, path, client address, protocol).
// It never holds a header, a query string or a request body: those carry
// admin secrets, tokens, cookies and the /pg/ API's encrypted connection
// strings.
type httpLog struct {
	Operation operationLog `json:"operation"`
	HTTPInfo  httpInfoLog  `json:"http_info"`
	RequestID string       `json:"request_id"`
}

type operationLog struct {
	RequestID                string            `json:"request_id"`
	UserVars                 map[string]string `json:"user_vars,omitempty"`
	ResponseSize             int64             `json:"response_size"`
	UncompressedResponseSize int64             `json:"uncompressed_response_size"`
	RequestReadTime          float64           `json:"request_read_time"`
	QueryExecutionTime       float64           `json:"query_execution_time"`
	// Query is what Hasura logs of the request when query logging is off:
	// here the GraphQL operation name, when a handler has told it.
	Query       map[string]string `json:"query,omitempty"`
	Error       *logError         `json:"error,omitempty"`
	RequestMode string            `json:"request_mode"`
}

// MarshalJSON writes the line's detail by appending, in the order and
// with the names of the JSON tags above, rather than through
// encoding/json's reflection or slog's attribute groups: it is written
// for every request, and each of those took half of what the engine
// spent on one outside the database. TestHTTPLogJSON holds it to the
// tags.
func (h httpLog) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 512)
	b = append(b, `{"operation":`...)
	b = h.Operation.appendJSON(b)
	b = append(b, `,"http_info":`...)
	b = h.HTTPInfo.appendJSON(b)
	b = append(b, `,"request_id":`...)
	b = aeson.AppendString(b, h.RequestID)
	return append(b, '}'), nil
}

func (o *operationLog) appendJSON(b []byte) []byte {
	b = append(b, `{"request_id":`...)
	b = aeson.AppendString(b, o.RequestID)
	if len(o.UserVars) > 0 {
		b = appendStringMap(append(b, `,"user_vars":`...), o.UserVars)
	}
	b = strconv.AppendInt(append(b, `,"response_size":`...), o.ResponseSize, 10)
	b = strconv.AppendInt(append(b, `,"uncompressed_response_size":`...), o.UncompressedResponseSize, 10)
	b = appendSeconds(append(b, `,"request_read_time":`...), o.RequestReadTime)
	b = appendSeconds(append(b, `,"query_execution_time":`...), o.QueryExecutionTime)
	if len(o.Query) > 0 {
		b = appendStringMap(append(b, `,"query":`...), o.Query)
	}
	if e := o.Error; e != nil {
		b = aeson.AppendString(append(b, `,"error":{"path":`...), e.Path)
		b = aeson.AppendString(append(b, `,"error":`...), e.Error)
		b = aeson.AppendString(append(b, `,"code":`...), e.Code)
		b = append(b, '}')
	}
	b = aeson.AppendString(append(b, `,"request_mode":`...), o.RequestMode)
	return append(b, '}')
}

func (i *httpInfoLog) appendJSON(b []byte) []byte {
	b = strconv.AppendInt(append(b, `{"status":`...), int64(i.Status), 10)
	b = aeson.AppendString(append(b, `,"http_version":`...), i.HTTPVersion)
	b = aeson.AppendString(append(b, `,"url":`...), i.URL)
	b = aeson.AppendString(append(b, `,"ip":`...), i.IP)
	b = aeson.AppendString(append(b, `,"method":`...), i.Method)
	b = append(b, `,"content_encoding":`...)
	if i.ContentEncoding == nil {
		b = append(b, "null"...)
	} else {
		b = aeson.AppendString(b, *i.ContentEncoding)
	}
	return append(b, '}')
}

// appendStringMap writes m as a JSON object, keys sorted as encoding/json
// sorts them.
func appendStringMap(b []byte, m map[string]string) []byte {
	b = append(b, '{')
	for n, k := range slices.Sorted(maps.Keys(m)) {
		if n > 0 {
			b = append(b, ',')
		}
		b = aeson.AppendString(b, k)
		b = aeson.AppendString(append(b, ':'), m[k])
	}
	return append(b, '}')
}

// appendSeconds writes a duration in seconds as encoding/json writes a
// float64: plain decimals, exponent form outside [1e-6, 1e21).
func appendSeconds(b []byte, f float64) []byte {
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		b = strconv.AppendFloat(b, f, 'e', -1, 64)
		// 6.71e-07 is written 6.71e-7
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
		return b
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

type logError struct {
	Path  string `json:"path"`
	Error string `json:"error"`
	Code  string `json:"code"`
}

type httpInfoLog struct {
	Status          int     `json:"status"`
	HTTPVersion     string  `json:"http_version"`
	URL             string  `json:"url"`
	IP              string  `json:"ip"`
	Method          string  `json:"method"`
	ContentEncoding *string `json:"content_encoding"`
}

func (s *Server) logRequest(r *http.Request, sw *statusWriter, id string, f reqlog.Fields, body *timedBody, elapsed time.Duration, start time.Time) {
	level := slog.LevelInfo
	var lerr *logError
	if sw.status >= 400 {
		// Hasura logs an error answer at level error, with the error.
		level = slog.LevelError
		lerr = s.loggedError(r, sw)
	}
	ctx := r.Context()
	if !s.deps.Log.Enabled(ctx, level) {
		return
	}
	var read time.Duration
	var first byte
	if body != nil {
		read, first = body.wait, body.first
	}
	op := operationLog{
		RequestID:                id,
		UserVars:                 userVars(f),
		ResponseSize:             sw.bytes,
		UncompressedResponseSize: sw.bytes,
		RequestReadTime:          read.Seconds(),
		QueryExecutionTime:       (elapsed - read).Seconds(),
		Error:                    lerr,
		RequestMode:              "non-graphql",
	}
	if f.OperationName != "" {
		op.Query = map[string]string{"operationName": f.OperationName}
	}
	switch {
	case lerr != nil:
		op.RequestMode = "error"
	case f.Group == "graphql" && first == '[':
		op.RequestMode = "batched"
	case f.Group == "graphql" && first == '{':
		op.RequestMode = "single"
	}
	info := httpInfoLog{
		Status:      sw.status,
		HTTPVersion: r.Proto,
		URL:         r.URL.Path,
		IP:          clientIP(r),
		Method:      r.Method,
	}
	if ce := sw.Header().Get("Content-Encoding"); ce != "" {
		info.ContentEncoding = &ce
	}
	s.deps.Log.LogAttrs(ctx, level, "request",
		slog.String("type", "http-log"),
		slog.String("timestamp", start.Format("2006-01-02T15:04:05.000-0700")),
		slog.Any("detail", httpLog{Operation: op, HTTPInfo: info, RequestID: id}),
	)
}

// userVars are the session variables the log shows: the session's, less
// anything named like a secret (the auth resolver already drops those).
func userVars(f reqlog.Fields) map[string]string {
	if len(f.Vars) == 0 && f.Role == "" {
		return nil
	}
	out := make(map[string]string, len(f.Vars)+1)
	for k, v := range f.Vars {
		if k == "x-hasura-admin-secret" || k == "x-hasura-access-key" {
			continue
		}
		out[k] = v
	}
	if f.Role != "" {
		out["x-hasura-role"] = f.Role
	}
	return out
}

// loggedError reads Hasura's error out of an error answer: REST
// {"path","error","code"} or GraphQL {"errors":[{"extensions":{"path","code"},"message"}]}
// (a refused websocket's is the bare error object). Internal detail is
// left out, and any credential the request carried is masked, should a
// message ever quote one.
func (s *Server) loggedError(r *http.Request, sw *statusWriter) *logError {
	var rest struct {
		Path, Error, Code string
	}
	type gqlErr struct {
		Message    string `json:"message"`
		Extensions struct {
			Path, Code string
		} `json:"extensions"`
	}
	var gql struct {
		gqlErr
		Errors []gqlErr `json:"errors"`
	}
	e := &logError{Path: "$", Code: "unexpected"}
	switch {
	case json.Unmarshal(sw.errBuf, &rest) == nil && rest.Code != "":
		e = &logError{Path: rest.Path, Error: rest.Error, Code: rest.Code}
	case json.Unmarshal(sw.errBuf, &gql) == nil && (len(gql.Errors) > 0 || gql.Extensions.Code != ""):
		g := gql.gqlErr
		if len(gql.Errors) > 0 {
			g = gql.Errors[0]
		}
		e = &logError{Path: g.Extensions.Path, Error: g.Message, Code: g.Extensions.Code}
	default:
		e.Error = http.StatusText(sw.status)
	}
	if e.Path == "" {
		e.Path = "$"
	}
	e.Error = s.mask(r, e.Error)
	return e
}

// sensitiveHeaders carry credentials; their values never reach the log.
var sensitiveHeaders = []string{"Authorization", "Cookie", "X-Hasura-Admin-Secret", "X-Hasura-Access-Key", "X-Connection-Encrypted"}

// mask replaces every credential the request carried, and the configured
// secrets, in s.
func (s *Server) mask(r *http.Request, msg string) string {
	var secrets []string
	for _, h := range sensitiveHeaders {
		for _, v := range r.Header.Values(h) {
			secrets = append(secrets, v)
			// a bearer token, a cookie's value may be quoted without the rest
			for _, part := range strings.FieldsFunc(v, func(c rune) bool { return c == ' ' || c == ';' || c == '=' || c == ',' }) {
				if len(part) >= 8 {
					secrets = append(secrets, part)
				}
			}
		}
	}
	secrets = append(secrets, s.deps.Config.AdminSecrets...)
	if s.deps.Config.MetricsSecret != "" {
		secrets = append(secrets, s.deps.Config.MetricsSecret)
	}
	for _, v := range secrets {
		if v != "" && strings.Contains(msg, v) {
			msg = strings.ReplaceAll(msg, v, "<redacted>")
		}
	}
	return msg
}

// clientIP is Hasura's: the X-Real-IP or X-Forwarded-For header a proxy
// set, else the peer's address.
func clientIP(r *http.Request) string {
	for _, h := range []string{"X-Real-Ip", "X-Forwarded-For"} {
		if v := r.Header.Get(h); v != "" {
			return v
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
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
