package api_test

import (
	"testing"

	"github.com/strata-dev/strata/test/enginetest"
)

func TestTestWebhookTransform(t *testing.T) {
	e := enginetest.Start(t, withSecret)
	v0, _ := exportV2(t, e.URL)

	for _, tc := range []struct {
		name, args string
		status     int
		want       string
	}{
		{"query string template (Hasura's api-tests)",
			`{"webhook_url":"http://localhost:3000","body":{"input":["apple","banana"]},
			  "request_transform":{"version":2,"url":"{{ $base_url }}","template_engine":"Kriti",
			    "query_params":"{{ concat ([concat({{ range _, x := $body.input }} \"tags={{x}}&\" {{ end }}), \"flag=smthng\"]) }}"}}`,
			200, `{"body":{"input":["apple","banana"]},"headers":[],"method":"GET","webhook_url":"http://localhost:3000?tags=apple&tags=banana&flag=smthng"}`},
		{"sample environment in the URL and headers",
			`{"webhook_url":"http://{{HOST}}/a{b","env":{"HOST":"h.com","TOKEN":"t"},"body":{"k":1},
			  "request_headers":[["Authorization","Bearer {{TOKEN}}"],["X-Plain","v"]],
			  "request_transform":{"version":2,"method":"PUT","request_headers":{"remove_headers":["x-plain"]}}}`,
			200, `{"body":{"k":1},"headers":[["authorization","Bearer t"]],"method":"PUT","webhook_url":"http://h.com/a%7Bb"}`},
		{"session variables, numbers and characters as Hasura writes them",
			`{"webhook_url":"http://x","body":{"n":1.0,"s":"<&>"},"session_variables":{"X-Hasura-Role":"editor","ignored":"x"},
			  "request_transform":{"body":"{\"n\": {{ $body.n }}, \"s\": {{ $body.s }}, \"role\": {{ getSessionVariable(\"x-hasura-role\") }}, \"all\": {{ $session_variables }}}"}}`,
			200, `{"body":{"all":{"x-hasura-role":"editor"},"n":1.0,"role":"editor","s":"<&>"},"headers":[],"method":"GET","webhook_url":"http://x/"}`},
		{"form body",
			`{"webhook_url":"http://x","body":{"a":"x y"},
			  "request_transform":{"version":2,"body":{"action":"x_www_form_urlencoded","form_template":{"b":"{{$body.a}}","a":"1"}}}}`,
			200, `{"body":"a=1&b=x%20y","headers":[],"method":"GET","webhook_url":"http://x/"}`},
		{"missing sample variable",
			`{"webhook_url":"http://{{NOPE}}","body":null,"request_transform":{}}`,
			400, `{"path":"$.args","error":"Missing Env Var: NOPE. For security reasons when testing request options real environment variable values are not available. Please enter a mock value for NOPE in the Sample Env Variables list. See https://hasura.io/docs/latest/graphql/core/actions/rest-connectors/#action-transforms-sample-context","code":"not-found"}`},
		{"missing from_env variable",
			`{"webhook_url":{"from_env":"NOPE"},"body":null,"request_transform":{}}`,
			400, `{"path":"$.args","error":"Missing Env Var","code":"not-found"}`},
		{"bad webhook URL",
			`{"webhook_url":"ftp://x","body":null,"request_transform":{}}`,
			400, `{"path":"$.args","error":"request transform validation failed","code":"validation-failed","internal":[{"error_code":"Request Initialization Error","message":"InvalidUrlException \"ftp://x\" \"Invalid scheme\""}]}`},
		{"templates are validated before anything runs, the response's first",
			`{"webhook_url":{"from_env":"NOPE"},"body":null,"request_transform":{"body":"[1,"},
			  "response_transform":{"version":2,"body":{"action":"transform","template":"< }}"}}}`,
			400, `{"path":"$.args","error":"response transform validation failed","code":"validation-failed","internal":[{"error_code":"Parse Error","message":"Unexpected token '<'.","source_position":{"end_column":5,"end_line":0,"start_column":4,"start_line":0}}]}`},
		{"evaluation error",
			`{"webhook_url":"http://x","body":{"hello":"world"},"request_transform":{"url":"http://y/{{ $body.world }}"}}`,
			400, `{"path":"$.args","error":"request transform validation failed","code":"validation-failed","internal":[{"error_code":"Attribute Error","message":"'Object' has no attribute 'world'.","source_position":{"end_column":25,"end_line":0,"start_column":14,"start_line":0}}]}`},
		{"arguments are parsed first",
			`{"body":null,"request_transform":{}}`,
			400, `{"path":"$.args","error":"key \"webhook_url\" not found","code":"parse-failed"}`},
		{"a bad transform",
			`{"webhook_url":"http://x","body":null,"request_transform":{"version":7}}`,
			400, `{"path":"$.args.request_transform.version","error":"expected 1 or 2, encountered 7","code":"parse-failed"}`},
	} {
		status, got := post(t, e.URL, "/v1/metadata", `{"type":"test_webhook_transform","args":`+tc.args+`}`)
		if status != tc.status || got != tc.want {
			t.Errorf("%s:\n got %d %s\nwant %d %s", tc.name, status, got, tc.status, tc.want)
		}
	}

	// Testing a transform changes no metadata.
	if v1, _ := exportV2(t, e.URL); v1 != v0 {
		t.Errorf("resource_version %d -> %d", v0, v1)
	}
}
