package metadata

import (
	"strings"
	"testing"
)

// A source's customization is kept as Hasura keeps it: keys sorted,
// nulls and keys it does not know (type_names.mapping) dropped, an empty
// one left out; and the export reads back to the same bytes.
func TestSourceCustomizationRoundTrip(t *testing.T) {
	doc := func(custom string) string {
		return `{"version": 3, "sources": [{"name": "pg1", "kind": "postgres", "tables": [],
			"configuration": {"connection_info": {"database_url": "postgres://x"}}` + custom + `}]}`
	}
	cases := []struct{ name, custom, want string }{
		{"every key",
			`, "customization": {"type_names": {"suffix": "_ts", "prefix": "tp_"}, "naming_convention": "hasura-default", "root_fields": {"suffix": "_fs", "prefix": "fp_", "namespace": "ns"}}`,
			`"customization":{"naming_convention":"hasura-default","root_fields":{"namespace":"ns","prefix":"fp_","suffix":"_fs"},"type_names":{"prefix":"tp_","suffix":"_ts"}}`},
		{"nulls and unknown keys dropped",
			`, "customization": {"root_fields": {"namespace": null, "prefix": "p_"}, "type_names": {"prefix": "T", "mapping": {"a": "b"}}, "naming_convention": null}`,
			`"customization":{"root_fields":{"prefix":"p_"},"type_names":{"prefix":"T"}}`},
		{"an empty part stays", `, "customization": {"root_fields": {}}`, `"customization":{"root_fields":{}}`},
		{"an empty customization goes", `, "customization": {"root_fields": null}`, ``},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := export(t, doc(c.custom))
			if c.want == "" && strings.Contains(out, "customization") || !strings.Contains(out, c.want) {
				t.Fatalf("export %s\nwant it to hold %s", out, c.want)
			}
			if again := export(t, out); again != out {
				t.Errorf("export of the export differs:\n%s\n%s", out, again)
			}
		})
	}
}

func TestSourceCustomizationErrors(t *testing.T) {
	cases := []struct{ custom, path, msg string }{
		{`{"root_fields": {"prefix": "bad-prefix"}}`, "$.root_fields.prefix", "bad-prefix is not valid GraphQL name"},
		{`{"type_names": {"suffix": 1}}`, "$.type_names.suffix", "parsing Name failed, expected String, but encountered Number"},
		{`{"root_fields": "ns"}`, "$.root_fields", "parsing RootFieldsCustomization failed, expected Object, but encountered String"},
		{`{"naming_convention": "camel"}`, "$.naming_convention", `naming_convention can either be "hasura-default" or "graphql-default"`},
		{`[]`, "$", "parsing SourceCustomization failed, expected Object, but encountered Array"},
	}
	for _, c := range cases {
		_, err := ParseSourceCustomization([]byte(c.custom))
		pe, ok := err.(*ParseError)
		if !ok || pe.Path != c.path || pe.Message != c.msg {
			t.Errorf("%s: got %v, want %s: %s", c.custom, err, c.path, c.msg)
		}
	}
	// In a metadata document the path is the customization's.
	_, err := Parse([]byte(`{"version": 3, "sources": [{"name": "pg1", "tables": [], "configuration": {}, "customization": {"root_fields": {"namespace": "1x"}}}]}`))
	if pe, ok := err.(*ParseError); !ok || pe.Path != "$.sources[0].customization.root_fields.namespace" {
		t.Errorf("in a document: %v", err)
	}
}

func TestSourceCustomizationNames(t *testing.T) {
	c, err := ParseSourceCustomization([]byte(`{"root_fields": {"namespace": "ns", "prefix": "fp_", "suffix": "_fs"}, "type_names": {"prefix": "tp_", "suffix": "_ts"}}`))
	if err != nil {
		t.Fatal(err)
	}
	prefix, suffix := c.TypeAffixes()
	if c.Namespace() != "ns" || c.RootFieldName("author") != "fp_author_fs" || prefix != "tp_" || suffix != "_ts" {
		t.Errorf("names: %q %q %q %q", c.Namespace(), c.RootFieldName("author"), prefix, suffix)
	}
	var none SourceCustomization
	if p, s := none.TypeAffixes(); none.Namespace() != "" || none.RootFieldName("author") != "author" || p+s != "" {
		t.Error("the empty customization renames")
	}
}
