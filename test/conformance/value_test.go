package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustYAML(t *testing.T, src string) Value {
	t.Helper()
	v, err := ParseYAML([]byte(src))
	if err != nil {
		t.Fatalf("ParseYAML: %v\n%s", err, src)
	}
	return v
}

func mustJSON(t *testing.T, src string) Value {
	t.Helper()
	v, err := ParseJSON([]byte(src))
	if err != nil {
		t.Fatalf("ParseJSON: %v\n%s", err, src)
	}
	return v
}

// Key order and scalar types survive YAML -> JSON exactly.
func TestYAMLToJSONKeepsOrderAndTypes(t *testing.T) {
	v := mustYAML(t, `
zeta: 1
alpha: 1.0
mid: "1"
yes_str: yes
t: true
n: null
tilde: ~
empty:
hex: 0x1F
big: 123456789012345678901234567890
exp: 1e3
neg: -0.5
list: [b, a, 2]
nested: {y: 1, x: 2}
date: 2018-12-20
quoted_int: '007'
`)
	want := `{"zeta":1,"alpha":1.0,"mid":"1","yes_str":"yes","t":true,"n":null,"tilde":null,"empty":null,` +
		`"hex":31,"big":123456789012345678901234567890,"exp":1000.0,"neg":-0.5,"list":["b","a",2],` +
		`"nested":{"y":1,"x":2},"date":"2018-12-20","quoted_int":"007"}`
	if got := v.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestYAMLAnchorsAliasesAndMergeKeys(t *testing.T) {
	v := mustYAML(t, `
- &base
  url: /v1/query
  status: 200
  response: &resp [1, 2]
- <<: *base
  status: 400
  extra: *resp
- <<: [{a: 1, b: 1}, {b: 2, c: 2}]
  c: 3
`)
	want := `[{"url":"/v1/query","status":200,"response":[1,2]},` +
		`{"url":"/v1/query","status":400,"response":[1,2],"extra":[1,2]},` +
		`{"b":1,"c":3,"a":1}]`
	if got := v.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestYAMLErrorsAreErrors(t *testing.T) {
	for _, src := range []string{"a: [1, 2", "? [1, 2]\n: x\n", "<<: 5\n"} {
		if _, err := ParseYAML([]byte(src)); err == nil {
			t.Errorf("ParseYAML(%q): want an error", src)
		}
	}
	if v := mustYAML(t, ""); v.Kind != KindNull {
		t.Errorf("empty file: got %s, want null", v)
	}
}

func TestPythonFloatRepr(t *testing.T) {
	for f, want := range map[float64]string{
		1: "1.0", 0.1: "0.1", 1e16: "1e+16", 1e15: "1000000000000000.0", 1.5e-5: "1.5e-05",
		0.0001: "0.0001", -2.5: "-2.5", 0: "0.0", 123.456: "123.456",
	} {
		if got := pyFloatRepr(f); got != want {
			t.Errorf("pyFloatRepr(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestParseJSONKeepsOrderAndNumbers(t *testing.T) {
	v := mustJSON(t, `{"b": 1.50, "a": [true, null, "x"], "b2": {"z": 1, "y": 2}}`)
	if got, want := v.String(), `{"b":1.50,"a":[true,null,"x"],"b2":{"z":1,"y":2}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for _, bad := range []string{``, `{"a":1} x`, `{"a":`, `[1,]`} {
		if _, err := ParseJSON([]byte(bad)); err == nil {
			t.Errorf("ParseJSON(%q): want an error", bad)
		}
	}
}

func TestNumbersCompareByValue(t *testing.T) {
	for _, c := range []struct {
		a, b string
		eq   bool
	}{
		{"1", "1.0", true}, {"1.0", "1", true}, {"1e3", "1000", true}, {"0.10", "0.1", true},
		{"1", "2", false}, {"1.5", "1", false},
		{"12345678901234567890", "12345678901234567890", true}, {"12345678901234567890", "12345678901234567891", false},
		{"1.0000000000000001", "1.0", true}, // both floats round to the same float64, as in Python
	} {
		if got := numEqual(c.a, c.b); got != c.eq {
			t.Errorf("numEqual(%s, %s) = %t, want %t", c.a, c.b, got, c.eq)
		}
	}
	if d := compareBody(mustYAML(t, "a: 1"), mustJSON(t, `{"a": 1.0}`), nil); d != "" {
		t.Errorf("1 vs 1.0: %s", d)
	}
	if d := compareBody(mustYAML(t, "a: '1'"), mustJSON(t, `{"a": 1}`), nil); d == "" {
		t.Error(`"1" vs 1 must differ`)
	}
}

func TestLoadCases(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cs, err := LoadCases(write("one.yaml", `
url: /v1/graphql
headers: {X-Hasura-Role: user, X-Hasura-User-Id: 1, Flag: true}
query: {query: "{ a }"}
response: {data: {a: 1}}
`))
	if err != nil {
		t.Fatal(err)
	}
	c := cs[0]
	if c.Status != 200 || c.URL != "/v1/graphql" || c.Response == nil || c.Query == nil {
		t.Errorf("defaults: %+v", c)
	}
	if got := c.Headers; len(got) != 3 || got[1] != (Header{"X-Hasura-User-Id", "1"}) || got[2].Value != "True" {
		t.Errorf("headers: %+v", got)
	}

	cs, err = LoadCases(write("list.yaml", "- {url: /a, status: 400}\n- {url: /b, response: null}\n"))
	if err != nil || len(cs) != 2 || cs[0].Status != 400 || cs[1].Response != nil {
		t.Errorf("list: %+v, %v", cs, err)
	}

	for name, src := range map[string]string{
		"nourl.yaml":   "status: 200\n",
		"empty.yaml":   "",
		"emptyl.yaml":  "[]\n",
		"badst.yaml":   "url: /a\nstatus: ok\n",
		"badyaml.yaml": "url: [\n",
		"allowed.yaml": "url: /a\nallowed_responses: []\n",
	} {
		if _, err := LoadCases(write(name, src)); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	if _, err := LoadCases(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

// Every case and setup file of the shared corpus must load (when the
// corpus is there): a conversion bug would otherwise show up as hundreds of
// bogus failures.
func TestSharedCorpusLoads(t *testing.T) {
	const path = "../../../shared/conformance/hasura/manifest.json"
	m, err := LoadManifest(path)
	if os.IsNotExist(err) || (err != nil && strings.Contains(err.Error(), "no such file")) {
		t.Skip("shared corpus not present")
	}
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range m.Classes {
		for _, f := range c.Setup {
			data, err := os.ReadFile(m.Path(f))
			if err != nil {
				t.Error(err)
				continue
			}
			if _, err := ParseYAML(data); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
		for _, tt := range c.Tests {
			for _, ref := range tt.Cases {
				if _, err := LoadCases(m.Path(ref.File)); err != nil {
					t.Errorf("%s: %v", ref.File, err)
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Error("no case files in the manifest")
	}
}

func TestDuplicateKeysTakeTheLastValue(t *testing.T) {
	if got := mustYAML(t, "a: 1\nb: 2\na: 3\n").String(); got != `{"a":3,"b":2}` {
		t.Errorf("got %s", got)
	}
}
