package server_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/test/enginetest"
)

func scrape(t *testing.T, url string, header http.Header) string {
	t.Helper()
	status, _, body := do(t, http.MethodGet, url+"/v1/metrics", header, "")
	if status != 200 {
		t.Fatalf("GET /v1/metrics = %d %s", status, body)
	}
	return body
}

// sample reads one sample's value (0 when absent).
func sample(t *testing.T, body, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMetricsNeedTheBearerSecret(t *testing.T) {
	e := enginetest.Start(t, func(c *config.Config) {
		c.EnabledAPIs = append(c.EnabledAPIs, config.APIMetrics)
		c.MetricsSecret = "metrics-s3cret"
		c.AdminSecrets = []string{"adm1n"}
	})
	for _, h := range []http.Header{
		nil,
		{"Authorization": {"Bearer wrong"}},
		{"Authorization": {"metrics-s3cret"}},
		{"Authorization": {"Basic metrics-s3cret"}},
		{"X-Hasura-Admin-Secret": {"adm1n"}}, // the admin secret is not the metrics secret
	} {
		status, _, body := do(t, http.MethodGet, e.URL+"/v1/metrics", h, "")
		if status != 401 || !strings.Contains(body, `"code":"access-denied"`) {
			t.Errorf("GET /v1/metrics with %v = %d %s, want 401 access-denied", h, status, body)
		}
	}
	auth := http.Header{"Authorization": {"Bearer metrics-s3cret"}}
	before := scrape(t, e.URL, auth)
	for _, want := range []string{"go_goroutines", "process_resident_memory_bytes", "hasura_http_connections", "strata_http_requests_total"} {
		if !strings.Contains(before, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	const series = `strata_http_requests_total{group="version",status="2xx"}`
	const notFound = `strata_http_requests_total{group="unknown",status="4xx"}`
	const hist = `strata_http_request_duration_seconds_count{group="version",status="2xx"}`
	for range 3 {
		do(t, http.MethodGet, e.URL+"/v1/version", nil, "")
	}
	do(t, http.MethodGet, e.URL+"/no/such/path", nil, "")
	after := scrape(t, e.URL, http.Header{"Authorization": {"bearer metrics-s3cret"}}) // the scheme is case-insensitive
	if d := sample(t, after, series) - sample(t, before, series); d != 3 {
		t.Errorf("%s went up by %v, want 3", series, d)
	}
	if d := sample(t, after, hist) - sample(t, before, hist); d != 3 {
		t.Errorf("%s went up by %v, want 3", hist, d)
	}
	if d := sample(t, after, notFound) - sample(t, before, notFound); d != 1 {
		t.Errorf("%s went up by %v, want 1", notFound, d)
	}
	// The scrape in flight counts itself.
	if v := sample(t, after, "hasura_http_connections"); v != 1 {
		t.Errorf("hasura_http_connections = %v during a scrape, want 1", v)
	}
	// Scrapes are counted under their own group.
	if v := sample(t, after, `strata_http_requests_total{group="metrics",status="2xx"}`); v < 1 {
		t.Errorf("scrapes not counted: %v", v)
	}
}

// Without a secret the endpoint is open, as in Hasura EE; and it is off
// unless the metrics group is switched on.
func TestMetricsWithoutSecretAndOffByDefault(t *testing.T) {
	e := enginetest.Start(t, func(c *config.Config) { c.EnabledAPIs = append(c.EnabledAPIs, config.APIMetrics) })
	if body := scrape(t, e.URL, nil); !strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics without a secret: %s", body)
	}

	off := enginetest.Start(t, nil)
	if status, _, body := do(t, http.MethodGet, off.URL+"/v1/metrics", nil, ""); status != 404 || strings.TrimSpace(body) != notFoundBody {
		t.Errorf("metrics off by default: %d %s", status, body)
	}
}
