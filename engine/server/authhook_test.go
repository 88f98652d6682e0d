package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/strata-dev/strata/engine/config"
)

// recordingHook is a POST auth webhook that lets everyone in as "user",
// sets a cookie, and keeps the "request" member of every call.
type recordingHook struct {
	mu       sync.Mutex
	requests []string
}

func (h *recordingHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct{ Request json.RawMessage }
	b, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(b, &body)
	h.mu.Lock()
	h.requests = append(h.requests, string(body.Request))
	h.mu.Unlock()
	w.Header().Add("Set-Cookie", "session=renewed; HttpOnly")
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"X-Hasura-Role":"user","X-Hasura-User-Id":"7"}`)
}

func (h *recordingHook) last() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.requests) == 0 {
		return ""
	}
	return h.requests[len(h.requests)-1]
}

// TestAuthHookPOST: through the whole server, a POST auth hook is sent
// the GraphQL request it authorizes (null for a REST endpoint, as in
// Hasura), its Set-Cookie reaches the client, and the session it
// answered is in the request's log line, REST included.
func TestAuthHookPOST(t *testing.T) {
	hook := &recordingHook{}
	hs := httptest.NewServer(hook)
	t.Cleanup(hs.Close)
	url, logs := startLogged(t, func(c *config.Config) {
		c.AdminSecrets = []string{logAdminSecret}
		c.AuthHook, c.AuthHookMode = hs.URL, "POST"
	})
	admin := http.Header{"X-Hasura-Admin-Secret": {logAdminSecret}}
	if status, _, body := do(t, http.MethodPost, url+"/v1/metadata", admin, `{"type":"bulk","args":[
	  {"type":"create_query_collection","args":{"name":"c","definition":{"queries":[{"name":"q","query":"query q { __typename }"}]}}},
	  {"type":"create_rest_endpoint","args":{"name":"q","url":"q","methods":["GET"],"definition":{"query":{"collection_name":"c","query_name":"q"}}}}
	]}`); status != http.StatusOK {
		t.Fatalf("setup: %d %s", status, body)
	}

	status, h, body := do(t, http.MethodPost, url+"/v1/graphql", http.Header{"X-Request-Id": {"hook-gql"}},
		`{"query":"query Q { __typename }","operationName":"Q","extensions":{"persistedQuery":null}}`)
	if status != http.StatusOK || body != `{"data":{"__typename":"query_root"}}` {
		t.Fatalf("graphql: %d %s", status, body)
	}
	if want := `{"operationName":"Q","query":"query Q { __typename }"}`; hook.last() != want {
		t.Errorf("the hook was sent\n %s\nwant\n %s", hook.last(), want)
	}
	if !slices.Contains(h.Values("Set-Cookie"), "session=renewed; HttpOnly") {
		t.Errorf("Set-Cookie %q: the hook's cookie did not reach the client", h.Values("Set-Cookie"))
	}

	status, h, body = do(t, http.MethodGet, url+"/api/rest/q", http.Header{"X-Request-Id": {"hook-rest"}}, "")
	if status != http.StatusOK {
		t.Fatalf("rest: %d %s", status, body)
	}
	if hook.last() != "null" {
		t.Errorf("a REST call sent the hook request %s, want null", hook.last())
	}
	if !slices.Contains(h.Values("Set-Cookie"), "session=renewed; HttpOnly") {
		t.Errorf("REST Set-Cookie %q", h.Values("Set-Cookie"))
	}
	for _, id := range []string{"hook-gql", "hook-rest"} {
		line := httpLogLine(t, logs.String(), id)
		if vars := path(line, "detail", "operation", "user_vars"); !equalJSON(vars, map[string]any{"x-hasura-role": "user", "x-hasura-user-id": "7"}) {
			t.Errorf("%s: logged session %v", id, vars)
		}
	}
}
