package schema

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
)

func fieldNames(d *ast.Definition) []string {
	if d == nil {
		return nil
	}
	var names []string
	for _, f := range d.Fields {
		names = append(names, f.Name)
	}
	return names
}

// A namespaced source's query and subscription namespaces each hold the
// root fields the lists let into their root, under their own types.
func TestRootFieldListsInANamespace(t *testing.T) {
	src := library(1)
	src.Metadata.Customization = json.RawMessage(`{"root_fields":{"namespace":"ns","prefix":"p_"}}`)
	perm := &src.Metadata.Tables[0].SelectPermissions[0].Permission
	perm.AllowAggregations = true
	perm.QueryRootFields = []string{selectRootField, selectAggregateRootField}
	perm.SubscriptionRootFields = []string{selectByPKRootField}
	s := build([]*Source{src}, nil, "user", false)

	if got := fieldNames(s.AST.Query); !slices.Equal(got, []string{"ns"}) {
		t.Errorf("query_root: %v", got)
	}
	if got := fieldNames(s.AST.Subscription); !slices.Equal(got, []string{"ns"}) {
		t.Errorf("subscription_root: %v", got)
	}
	query, sub := s.AST.Types["ns_query"], s.AST.Types["ns_subscription"]
	if got := fieldNames(query); !slices.Equal(got, []string{"p_t0", "p_t0_aggregate"}) {
		t.Errorf("ns_query: %v", got)
	}
	if got := fieldNames(sub); !slices.Equal(got, []string{"p_t0_by_pk"}) {
		t.Errorf("ns_subscription: %v", got)
	}
	if f := s.Field("subscription_root", "ns"); f == nil || f.Kind != RootNamespace || f.Namespace.TypeName != "ns_subscription" {
		t.Errorf("subscription_root.ns means %+v", f)
	}
	if f := s.Field("ns_subscription", "p_t0_by_pk"); f == nil || f.Kind != RootByPK {
		t.Errorf("ns_subscription.p_t0_by_pk means %+v", f)
	}
	if s.Field("ns_subscription", "p_t0") != nil || s.Field("ns_query", "p_t0_by_pk") != nil {
		t.Error("a hidden root field still has a meaning")
	}

	// With no subscription field left, the namespace leaves
	// subscription_root, and subscription_root goes with it.
	perm.SubscriptionRootFields = []string{}
	if s := build([]*Source{src}, nil, "user", false); s.AST.Subscription != nil || s.AST.Types["ns_subscription"] != nil {
		t.Errorf("subscription_root: %v, ns_subscription: %v", fieldNames(s.AST.Subscription), s.AST.Types["ns_subscription"])
	}
}

// The lists bind the role whose permission has them, never admin.
func TestRootFieldListsLeaveAdminAlone(t *testing.T) {
	src := library(1)
	src.Metadata.Tables[0].SelectPermissions[0].Permission.QueryRootFields = []string{}
	src.Metadata.Tables[0].SelectPermissions[0].Permission.SubscriptionRootFields = []string{}
	admin := build([]*Source{src}, nil, "admin", false)
	if got := fieldNames(admin.AST.Query); !slices.Equal(got, []string{"t0", "t0_aggregate", "t0_by_pk"}) {
		t.Errorf("admin's query_root: %v", got)
	}
	if got := fieldNames(admin.AST.Subscription); !slices.Equal(got, []string{"t0", "t0_aggregate", "t0_by_pk", "t0_stream"}) {
		t.Errorf("admin's subscription_root: %v", got)
	}
	user := build([]*Source{src}, nil, "user", false)
	if got := fieldNames(user.AST.Query); !slices.Equal(got, []string{"no_queries_available"}) || user.AST.Subscription != nil {
		t.Errorf("user's roots: %v, %v", got, fieldNames(user.AST.Subscription))
	}
}
