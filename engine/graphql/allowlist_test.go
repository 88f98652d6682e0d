package graphql_test

import (
	"reflect"
	"testing"

	"github.com/strata-dev/strata/engine/config"
)

// With the allow-list on, a non-admin request runs only if it is one of
// the allow-listed queries, whitespace, comments and __typename aside;
// role-scoped collections count for their roles; admins are not checked.
func TestAllowList(t *testing.T) {
	e := libraryWith(t, func(c *config.Config) { c.EnableAllowlist = true })
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "bulk", "args": []any{
		map[string]any{"type": "create_query_collection", "args": map[string]any{"name": "public", "definition": map[string]any{"queries": []any{
			map[string]any{"name": "titles", "query": "query Titles { article(order_by: {id: asc}) { title } }"},
		}}}},
		map[string]any{"type": "create_query_collection", "args": map[string]any{"name": "editors", "definition": map[string]any{"queries": []any{
			map[string]any{"name": "authors", "query": "{ author(order_by: {id: asc}) { name } }"},
		}}}},
		map[string]any{"type": "add_collection_to_allowlist", "args": map[string]any{"collection": "public"}},
		map[string]any{"type": "add_collection_to_allowlist", "args": map[string]any{"collection": "editors", "scope": map[string]any{"global": false, "roles": []string{"editor"}}}},
	}})
	user := map[string]string{"X-Hasura-Role": "user", "X-Hasura-User-Id": "9"}
	editor := map[string]string{"X-Hasura-Role": "editor"}
	const refused = `{"errors":[{"extensions":{"code":"validation-failed","path":"$"},"message":"query is not allowed"}]}`
	for _, tc := range []struct {
		name, query string
		headers     map[string]string
		want        string
	}{
		{"the listed query", "query Titles { article(order_by: {id: asc}) { title } }", user,
			`{"data":{"article":[{"title":"A1"},{"title":"B1"}]}}`},
		{"reformatted, commented, with typenames", "# from the app\nquery Titles {\n  __typename\n  article(order_by: {id: asc}) { title __typename }\n}", user,
			`{"data":{"__typename":"query_root","article":[{"title":"A1","__typename":"article"},{"title":"B1","__typename":"article"}]}}`},
		{"another selection", "query Titles { article(order_by: {id: asc}) { title id } }", user, refused},
		{"another name", "query Other { article(order_by: {id: asc}) { title } }", user, refused},
		{"introspection", "{ __schema { queryType { name } } }", user, refused},
		{"a role-scoped query for another role", "{ author(order_by: {id: asc}) { name } }", user, refused},
		{"a role-scoped query for its role", "{ author(order_by: {id: asc}) { name } }", editor, ""},
		{"admin is not checked", "{ author(order_by: {id: desc}) { name } }", nil,
			`{"data":{"author":[{"name":"Bob"},{"name":"Ann"}]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := post(t, e.URL+"/v1/graphql", map[string]any{"query": tc.query}, tc.headers)
			if tc.want == "" {
				// The editor role has no select permission on author: the
				// allow-list let it through to the schema's own refusal.
				if m, _ := got.(map[string]any); m["errors"] == nil || errMessage(m) == "query is not allowed" {
					t.Errorf("got %v", got)
				}
				return
			}
			if want := jsonOf(t, tc.want); !reflect.DeepEqual(got, want) {
				t.Errorf("got %v\nwant %v", got, want)
			}
		})
	}
}

func errMessage(m map[string]any) string {
	errs, _ := m["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e, _ := errs[0].(map[string]any)
	s, _ := e["message"].(string)
	return s
}
