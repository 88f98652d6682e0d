package transform

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/strata-dev/strata/engine/apierr"
)

func mustParse(t *testing.T, doc string) *RequestTransform {
	t.Helper()
	rt, err := ParseRequestTransform(json.RawMessage(doc), "$.rt")
	if err != nil {
		t.Fatalf("parse %s: %v", doc, err)
	}
	return rt
}

// result writes a transformed request compactly for comparisons.
func result(r *Request) string {
	b, _ := json.Marshal(struct {
		Method, URL string
		Headers     []Header
		Body        string
	}{r.Method, r.URL(), r.Headers, string(r.Body)})
	return string(b)
}

func TestApply(t *testing.T) {
	for _, tc := range []struct {
		name, url, body, transform, want string
	}{
		{"everything (Hasura's test_webhook_transform_success)", "http://localhost:1234", `{"hello":"world"}`,
			`{"version":2,"url":"http://www.google.com","template_engine":"Kriti","method":"POST",
			  "body":{"action":"transform","template":"\"hello_{{ $body.hello }}\""},
			  "query_params":{"foo":"bar"},"request_headers":{"add_headers":{"foo":"bar","content-type":"application/json"}}}`,
			`{"Method":"POST","URL":"http://www.google.com?foo=bar","Headers":[{"Name":"content-type","Value":"application/json"},{"Name":"foo","Value":"bar"}],"Body":"\"hello_world\""}`},
		{"version 1 body", "http://localhost:1234", `{"a":1.50}`,
			`{"body":"{\"b\": {{ $body.a }}, \"base\": {{ $base_url }}}"}`,
			`{"Method":"GET","URL":"http://localhost:1234/","Headers":null,"Body":"{\"b\":1.5,\"base\":\"http://localhost:1234\"}"}`},
		{"nothing to do re-encodes the body", "http://x/?a=1", `{"n": 1E2}`, `{}`,
			`{"Method":"GET","URL":"http://x/?a=1","Headers":null,"Body":"{\"n\":100}"}`},
		{"remove body", "http://x", `{"a":1}`, `{"version":2,"body":{"action":"remove"}}`,
			`{"Method":"GET","URL":"http://x/","Headers":null,"Body":""}`},
		{"form, null fields dropped", "http://x", `{"a":"x y","n":null}`,
			`{"version":2,"body":{"action":"x_www_form_urlencoded","form_template":{"k/1":"{{$body.a}}","n":"{{$body.n}}","t":"{{ 1 == 1 }}"}}}`,
			`{"Method":"GET","URL":"http://x/","Headers":null,"Body":"k%2F1=x%20y\u0026t=true"}`},
		// Hasura's api-tests of query string templates.
		{"query template", "http://localhost:3000", `{"input":["apple","banana"]}`,
			`{"version":2,"url":"{{ $base_url }}","query_params":"{{ concat ([concat({{ range _, x := $body.input }} \"tags={{x}}&\" {{ end }}), \"flag=smthng\"]) }}"}`,
			`{"Method":"GET","URL":"http://localhost:3000?tags=apple\u0026tags=banana\u0026flag=smthng","Headers":null,"Body":"{\"input\":[\"apple\",\"banana\"]}"}`},
		{"query template escaped", "http://localhost:3000", `{"input":["apple","banana"]}`,
			`{"version":2,"url":"{{ $base_url }}","query_params":"{{ concat ([\"tags=\", concat({{ range _, x := $body.input }} \"{{x}},\" {{ end }})]) }}"}`,
			`{"Method":"GET","URL":"http://localhost:3000?tags=apple%2Cbanana%2C","Headers":null,"Body":"{\"input\":[\"apple\",\"banana\"]}"}`},
		{"query params: null drops, a null template is a bare key", "http://x/?old=1", `{}`,
			`{"query_params":{"a":"{{ $query_params }}","gone":"{{ null }}","bare":null}}`,
			`{"Method":"GET","URL":"http://x/?a=%5B%5B%22old%22%2C%221%22%5D%5D\u0026bare","Headers":null,"Body":"{}"}`},
		// The URL part does not see the query part, and the query part
		// replaces the URL's query string.
		{"url query replaced by the original", "http://x/?keep=1", `{}`, `{"url":"http://y/p?lost=1"}`,
			`{"Method":"GET","URL":"http://y/p?keep=1","Headers":null,"Body":"{}"}`},
		{"session variables", "http://x", `{}`,
			`{"url":"http://x/{{ $session_variables['x-hasura-role'] }}/{{ getSessionVariable(\"X-Hasura-User-Id\") }}"}`,
			`{"Method":"GET","URL":"http://x/user/42","Headers":null,"Body":"{}"}`},
	} {
		req, err := NewRequest(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		req.Body = []byte(tc.body)
		rt := mustParse(t, tc.transform)
		if errs := rt.Validate(); errs != nil {
			t.Errorf("%s: validate: %v", tc.name, errs)
			continue
		}
		sv := NewSessionVariables(map[string]string{"X-Hasura-Role": "user", "x-hasura-user-id": "42", "other": "dropped"})
		out, err := rt.Apply(req, NewContext(tc.url, sv, req))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := result(out); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		if req.Body == nil || string(req.Body) != tc.body {
			t.Errorf("%s: the request was modified", tc.name)
		}
	}
}

func TestApplyHeaders(t *testing.T) {
	req, _ := NewRequest("http://x")
	req.Headers = []Header{{"Cookie", "c"}, {"X-Keep", "k"}, {"content-type", "text/plain"}}
	rt := mustParse(t, `{"request_headers":{"remove_headers":["cookie","Content-Type"],"add_headers":{"Authorization":"Bearer {{ $body.t }}"}}}`)
	req.Body = []byte(`{"t":"tok"}`)
	out, err := rt.Apply(req, NewContext("http://x", nil, req))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out.Headers)
	if string(b) != `[{"Name":"X-Keep","Value":"k"},{"Name":"Authorization","Value":"Bearer tok"}]` {
		t.Errorf("headers: %s", b)
	}
}

// errorsJSON is a failure's "internal" list.
func errorsJSON(t *testing.T, err error) string {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("not Errors: %v", err)
	}
	b, _ := json.Marshal(es)
	return string(b)
}

func TestApplyErrors(t *testing.T) {
	for _, tc := range []struct{ name, transform, want string }{
		{"eval error in the body", `{"body":"{{ $body.world }}"}`,
			`[{"error_code":"Attribute Error","message":"'Object' has no attribute 'world'.","source_position":{"end_column":15,"end_line":0,"start_column":4,"start_line":0}}]`},
		{"the URL fails first", `{"url":"{{ $nope }}","body":"{{ $body.world }}"}`,
			`[{"error_code":"Name Error","message":"Variable '$nope' not in scope","source_position":{"end_column":10,"end_line":0,"start_column":5,"start_line":0}}]`},
		{"not a URL", `{"url":"no url {{ 1 }}"}`, `[{"error_code":"TransformationError","message":"Invalid URL: no url 1"}]`},
		{"a URL that is not a string", `{"url":"\" == \""}`, `[{"error_code":"TransformationError","message":"URL Transforms must produce a JSON String: Bool True"}]`},
		{"all header errors", `{"request_headers":{"add_headers":{"b":"{{ $y }}","a":"{{ $x }}","c":"fine"}}}`,
			`[{"error_code":"Name Error","message":"Variable '$x' not in scope","source_position":{"end_column":7,"end_line":0,"start_column":5,"start_line":0}},` +
				`{"error_code":"Name Error","message":"Variable '$y' not in scope","source_position":{"end_column":7,"end_line":0,"start_column":5,"start_line":0}}]`},
		{"missing session variable", `{"body":"{{ getSessionVariable(\"x-hasura-nope\") }}"}`,
			`[{"error_code":"Function Error","message":"Session variable \"x-hasura-nope\" not found","source_position":{"end_column":38,"end_line":0,"start_column":23,"start_line":0}}]`},
	} {
		req, _ := NewRequest("http://x")
		req.Body = []byte(`{"hello":"world"}`)
		_, err := mustParse(t, tc.transform).Apply(req, NewContext("http://x", nil, req))
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if got := errorsJSON(t, err); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	rt := mustParse(t, `{"version":2,"url":"{{ }}","body":{"action":"transform","template":"[1,"},
		"query_params":{"k":"{{ [ }}"},"request_headers":{"add_headers":{"h":"ok {{ 1 }}"}}}`)
	got := errorsJSON(t, rt.Validate())
	// Every template's error, in Hasura's order; string templates are
	// checked wrapped in quotes, so their columns are one further.
	want := `[{"error_code":"Parse Error","message":"Unexpected token '}}'.","source_position":{"end_column":8,"end_line":0,"start_column":7,"start_line":0}},` +
		`{"error_code":"Parse Error","message":"ParseError: Empty token stream.","source_position":{"end_column":4,"end_line":0,"start_column":3,"start_line":0}},` +
		`{"error_code":"Parse Error","message":"Unexpected token '}}'.","source_position":{"end_column":10,"end_line":0,"start_column":9,"start_line":0}}]`
	if got != want {
		t.Errorf("validate:\n got %s\nwant %s", got, want)
	}
	resp, err := ParseResponseTransform(json.RawMessage(`{"version":2,"body":{"action":"transform","template":"$body.hello }}"}}`), "$.r")
	if err != nil {
		t.Fatal(err)
	}
	if got := errorsJSON(t, resp.Validate()); got != `[{"error_code":"Parse Error","message":"Unexpected token '}'.","source_position":{"end_column":15,"end_line":0,"start_column":14,"start_line":0}}]` {
		t.Errorf("response: %s", got)
	}
	if errs := mustParse(t, `{"body":"{{ 1 }}"}`).Validate(); errs != nil {
		t.Errorf("valid: %v", errs)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ doc, path, msg string }{
		{`[]`, "$.rt", "parsing RequestTransform failed, expected Object, but encountered Array"},
		{`{"version":3}`, "$.rt.version", "expected 1 or 2, encountered 3"},
		{`{"version":"2"}`, "$.rt.version", "parsing Int failed, expected Number, but encountered String"},
		{`{"version":2,"body":"x"}`, "$.rt.body", "parsing BodyTransformFn failed, expected Object, but encountered String"},
		{`{"version":2,"body":{"action":"shout"}}`, "$.rt.body", "invalid transform action"},
		{`{"version":2,"body":{}}`, "$.rt.body", `key "action" not found`},
		{`{"version":2,"body":{"action":"transform"}}`, "$.rt.body", `key "template" not found`},
		{`{"body":{"action":"remove"}}`, "$.rt.body", "parsing Template failed, expected String, but encountered Object"},
		{`{"query_params":1}`, "$.rt.query_params", "Invalid query parameter"},
		{`{"query_params":{"a":1}}`, "$.rt.query_params.a", "parsing Template failed, expected String, but encountered Number"},
		{`{"request_headers":{"remove_headers":[1]}}`, "$.rt.request_headers.remove_headers[0]", "parsing HeaderKey failed, expected String, but encountered Number"},
		{`{"method":1}`, "$.rt.method", "parsing Method failed, expected String, but encountered Number"},
		{`{"template_engine":"Mustache"}`, "$.rt.template_engine", `parsing TemplatingEngine failed, expected one of the tags ["Kriti"], but found tag "Mustache"`},
	} {
		_, err := ParseRequestTransform(json.RawMessage(tc.doc), "$.rt")
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Code != apierr.CodeParseFailed || ae.Path != tc.path || ae.Message != tc.msg {
			t.Errorf("%s: got %v (%+v), want %s at %s", tc.doc, err, ae, tc.msg, tc.path)
		}
	}
	// Null is absent; the old content_type is ignored, as in Hasura.
	rt := mustParse(t, `{"method":null,"url":null,"body":null,"content_type":"application/json"}`)
	if rt.Method != nil || rt.URL != nil || rt.Body != nil || rt.Version != 1 || rt.TemplateEngine != "Kriti" {
		t.Errorf("got %+v", rt)
	}
}

func TestSessionVariables(t *testing.T) {
	sv := NewSessionVariables(map[string]string{"X-Hasura-Role": "admin", "other": "x"})
	if v, ok := sv.Get("x-HASURA-role"); !ok || v != "admin" {
		t.Errorf("Get: %q %t", v, ok)
	}
	if _, ok := sv.Get("other"); ok || len(sv) != 1 {
		t.Errorf("kept a non-session variable: %v", sv)
	}
	var none SessionVariables
	if none.value() != nil {
		t.Error("no session variables is null")
	}
	if v, err := none.functions()["getSessionVariable"](nil); v != nil || err != nil {
		t.Errorf("getSessionVariable(null): %v %v", v, err)
	}
	if _, err := none.functions()["getSessionVariable"](1); err == nil || err.Error() != "Session variable name should be a string" {
		t.Errorf("getSessionVariable(1): %v", err)
	}
}
