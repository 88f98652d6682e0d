package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/test/enginetest"
)

type probe struct {
	method, path, body string
	wantStatus         int
}

// Every route of every API group, asked so that it answers when on.
var groupRoutes = map[string][]probe{
	config.APIGraphQL: {
		{http.MethodPost, "/v1/graphql", `{"query":"{ __typename }"}`, 200},
		{http.MethodPost, "/v1alpha1/graphql", `{"query":"{ __typename }"}`, 200},
		{http.MethodPost, "/v1beta1/relay", `{"query":"{ __typename }"}`, 200},
	},
	config.APIMetadata: {
		{http.MethodPost, "/v1/metadata", `{"type":"export_metadata","args":{}}`, 200},
		{http.MethodPost, "/v1/query", `{"type":"bulk","args":[]}`, 200},
		{http.MethodPost, "/v2/query", `{"type":"run_sql","args":{"sql":"select 1"}}`, 200},
	},
	config.APIConfig:    {{http.MethodGet, "/v1alpha1/config", "", 200}},
	config.APIPGMeta:    {{http.MethodGet, "/pg/schemas", "", 200}},
	config.APIDeveloper: {{http.MethodGet, "/dev/plan_cache", "", 200}},
	config.APIMetrics:   {{http.MethodGet, "/v1/metrics", "", 200}},
	config.APIPGDump:    {{http.MethodPost, "/v1alpha1/pg_dump", `{"opts":["--schema-only"]}`, 200}},
}

const notFoundBody = `{"path":"$","error":"resource does not exist","code":"not-found"}`

func TestEachAPIGroupCanBeSwitchedOff(t *testing.T) {
	all := []string{config.APIGraphQL, config.APIMetadata, config.APIConfig, config.APIPGMeta,
		config.APIDeveloper, config.APIMetrics, config.APIPGDump}
	for _, off := range all {
		t.Run(off, func(t *testing.T) {
			on := slices.DeleteFunc(slices.Clone(all), func(g string) bool { return g == off })
			e := enginetest.Start(t, func(c *config.Config) { c.EnabledAPIs = on })
			for _, p := range groupRoutes[off] {
				status, _, body := do(t, p.method, e.URL+p.path, nil, p.body)
				if status != 404 || strings.TrimSpace(body) != notFoundBody {
					t.Errorf("%s off: %s %s = %d %s, want 404 %s", off, p.method, p.path, status, body, notFoundBody)
				}
			}
			for _, g := range on {
				for _, p := range groupRoutes[g] {
					if status, _, body := do(t, p.method, e.URL+p.path, nil, p.body); status != p.wantStatus {
						t.Errorf("%s off: %s %s = %d %s, want %d", off, p.method, p.path, status, body, p.wantStatus)
					}
				}
			}
		})
	}
}

// /healthz and /v1/version belong to no group: they answer with every
// group off.
func TestHealthAndVersionAreAlwaysOn(t *testing.T) {
	e := enginetest.Start(t, func(c *config.Config) { c.EnabledAPIs = nil })
	for _, path := range []string{"/healthz", "/hasura/healthz", "/v1/version"} {
		if status, _, body := do(t, http.MethodGet, e.URL+path, nil, ""); status != 200 {
			t.Errorf("GET %s with no API group on = %d %s", path, status, body)
		}
	}
	for _, probes := range groupRoutes {
		for _, p := range probes {
			if status, _, _ := do(t, p.method, e.URL+p.path, nil, p.body); status != 404 {
				t.Errorf("%s %s with no API group on = %d, want 404", p.method, p.path, status)
			}
		}
	}
}
