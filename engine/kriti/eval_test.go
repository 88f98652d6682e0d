package kriti

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func decode(t testing.TB, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func testVars(t testing.TB) map[string]any {
	return map[string]any{
		"$body":              decode(t, `{"name":"Ada","age":36,"tags":["a","b",null],"nested":{"x":{"y":1}},"n":1.50,"obj":{"b":2,"a":1}}`),
		"$session_variables": decode(t, `{"x-hasura-role":"user","x-hasura-user-id":"42"}`),
		"$":                  decode(t, `[{"id":0,"active":false,"friends":[{"name":"A"},{"name":"B"}]},{"id":1,"active":true,"friends":[]}]`),
	}
}

// Evaluation: each template's result as aeson would write it.
var evalCases = []struct{ name, src, want string }{
	{"path", `{{ $body.name }}`, `"Ada"`},
	{"string template", `"Hi {{ $body.name }}, {{ $body.age }}"`, `"Hi Ada, 36"`},
	{"non-strings written as JSON", `"{{ $body.tags }} {{ $body.nested }} {{ null }} {{ true }}"`, `"[\"a\",\"b\",null] {\"x\":{\"y\":1}} null true"`},
	{"numbers keep aeson's form", `"{{ $body.n }}|{{ 1.0 }}|{{ 1e2 }}|{{ 0.01 }}"`, `"1.5|1.0|100|1.0e-2"`},
	{"session variable", `{{ $session_variables['x-hasura-role'] }}`, `"user"`},
	{"index", `{{ $body.tags[1] }}`, `"b"`},
	{"whole float index", `{{ $body.tags[1.0] }}`, `"b"`},
	{"nested path", `{{ $body.nested.x.y }}`, `1`},
	{"quoted keys", `{{ $body['nested']['x'] }}`, `{"y":1}`},
	{"computed key", `{{ $body.obj[$body.tags[0]] }}`, `1`},
	{"dollar variable", `{{ $[0].friends[1].name }}`, `"B"`},
	{"index a literal", `[10, 20][1]`, `20`},
	{"parenthesized lookup", `({"a": 1}).a`, `1`},
	{"optional missing", `{{ $body?.missing.deeper }}`, `null`},
	{"optional catches its object's error", `{{ $body.missing? }}`, `null`},
	{"optional undefined variable", `{{ $nope?.a }}`, `null`},
	{"optional index out of range", `{{ $body?.tags[5] }}`, `null`},
	{"optional negative index", `{{ $body?.tags[-1] }}`, `null`},
	{"optional quoted", `{{ $body?['name'] }}`, `"Ada"`},
	{"optional chains", `{{ $body?.nested?.x.y }}`, `1`},
	{"default", `[{{ $body?.name ?? "x" }}, {{ $body?.zip ?? "x" }}, {{ null ?? 2 }}, {{ false ?? 2 }}]`, `["Ada","x",2,false]`},
	{"default in a string", `"foo={{$bar? ?? ""}}"`, `"foo="`},
	{"if", `{{ if $body.age > 30 }} "old" {{ elif $body.age > 20 }} "mid" {{ else }} "young" {{ end }}`, `"old"`},
	{"elif", `{{ if false }} 1 {{ elif true }} 2 {{ else }} 3 {{ end }}`, `2`},
	{"else", `{{ if false }} 1 {{ elif false }} 2 {{ else }} 3 {{ end }}`, `3`},
	{"range with index", `{{ range i, x := $body.tags }} {{ i }} {{ end }}`, `[0,1,2]`},
	{"range building objects", `{{ range _, x := [1, 2] }} {"v": {{ x }}} {{ end }}`, `[{"v":1},{"v":2}]`},
	{"nested ranges see outer names", `{{ range _, p := $ }} {{ range _, f := p.friends }} "{{ p.id }}:{{ f.name }}" {{ end }} {{ end }}`, `[["0:A","0:B"],[]]`},
	{"range index shadows element", `{{ range x, x := ["a"] }} {{ x }} {{ end }}`, `[0]`},
	{"range over an if", `{{ range _, x := {{ if true }} [1] {{ else }} [] {{ end }} }} {{ x }} {{ end }}`, `[1]`},
	{"array in a template", `[{{ range _, x := $ }} {{ x.active }} {{ end }}]`, `[[false,true]]`},
	{"comparisons", `[1 == 1.0, "a" != "b", 2 > 10, "2" > "10", [1,2] < [1,3], {"a":1} < [], null > true, 1 <= 1, 2 >= 3, {"a":1} == {"a":1.0}, {"a":2} > {"a":1,"b":0}]`,
		`[true,true,false,true,true,true,true,true,false,true,true]`},
	{"booleans", `[true && false, true || false, (1 < 2) && (2 < 3)]`, `[false,true,true]`},
	{"in", `["a" in {"a":1}, "b" in {"a":1}, 2 in [1,2], [1] in [[1]], 3 in []]`, `[true,false,true,true,false]`},
	{"not", `[{{ not true }}, {{ not(false) }}, {{ not $body.age > 100 }}]`, `[false,true,true]`},
	{"literals", `{"a": [1, 2.50, -3, 1e2, true, false, null, "s"], "b": {}, "c": []}`, `{"a":[1,2.5,-3,100,true,false,null,"s"],"b":{},"c":[]}`},
	{"first duplicate key wins", `{"a": 1, "a": 2}`, `{"a":1}`},
	{"keys in order", `{"b": 1, "a": 2, "": 3}`, `{"":3,"a":2,"b":1}`},
	{"string keys may be split", `{"a\tb{c": 1}`, `{"a\tb{c":1}`},
	{"comments", "# comment\n[1, # two\n 2]", `[1,2]`},
	{"nested templates", `{{ {{ 1 }} }}`, `1`},
	{"template in a template", `"{{ "inner {{ 1 }}" }}"`, `"inner 1"`},
	{"integers wrap at 64 bits", `[18446744073709551617, 9223372036854775808, -01]`, `[1,-9223372036854775808,-1]`},
	{"big exponents", `[12345678.9, 1234567.8, 1e1025, -0, 0.0]`, `[1.23456789e7,1234567.8,1.0e1025,0,0.0]`},
	{"escapes", `"\u00e9\t\"\\\/\{\b\f\n\r"`, `"é\t\"\\\\/{\u0008\u000c\n\r"`},
	{"plain JSON", `{"users": {"name": "x", "ok": true}}`, `{"users":{"name":"x","ok":true}}`},
}

func TestEval(t *testing.T) {
	vars := testVars(t)
	for _, tc := range evalCases {
		got, err := Run(tc.src, vars, nil)
		if err != nil {
			t.Errorf("%s: %s: %v", tc.name, tc.src, err)
			continue
		}
		if s := string(Encode(got)); s != tc.want {
			t.Errorf("%s: %s\n got %s\nwant %s", tc.name, tc.src, s, tc.want)
		}
	}
}

// Evaluation errors, with Kriti's spans: the node that failed.
var evalErrorCases = []struct{ src, code, msg, span string }{
	// Hasura's test_webhook_transform_bad_eval.
	{`{{ $body.world }}`, CodeAttribute, "'Object' has no attribute 'world'.", "0:4-0:15"},
	{`{{ $nope }}`, CodeName, "Variable '$nope' not in scope", "0:4-0:9"},
	{`{{ $body.name.first }}`, CodeType, "Couldn't match expected type 'Object' with actual type 'String'", "0:4-0:14"},
	{`{{ $body.tags[3] }}`, CodeIndex, "Can only range over an array", "0:4-0:17"},
	{`{{ $body.tags[-1] }}`, CodeIndex, "Can only range over an array", "0:4-0:18"},
	{`{{ $body.tags["x"] }}`, CodeType, "Couldn't match expected type 'Integer' with actual type 'String'", "0:4-0:19"},
	{`{{ $body.tags[1.5] }}`, CodeType, "Couldn't match expected type 'Integer' with actual type 'Number'", "0:4-0:19"},
	{`{{ $body[1] }}`, CodeType, "Couldn't match expected type 'String' with actual type 'Number'", "0:4-0:9"},
	{`{{ $body['zip'] }}`, CodeAttribute, "'Object' has no attribute 'zip'.", "0:4-0:16"},
	{`{{ "s"[0] }}`, CodeType, "Couldn't match expected type 'Object' with actual type 'String'", "0:4-0:7"},
	{`{{ "s"?.a }}`, CodeType, "Couldn't match expected type 'Object' with actual type 'String'", "0:4-0:7"},
	{`{{ if 1 }} 1 {{ else }} 2 {{ end }}`, CodeType, "Couldn't match expected type 'Boolean' with actual type 'Number'", "0:1-0:36"},
	{`{{ if false }} 1 {{ elif "x" }} 2 {{ else }} 3 {{ end }}`, CodeType, "Couldn't match expected type 'Boolean' with actual type 'String'", "0:21-0:29"},
	{`{{ 1 && true }}`, CodeType, "Couldn't match expected type 'Boolean' with actual type 'Number'", "0:4-0:13"},
	// Of two bad operands, the right one is reported.
	{`{{ 1 || "2" }}`, CodeType, "Couldn't match expected type 'Boolean' with actual type 'String'", "0:4-0:12"},
	{`{{ 1 in {"a":1} }}`, CodeType, "Couldn't match expected type 'String' with actual type 'Number'", "0:4-0:16"},
	{`{{ 1 in 2 }}`, CodeType, "Couldn't match expected type 'Array' with actual type 'Number'", "0:4-0:10"},
	{`{{ range _, x := 1 }} 1 {{ end }}`, CodeType, "Couldn't match expected type 'Array' with actual type 'Number'", "0:1-0:34"},
	// Function errors are at the argument; an unknown function is a name
	// error over the call, after its argument has been evaluated.
	{`{{ head([]) }}`, CodeFunction, "Empty array", "0:9-0:11"},
	{`{{ fooFunction("a") }}`, CodeName, "Variable 'fooFunction' not in scope", "0:4-0:20"},
	{`{{ fooFunction($nope) }}`, CodeName, "Variable '$nope' not in scope", "0:16-0:21"},
	// The first error in Kriti's order: arrays left to right, objects in
	// key order, optional keys last first.
	{`[{{ $a }}, {{ $b }}]`, CodeName, "Variable '$a' not in scope", "0:5-0:7"},
	{`{"b": {{ $b }}, "a": {{ $a }}}`, CodeName, "Variable '$a' not in scope", "0:25-0:27"},
	{`{{ $body?[$a][$b] }}`, CodeName, "Variable '$b' not in scope", "0:15-0:17"},
	{`{{ $x == $y }}`, CodeName, "Variable '$x' not in scope", "0:4-0:6"},
}

func TestEvalErrors(t *testing.T) {
	vars := testVars(t)
	for _, tc := range evalErrorCases {
		got, err := Run(tc.src, vars, nil)
		var ke *Error
		if !errors.As(err, &ke) {
			t.Errorf("%s: got %v, %v; want %s", tc.src, got, err, tc.msg)
			continue
		}
		if ke.Code != tc.code || ke.Message != tc.msg || ke.Span.String() != tc.span {
			t.Errorf("%s:\n got %s %q %s\nwant %s %q %s", tc.src, ke.Code, ke.Message, ke.Span, tc.code, tc.msg, tc.span)
		}
	}
}

func TestErrorJSON(t *testing.T) {
	_, err := Run("{{ $x < }}", nil, nil)
	b, jerr := json.Marshal(err)
	if jerr != nil {
		t.Fatal(jerr)
	}
	// Hasura's "internal" entry: aeson's key order, '<' left as is.
	want := `{"error_code":"Parse Error","message":"Unexpected token '}}'.","source_position":{"end_column":11,"end_line":0,"start_column":9,"start_line":0}}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	var e *Error
	errors.As(err, &e)
	e.Message = "a < b & c"
	raw, _ := e.MarshalJSON()
	if !strings.Contains(string(raw), `"a < b & c"`) {
		t.Errorf("escaped: %s", raw)
	}
}

func TestTemplateReuse(t *testing.T) {
	tmpl, err := Parse(`"{{ $body.name }}-{{ getThing(1) }}"`)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		funcs := Funcs{
			"getThing": func(any) (any, error) { return name, nil },
			// Basic functions win over extra ones of the same name.
			"size": func(any) (any, error) { return "not the basic size", nil },
		}
		v, err := tmpl.Eval(map[string]any{"$body": map[string]any{"name": "n"}}, funcs)
		if err != nil || v != "n-"+name {
			t.Errorf("got %v %v", v, err)
		}
		if v, _ := Run(`{{ size([1]) }}`, nil, funcs); v != json.Number("1") {
			t.Errorf("size overridden: %v", v)
		}
	}
	// A function's error is a Function Error at its argument.
	_, err = Run(`{{ boom( 1 ) }}`, nil, Funcs{"boom": func(any) (any, error) { return nil, errors.New("no") }})
	var ke *Error
	if !errors.As(err, &ke) || ke.Code != CodeFunction || ke.Message != "no" || ke.Span.String() != "0:10-0:11" {
		t.Errorf("got %v", err)
	}
}

func TestGoNumbersInVariables(t *testing.T) {
	v, err := Run(`[{{ $a == 1 }}, {{ $b }}, {{ $c[$i] }}, "{{ $b }}"]`, map[string]any{"$a": 1.0, "$b": 0.5, "$c": []any{"x", "y"}, "$i": 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(Encode(v)); s != `[true,0.5,"y","0.5"]` {
		t.Errorf("got %s", s)
	}
}
