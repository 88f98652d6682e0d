package schema

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
)

func TestStreamFieldsHaveHasurasShape(t *testing.T) {
	s := build([]*Source{library(3)}, nil, "admin", false)
	sub, query := s.AST.Subscription, s.AST.Query
	if query.Fields.ForName("t0_stream") != nil {
		t.Error("query_root has t0_stream")
	}
	f := sub.Fields.ForName("t0_stream")
	if f == nil {
		t.Fatal("subscription_root has no t0_stream")
	}
	if f.Description != `fetch data from the table in a streaming manner: "t0"` || f.Type.String() != "[t0!]!" {
		t.Errorf("t0_stream: %q %s", f.Description, f.Type)
	}
	var args []string
	for _, a := range f.Arguments {
		args = append(args, a.Name+": "+a.Type.String()+" # "+a.Description)
	}
	if got, want := strings.Join(args, "\n"), `batch_size: Int! # maximum number of rows returned in a single batch
cursor: [t0_stream_cursor_input]! # cursor to stream the results returned by the query
where: t0_bool_exp # filter the rows returned`; got != want {
		t.Errorf("t0_stream's arguments:\n%s\nwant\n%s", got, want)
	}
	if m := s.Field("subscription_root", "t0_stream"); m == nil || m.Kind != RootStream || m.Table.Name.Name != "t0" {
		t.Errorf("t0_stream means %+v", m)
	}
	// The other subscription fields are query_root's.
	for _, qf := range query.Fields {
		if sub.Fields.ForName(qf.Name) == nil || s.Field("subscription_root", qf.Name) != s.Field("query_root", qf.Name) {
			t.Errorf("subscription_root lacks %s", qf.Name)
		}
	}
	if got := len(sub.Fields) - len(query.Fields); got != 3 {
		t.Errorf("subscription_root has %d more fields than query_root, want 3 streams", got)
	}

	cursor := s.AST.Types["t0_stream_cursor_input"]
	if cursor == nil || cursor.Kind != ast.InputObject || cursor.Description != `Streaming cursor of the table "t0"` {
		t.Fatalf("t0_stream_cursor_input: %+v", cursor)
	}
	if got := fieldList(cursor); got != "initial_value: t0_stream_cursor_value_input! # Stream column input with initial value\nordering: cursor_ordering # cursor ordering" {
		t.Errorf("t0_stream_cursor_input:\n%s", got)
	}
	value := s.AST.Types["t0_stream_cursor_value_input"]
	if value == nil || value.Description != "Initial value of the column from where the streaming should start" {
		t.Fatalf("t0_stream_cursor_value_input: %+v", value)
	}
	// Every column, optional whatever its nullability.
	if got := fieldList(value); got != "doc: jsonb # \nid: Int # \nname: String # \nparent_id: Int # \ntotal: bigint # " {
		t.Errorf("t0_stream_cursor_value_input:\n%s", got)
	}
	ordering := s.AST.Types["cursor_ordering"]
	if ordering == nil || ordering.Kind != ast.Enum || ordering.Description != "ordering argument of a cursor" || len(ordering.EnumValues) != 2 ||
		ordering.EnumValues[0].Name != "ASC" || ordering.EnumValues[0].Description != "ascending ordering of the cursor" ||
		ordering.EnumValues[1].Name != "DESC" || ordering.EnumValues[1].Description != "descending ordering of the cursor" {
		t.Errorf("cursor_ordering: %+v", ordering)
	}
}

func fieldList(d *ast.Definition) string {
	var out []string
	for _, f := range d.Fields {
		out = append(out, f.Name+": "+f.Type.String()+" # "+f.Description)
	}
	return strings.Join(out, "\n")
}

func TestStreamFieldsFollowPermissionsAndNames(t *testing.T) {
	src := library(4)
	src.Metadata.Tables[2].Configuration = json.RawMessage(`{"custom_root_fields":{"select_stream":"t2_feed","select":"t2_rows"}}`)
	// user may select t0 and t2, and stream only t2 (t0's permission
	// lists the subscription root fields without select_stream).
	src.Metadata.Tables[0].SelectPermissions[0].Permission.SubscriptionRootFields = []string{"select"}
	user := build([]*Source{src}, nil, "user", false)
	sub := user.AST.Subscription
	for name, want := range map[string]bool{"t0": true, "t0_stream": false, "t1_stream": false, "t2_rows": true, "t2_feed": true, "t2_stream": false, "t3_stream": false} {
		if got := sub.Fields.ForName(name) != nil; got != want {
			t.Errorf("user's subscription_root has %s: %v, want %v", name, got, want)
		}
	}
	// The cursor's columns are those the role may select.
	if got := fieldList(user.AST.Types["t2_stream_cursor_value_input"]); got != "id: Int # \nname: String # " {
		t.Errorf("user's t2_stream_cursor_value_input:\n%s", got)
	}
	// id is NOT NULL: optional, yet null is refused.
	if id := user.AST.Types["t2_stream_cursor_value_input"].Fields.ForName("id"); id.Directives.ForName(RefusesNull) == nil {
		t.Error("id takes null")
	}
	// Relay has no subscriptions.
	if relay := build([]*Source{src}, nil, "admin", true); relay.AST.Subscription != nil {
		t.Error("relay schema has a subscription_root")
	}
}
