package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
)

// fakeHasura answers like a tiny Hasura: /v1/query setup requests get
// {"message":"success"} (a request of type "bad" gets a 400), /v1/graphql
// a fixed result over HTTP and over the legacy websocket protocol.
type fakeHasura struct {
	mu       sync.Mutex
	requests []string // "POST /v1/query bulk", ...
}

const fakeResult = `{"data":{"author":[{"id":1,"name":"A"}]}}`

func (f *fakeHasura) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1/graphql" && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		f.serveWS(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req struct{ Type string }
	_ = json.Unmarshal(body, &req)
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path+" "+req.Type)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/healthz":
		_, _ = w.Write([]byte("OK"))
	case r.URL.Path == "/v1/query" && req.Type == "bad":
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"path":"$","error":"bad setup","code":"invalid"}`))
	case r.URL.Path == "/v1/query":
		_, _ = w.Write([]byte(`{"message":"success"}`))
	case r.URL.Path == "/v1/graphql":
		_, _ = w.Write([]byte(fakeResult))
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"path":"$","error":"resource does not exist","code":"not-found"}`))
	}
}

// serveWS speaks subscriptions-transport-ws, as Hasura does to a client
// that asks for no subprotocol.
func (f *fakeHasura) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := r.Context()
	read := func() map[string]any {
		_, data, err := c.Read(ctx)
		if err != nil {
			return nil
		}
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		return m
	}
	write := func(s string) { _ = c.Write(ctx, websocket.MessageText, []byte(s)) }
	if m := read(); m == nil || m["type"] != "connection_init" {
		return
	}
	write(`{"type":"connection_ack"}`)
	write(`{"type":"ka"}`)
	if m := read(); m == nil || m["type"] != "start" {
		return
	}
	write(`{"type":"data","id":"1","payload":` + fakeResult + `}`)
	write(`{"type":"complete","id":"1"}`)
	read() // until the client closes
}

func (f *fakeHasura) saw(req string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.requests {
		if r == req {
			return true
		}
	}
	return false
}

// The runner, end to end, on a tiny manifest against the fake: the closing
// line must count exactly what happened.
func TestRunnerEndToEnd(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"one/setup.yaml":    "type: bulk\nargs: []\n",
		"one/teardown.yaml": "type: teardown_bulk\nargs: []\n",
		"one/pass.yaml": `
description: matches the fake's answer
url: /v1/graphql
status: 200
query:
  query: |
    query { author { id name } }
response:
  data:
    author:
    - id: 1
      name: A
`,
		"one/fail.yaml": `
- url: /v1/graphql
  status: 200
  query: {query: "query { author { id name } }"}
  response: {data: {author: [{id: 1, name: A}]}}
- url: /v1/graphql
  status: 200
  query: {query: "query { author { id name } }"}
  response: {data: {author: [{id: 1, name: B}]}}
`,
		"one/custom.yaml": "url: /v1/graphql\nquery: {query: '{ x }'}\n",
		"two/setup.yaml":  "type: bad\n",
		"two/a.yaml":      "url: /v1/graphql\nquery: {query: '{ author { id } }'}\nresponse: {data: {}}\n",
		"manifest.json": `{"classes": [
 {"class": "TestOne", "dir": "one", "fixtures": ["per_class_tests_db_state"], "transports": ["http", "websocket"],
  "class_marks": ["pytest.mark.something_else"], "attrs": {},
  "setup": {"setup": "one/setup.yaml", "teardown": "one/teardown.yaml"},
  "tests": [
   {"name": "test_pass", "replayable": true, "cases": [{"file": "one/pass.yaml", "transport": "$transport", "add_auth": true}]},
   {"name": "test_fail", "replayable": true, "cases": [{"file": "one/fail.yaml", "transport": "http", "add_auth": true}]},
   {"name": "test_custom", "replayable": false, "cases": [{"file": "one/custom.yaml", "transport": "http", "add_auth": true}]}
  ]},
 {"class": "TestTwo", "dir": "two", "fixtures": ["per_method_tests_db_state"], "transports": ["http"],
  "class_marks": [], "attrs": {}, "setup": {"setup": "two/setup.yaml"},
  "tests": [
   {"name": "test_a", "replayable": true, "cases": [{"file": "two/a.yaml", "transport": "http", "add_auth": true}]},
   {"name": "test_b", "replayable": true, "xfail": true, "cases": [{"file": "two/a.yaml", "transport": "http", "add_auth": true}]}
  ]},
 {"class": "TestEnv", "dir": "two", "fixtures": [], "transports": ["http"],
  "class_marks": ["pytest.mark.hge_env('HASURA_GRAPHQL_UNAUTHORIZED_ROLE', 'anonymous')"], "attrs": {}, "setup": {},
  "tests": [{"name": "test_env", "replayable": true, "cases": [{"file": "two/a.yaml", "transport": "http", "add_auth": true}]}]}
]}`,
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fake := &fakeHasura{}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--manifest", filepath.Join(dir, "manifest.json"), "--engine", srv.URL, "-v"}, &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s\nstdout:\n%s", code, errOut.String(), out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; last != "2 passed, 2 failed, 3 skipped" {
		t.Errorf("closing line %q\n%s", last, out.String())
	}
	for _, want := range []string{
		"PASS TestOne test_pass one/pass.yaml [http]",
		"PASS TestOne test_pass one/pass.yaml [websocket]",
		`FAIL TestOne test_fail one/fail.yaml [http]: case 2 of 2: $.data.author[0].name: expected "B", got "A"`,
		"SKIP TestOne test_custom one/custom.yaml [http]: " + notReplayable,
		`FAIL TestTwo test_a two/a.yaml [http]: setup failed: two/setup.yaml: 400 {"path":"$","error":"bad setup","code":"invalid"}`,
		"SKIP TestTwo test_b two/a.yaml [http]: xfail upstream",
		"SKIP TestEnv test_env two/a.yaml [http]: needs hge_env HASURA_GRAPHQL_UNAUTHORIZED_ROLE=anonymous (external engine)",
		"NOTE TestOne: ignoring mark pytest.mark.something_else",
	} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("missing line %q in\n%s", want, out.String())
		}
	}
	if !fake.saw("POST /v1/query teardown_bulk") {
		t.Error("class teardown was not sent")
	}

	// Without -v: only FAIL lines, the skip summary and the closing line.
	out.Reset()
	code = run(context.Background(), []string{"--manifest", filepath.Join(dir, "manifest.json"), "--engine", srv.URL, "--fail-on-failure", "--class", "^TestOne$"}, &out, &errOut)
	if code != exitFailures {
		t.Errorf("--fail-on-failure: exit %d", code)
	}
	want := `FAIL TestOne test_fail one/fail.yaml [http]: case 2 of 2: $.data.author[0].name: expected "B", got "A"` + "\n" +
		"skipped 1: " + notReplayable + "\n" +
		"2 passed, 1 failed, 1 skipped\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	good := filepath.Join(dir, "good.json")
	_ = os.WriteFile(bad, []byte(`{"classes": [{"tests": []}]}`), 0o644)
	_ = os.WriteFile(good, []byte(`{"classes": []}`), 0o644)
	for _, args := range [][]string{
		{},
		{"--manifest", filepath.Join(dir, "missing.json")},
		{"--manifest", bad},
		{"--manifest", bad, "--no-such-flag"},
		{"--manifest", good, "--class", "("},
		{"--manifest", good, "--class", "NoSuchClass"},
		{"--manifest", good, "extra"},
		{"--manifest", good, "--engine", "ftp://x"},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
		if s := errOut.String(); !strings.HasPrefix(s, "conformance: ") || strings.Count(s, "\n") != 1 {
			t.Errorf("%v: want one error line, got %q", args, s)
		}
	}
}
