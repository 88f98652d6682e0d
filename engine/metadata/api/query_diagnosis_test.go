package api

import (
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

const diagnosisSDL = `
schema { query: query_root }
type query_root {
  author(where: author_bool_exp): [author!]!
  count: Int
}
type author { id: Int! name: String articles: [article!]! kind: kind }
type article { id: Int! title: String! }
enum kind { a b }
input author_bool_exp { _and: [author_bool_exp!] id: Int_comparison_exp }
input Int_comparison_exp { _eq: Int }
`

// The messages, paths and order (last found first) are Hasura's.
func TestDiagnoseQuery(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: diagnosisSDL})
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{`query ($w: author_bool_exp) { author(where: $w, nonsense: 1) { id ...f __typename } __typename __schema { queryType { name } } }
		  fragment f on author { name articles { title } }`, nil},
		{`{ nope author { id nope2 kind { x } name { y } articles } }`, []string{
			"$.author.articles: object of type 'article' must have a selection set",
			"$.author.name: scalar 'String' does not accept a selection set",
			"$.author.kind: enum 'kind' does not accept a selection set",
			"$.author.nope2: field 'nope2' not found in object 'author'",
			"$.nope: field 'nope' not found in object 'query_root'",
		}},
		{`query ($a: missing, $b: author) { count }`, []string{
			"$.b: object 'author' cannot be used in an input type",
			"$.a: type 'missing' not found in the schema",
		}},
		{`mutation { count }`, []string{"$: type 'mutation_root' not found in the schema"}},
		// A key selected twice with two types fails the whole selection.
		{`{ author { id id: name } count }`, []string{
			`$.author: field 'id' seen with two different types: TypeNamed (Nullability {unNullability = False}) (Name {unName = "Int"}) and ` +
				`TypeNamed (Nullability {unNullability = True}) (Name {unName = "String"})`,
		}},
		{`{ count } { count }`, []string{"exactly one operation has to be present in the document when operationName is not specified"}},
		{`{ author { ...a } } fragment a on author { ...b } fragment b on author { ...a }`, []string{"the fragment definition(s) a and b form a cycle"}},
		{`{ author { ...a } }`, []string{`reference to undefined fragment "a"`}},
		{`{ count } fragment a on author { id } fragment a on author { id }`, []string{`multiple definitions for fragment "a"`}},
	} {
		doc, err := parser.ParseQuery(&ast.Source{Input: tc.query})
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		if got := diagnoseQuery(schema, doc); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.query, got, tc.want)
		}
	}
}
