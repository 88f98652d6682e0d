package graphql_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/strata-dev/strata/engine/graphql"
)

// An inherited role's live queries are multiplexed like any role's, each
// cohort with its own session in the redaction: user_reader is user (its
// own notes, every column) and reader (every note, no body).
func TestLiveQueriesInheritedRole(t *testing.T) {
	waitNoPollers(t)
	e := notesEngine(t, 20*time.Millisecond, 0)
	mustPost(t, e.URL+"/v1/metadata", map[string]any{"type": "bulk", "args": []any{
		map[string]any{"type": "pg_create_select_permission", "args": map[string]any{"table": "note", "role": "reader", "permission": map[string]any{
			"columns": []string{"id", "owner"}, "filter": map[string]any{},
		}}},
		map[string]any{"type": "add_inherited_role", "args": map[string]any{"role_name": "user_reader", "role_set": []string{"user", "reader"}}},
	}})
	const sub = `subscription { note(where: {owner: {_lte: 2}}, order_by: {id: asc}) { id owner body } }`
	var clients []*liveClient
	for _, id := range []string{"1", "2"} {
		w := dialLive(t, e.URL, map[string]string{"x-hasura-role": "user_reader", "x-hasura-user-id": id})
		w.subscribe("1", sub, nil)
		got := w.expectResult(e.URL, "1", sub, nil)
		// Four notes; the body of the two that are not the user's is null.
		if bytes.Count(got, []byte(`"id" :`)) != 4 || bytes.Count(got, []byte(`"body" : null`)) != 2 {
			t.Fatalf("user %s got %s", id, got)
		}
		clients = append(clients, w)
	}
	waitUntil(t, "one poller for both", func() bool {
		s := graphql.LiveQueryStats()
		return s.Pollers == 1 && s.Subscribers == 2 && s.Cohorts == 2
	})
	// The multiplexed statement answers each as /v1/graphql does.
	runSQL(t, e, `UPDATE note SET body = body || '!' WHERE owner <= 2`)
	for _, w := range clients {
		if got := w.expectResult(e.URL, "1", sub, nil); bytes.Count(got, []byte(`!"`)) != 2 {
			t.Fatalf("user %s got %s", w.headers["x-hasura-user-id"], got)
		}
	}
	for _, w := range clients {
		w.close()
	}
	waitNoPollers(t)
}
