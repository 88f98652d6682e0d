package rest_test

import (
	"encoding/json"
	"net/http"
	"os"
	"sort"
	"testing"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/test/enginetest"
)

// The OpenAPI document matches Hasura's on the cases of its own test
// suite (server/tests-py/queries/openapi, kept as JSON in testdata): each
// case creates endpoints, reads /api/swagger/json and drops them.
func TestOpenAPIMatchesHasura(t *testing.T) {
	e := enginetest.Start(t, func(c *config.Config) { c.AdminSecrets = []string{secret} })
	c := client{t: t, url: e.URL}
	setup, err := os.ReadFile("testdata/openapi_setup.json")
	if err != nil {
		t.Fatal(err)
	}
	c.metadata(string(setup))

	raw, err := os.ReadFile("testdata/openapi_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		URL      string          `json:"url"`
		Method   string          `json:"method"`
		Status   int             `json:"status"`
		Query    json.RawMessage `json:"query"`
		Response json.RawMessage `json:"response"`
	}
	var cases map[string][]step
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			c := client{t: t, url: e.URL}
			for _, s := range cases[name] {
				body := ""
				if s.Method != http.MethodGet {
					body = string(s.Query)
				}
				status, got := c.do(s.Method, s.URL, admin(), body)
				if status != s.Status {
					t.Errorf("%s %s: %d, want %d: %s", s.Method, s.URL, status, s.Status, got)
					continue
				}
				equalJSON(t, s.Method+" "+s.URL, got, string(s.Response))
			}
		})
	}
}

func TestOpenAPIIsForAdmins(t *testing.T) {
	c := start(t)
	status, body := c.do("GET", "/api/swagger/json", asRole("user"), "")
	if status != 400 {
		t.Errorf("as user: %d %s", status, body)
	}
	equalJSON(t, "as user", body, `{"path":"$","error":"You have to be an admin to access this endpoint","code":"access-denied"}`)
	if status, body := c.do("POST", "/api/swagger/json", admin(), ""); status != 404 {
		t.Errorf("POST: %d %s", status, body)
	}
	status, body = c.do("GET", "/api/swagger/json", admin(), "")
	if status != 200 {
		t.Fatalf("as admin: %d %s", status, body)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name, In string
				Required bool
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	p := doc.Paths["/api/rest/people/{id}"]["get"].Parameters
	if len(p) != 2 || p[1].Name != "id" || p[1].In != "path" || !p[1].Required {
		t.Errorf("parameters of /api/rest/people/{id}: %+v", p)
	}
}
