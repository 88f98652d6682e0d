package metadata

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func export(t *testing.T, doc string) string {
	t.Helper()
	m, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	// MarshalJSON itself: json.Marshal would HTML-escape its output.
	b, err := m.MarshalJSON()
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

// The export order is Hasura's: fixed field order where Hasura builds the
// object, sorted keys where it uses aeson's plain encoder, sorted lists,
// empty parts left out.
func TestExportIsInHasurasOrder(t *testing.T) {
	in := `{
	  "version": 3,
	  "inherited_roles": [],
	  "rest_endpoints": [{"url": "a", "name": "a", "methods": ["GET"], "definition": {"query": {"query_name": "q", "collection_name": "c"}}}],
	  "sources": [
	    {"name": "zeta", "kind": "postgres", "configuration": {"connection_info": {"database_url": "postgres://z", "pool_settings": {"retries": 1, "idle_timeout": 180}}}, "tables": []},
	    {"name": "default", "kind": "postgres", "configuration": {"connection_info": {"database_url": {"from_env": "HASURA_GRAPHQL_DATABASE_URL"}}},
	     "tables": [
	       {"table": "author",
	        "array_relationships": [{"name": "articles", "comment": null, "using": {"foreign_key_constraint_on": {"table": {"schema": "public", "name": "article"}, "column": "author_id"}}}],
	        "select_permissions": [
	          {"role": "user", "permission": {"filter": {"id": {"_eq": "X-Hasura-User-Id"}}, "allow_aggregations": true, "columns": ["id", "name"], "limit": 10}},
	          {"role": "anonymous", "permission": {"columns": "*", "filter": {}, "allow_aggregations": false}}
	        ],
	        "update_permissions": [{"role": "user", "permission": {"columns": ["name"], "filter": {"id": "X-Hasura-User-Id"}}}],
	        "insert_permissions": [], "event_triggers": [],
	        "configuration": {"custom_root_fields": {}, "column_config": {}}},
	       {"table": {"schema": "public", "name": "article"}, "is_enum": false,
	        "object_relationships": [{"using": {"foreign_key_constraint_on": "author_id"}, "name": "author", "comment": "who wrote it"}],
	        "insert_permissions": [{"role": "user", "permission": {"check": {"author_id": "X-Hasura-User-Id"}, "columns": ["title"], "set": {}, "backend_only": false}}],
	        "delete_permissions": [{"role": "user", "permission": {"filter": {"author_id": "X-Hasura-User-Id"}}}]}
	     ],
	     "functions": [{"function": {"schema": "public", "name": "search"}, "configuration": {}}]}
	  ]
	}`
	want := `{"version":3,"sources":[` +
		`{"name":"default","kind":"postgres","tables":[` +
		`{"table":{"name":"article","schema":"public"},` +
		`"object_relationships":[{"name":"author","using":{"foreign_key_constraint_on":"author_id"},"comment":"who wrote it"}],` +
		`"insert_permissions":[{"role":"user","permission":{"check":{"author_id":"X-Hasura-User-Id"},"columns":["title"]}}],` +
		`"delete_permissions":[{"role":"user","permission":{"filter":{"author_id":"X-Hasura-User-Id"}}}]},` +
		`{"table":{"name":"author","schema":"public"},` +
		`"array_relationships":[{"name":"articles","using":{"foreign_key_constraint_on":{"column":"author_id","table":{"name":"article","schema":"public"}}}}],` +
		`"select_permissions":[{"role":"anonymous","permission":{"columns":"*","filter":{}}},` +
		`{"role":"user","permission":{"columns":["id","name"],"filter":{"id":{"_eq":"X-Hasura-User-Id"}},"limit":10,"allow_aggregations":true}}],` +
		`"update_permissions":[{"role":"user","permission":{"columns":["name"],"filter":{"id":"X-Hasura-User-Id"},"check":null}}]}],` +
		`"functions":[{"function":{"name":"search","schema":"public"}}],` +
		`"configuration":{"connection_info":{"database_url":{"from_env":"HASURA_GRAPHQL_DATABASE_URL"}}}},` +
		`{"name":"zeta","kind":"postgres","tables":[],"configuration":{"connection_info":{"database_url":"postgres://z","pool_settings":{"idle_timeout":180,"retries":1}}}}],` +
		`"rest_endpoints":[{"comment":null,"definition":{"query":{"collection_name":"c","query_name":"q"}},"methods":["GET"],"name":"a","url":"a"}]}`
	if got := export(t, in); got != want {
		t.Errorf("export:\n got %s\nwant %s", got, want)
	}
}

// export(replace(export(x))) == export(x) on every metadata document of
// the conformance corpus.
func TestExportIsStableOnTheConformanceCorpus(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/conformance/hasura/queries/v1/metadata/replace_metadata*.yaml")
	if len(files) == 0 {
		t.Skip("shared conformance corpus not present")
	}
	n := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var cases []struct {
			Query struct {
				Type string          `json:"type"`
				Args json.RawMessage `json:"args"`
			} `json:"query"`
		}
		if err := json.Unmarshal(js, &cases); err != nil {
			var one struct {
				Query struct {
					Type string          `json:"type"`
					Args json.RawMessage `json:"args"`
				} `json:"query"`
			}
			if err := json.Unmarshal(js, &one); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			cases = append(cases, one)
		}
		for _, c := range cases {
			if c.Query.Type != "replace_metadata" {
				continue
			}
			doc := c.Query.Args
			// v2 of the API wraps the document: {metadata: ..., allow_inconsistent_metadata}
			var wrapped struct {
				Metadata json.RawMessage `json:"metadata"`
			}
			if json.Unmarshal(doc, &wrapped) == nil && len(wrapped.Metadata) > 0 {
				doc = wrapped.Metadata
			}
			first := export(t, string(doc))
			if second := export(t, first); second != first {
				t.Errorf("%s: export not stable:\n first %s\nsecond %s", f, first, second)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no replace_metadata documents found in the corpus")
	}
	t.Logf("%d documents round-trip", n)
}

func TestVersion2BecomesTheDefaultSource(t *testing.T) {
	got := export(t, `{"version": 2, "tables": [{"table": "author"}], "functions": [{"function": "search"}], "remote_schemas": []}`)
	want := `{"version":3,"sources":[{"name":"default","kind":"postgres","tables":[{"table":{"name":"author","schema":"public"}}],"functions":[{"function":{"name":"search","schema":"public"}}],"configuration":{}}]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// backend_configs goes through aeson: keys sorted at every level.
func TestBackendConfigsAreKeySorted(t *testing.T) {
	in := `{"version":3,"sources":[],"backend_configs":{"dataconnector":{"z":{"uri":"http://z"},"a":{"uri":"http://a"}}}}`
	want := `{"version":3,"sources":[],"backend_configs":{"dataconnector":{"a":{"uri":"http://a"},"z":{"uri":"http://z"}}}}`
	if got := export(t, in); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestBadDocumentsSayWhere(t *testing.T) {
	for _, tc := range []struct{ doc, path, msg string }{
		{`[]`, "$", "expected Object, but encountered Array"},
		{`{"version": 4}`, "$.version", "expected 1, 2 or 3, encountered 4"},
		{`{"version": 3, "sources": {}}`, "$.sources", "expected an array, encountered Object"},
		{`{"version": 3, "sources": [{"kind": "postgres"}]}`, "$.sources[0]", `key "name" not found`},
		{`{"version": 3, "sources": [{"name": "a"}, {"name": "a"}]}`, "$.sources[1].name", `multiple sources named "a"`},
		{`{"version": 3, "sources": [{"name": "a", "tables": [{"is_enum": true}]}]}`, "$.sources[0].tables[0]", `key "table" not found`},
		{`{"version": 3, "sources": [{"name": "a", "tables": [{"table": "t"}, {"table": {"name": "t"}}]}]}`, "$.sources[0].tables[1].table", "declared more than once"},
		{`{"version": 3, "sources": [{"name": "a", "tables": [{"table": "t", "select_permissions": [{"role": "r", "permission": {"filter": {}}}]}]}]}`, "$.sources[0].tables[0].select_permissions[0].permission", `key "columns" not found`},
		{`{"version": 3, "sources": [{"name": "a", "tables": [{"table": 5}]}]}`, "$.sources[0].tables[0].table", "expected a name"},
		// A value of the wrong kind: aeson's words, the path at the value.
		{`{"version": 3, "sources": [{"name": "a", "tables": [{"table": "t", "select_permissions": [{"role": "r", "permission": {"columns": [], "filter": {}, "limit": "abc"}}]}]}]}`,
			"$.sources[0].tables[0].select_permissions[0].permission.limit", "parsing Int failed, expected Number, but encountered String"},
		{`{"version": 3, "sources": [{"name": "a", "tables": [{"table": "t", "select_permissions": [{"role": "r", "permission": {"columns": [], "filter": {}, "computed_fields": "f"}}]}]}]}`,
			"$.sources[0].tables[0].select_permissions[0].permission.computed_fields", "parsing [] failed, expected Array, but encountered String"},
		{`{"version": 3, "sources": [{"name": "a", "tables": [{"table": "t", "select_permissions": [{"role": "r", "permission": {"columns": [], "filter": {}, "query_root_fields": ["select", "select_stream"]}}]}]}]}`,
			"$.sources[0].tables[0].select_permissions[0].permission.query_root_fields[1]",
			`parsing Hasura.RQL.Types.Permission.QueryRootFieldType failed, expected one of the tags ["select","select_by_pk","select_aggregate"], but found tag "select_stream"`},
		{`{"version": 3, "sources": [{"name": "a", "tables": [{"table": "t", "is_enum": "yes"}]}]}`,
			"$.sources[0].tables[0].is_enum", "parsing Bool failed, expected Boolean, but encountered String"},
	} {
		_, err := Parse([]byte(tc.doc))
		pe, ok := err.(*ParseError)
		if !ok {
			t.Errorf("%s: want *ParseError, got %v", tc.doc, err)
			continue
		}
		if pe.Path != tc.path || !strings.Contains(pe.Message, tc.msg) {
			t.Errorf("%s: got %s: %s, want %s: ...%s...", tc.doc, pe.Path, pe.Message, tc.path, tc.msg)
		}
	}
}

// Fuzzing: any input either parses and then exports to a stable document,
// or fails with a ParseError; never a panic.
func FuzzParse(f *testing.F) {
	f.Add(`{"version":3,"sources":[{"name":"d","tables":[{"table":"t","select_permissions":[{"role":"r","permission":{"columns":"*","filter":{}}}]}]}]}`)
	f.Add(`{"version":2,"tables":[{"table":{"schema":"s","name":"t"}}]}`)
	f.Add(`{}`)
	for _, tc := range sectionCases {
		f.Add(`{"version":3,"sources":[],` + tc.in + `}`)
	}
	for _, tc := range tableCases {
		f.Add(`{"version":3,"sources":[{"name":"d","tables":[{"table":"t",` + tc.in + `}]}]}`)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		m, err := Parse([]byte(doc))
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("non-ParseError %T: %v", err, err)
			}
			return
		}
		first, err := m.MarshalJSON()
		if err != nil {
			return // a verbatim section that is not valid JSON cannot reach here, but be safe
		}
		m2, err := Parse(first)
		if err != nil {
			t.Fatalf("exported document does not parse: %v\n%s", err, first)
		}
		second, _ := m2.MarshalJSON()
		if string(first) != string(second) {
			t.Fatalf("export not stable:\n%s\n%s", first, second)
		}
	})
}
