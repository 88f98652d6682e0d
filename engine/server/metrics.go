package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/strata-dev/strata/engine/apierr"
)

// metrics are the engine's Prometheus metrics, served on /v1/metrics when
// the metrics API group is on (Hasura EE's endpoint). They live in a
// registry of their own, so engines sharing a process do not mix.
type metrics struct {
	reg *prometheus.Registry
	// requests and duration are per route group (graphql, metadata, ...,
	// health, version, unknown) and status class (2xx, 4xx, ...).
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// inFlight and websockets carry Hasura EE's names and meanings: HTTP
	// requests being served (websockets apart), and open websockets.
	inFlight   prometheus.Gauge
	websockets prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_http_requests_total",
			Help: "HTTP requests answered, by route group and status class (websockets counted when they close).",
		}, []string{"group", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "strata_http_request_duration_seconds",
			Help: "Time to answer HTTP requests (websockets apart), by route group and status class.",
			// Hasura EE's buckets for its execution time histograms.
			Buckets: []float64{0.01, 0.03, 0.1, 0.3, 1, 3, 10},
		}, []string{"group", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hasura_http_connections",
			Help: "HTTP requests being served now (websockets apart).",
		}),
		websockets: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hasura_websocket_connections",
			Help: "Open websocket connections.",
		}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.inFlight, m.websockets,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// begin counts a request in flight; the returned func counts it done.
func (m *metrics) begin(websocket bool) func(group string, status int, d time.Duration) {
	g := m.inFlight
	if websocket {
		g = m.websockets
	}
	g.Inc()
	return func(group string, status int, d time.Duration) {
		g.Dec()
		class := statusClass(status)
		m.requests.WithLabelValues(group, class).Inc()
		if !websocket {
			m.duration.WithLabelValues(group, class).Observe(d.Seconds())
		}
	}
}

func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// handler serves the registry. With a secret, as Hasura EE asks with
// HASURA_GRAPHQL_METRICS_SECRET, only "Authorization: Bearer <secret>"
// gets through; the comparison takes the same time whatever was sent.
// Without one the metrics are open to whoever reaches the endpoint, as in
// Hasura EE, which documents the secret as advised rather than required;
// the metrics group is off unless switched on, and New warns.
func (m *metrics) handler(secret string) http.HandlerFunc {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	if secret == "" {
		return h.ServeHTTP
	}
	want := sha256.Sum256([]byte(secret))
	return func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(bearer(r.Header.Get("Authorization"))))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			apierr.WriteREST(w, apierr.New(http.StatusUnauthorized, apierr.CodeAccessDenied, "invalid metrics secret: send Authorization: Bearer <HASURA_GRAPHQL_METRICS_SECRET>"), false)
			return
		}
		h.ServeHTTP(w, r)
	}
}

// bearer is the token of an "Authorization: Bearer <token>" value ("" when
// the scheme is another); the scheme name is case-insensitive.
func bearer(v string) string {
	scheme, tok, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}
