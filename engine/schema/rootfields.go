package schema

// A select permission may narrow which root fields of its table the role
// gets, as Hasura's query_root_fields and subscription_root_fields do
// (Build.hs buildTableQueryAndSubscriptionFields, isRootFieldAllowed):
//
//   - absent (null): every root field, in query_root and subscription_root;
//   - a list: only the root fields of the kinds listed, "select" (<t>),
//     "select_by_pk" (<t>_by_pk), "select_aggregate" (<t>_aggregate) and,
//     in subscription_root only, "select_stream" (<t>_stream); an empty list
//     none at all.
//
// The lists decide root fields only: the table stays reachable through
// relationships, computed fields and tracked functions returning its rows
// (Hasura builds function root fields whatever the lists say), and its
// rows through the relay node field. In the relay schema a table's
// connection field follows "select".

import "slices"

// The kinds of root field a select permission's lists name.
const (
	selectRootField          = "select"
	selectByPKRootField      = "select_by_pk"
	selectAggregateRootField = "select_aggregate"
	streamRootField          = "select_stream" // subscription_root only
)

// roots says which of query_root and subscription_root a source's root
// field goes to.
type roots struct{ query, subscription bool }

// everywhere is where root fields no permission narrows go.
var everywhere = roots{query: true, subscription: true}

// parents names the root types r stands for.
func (r roots) parents() []string {
	var ps []string
	if r.query {
		ps = append(ps, "query_root")
	}
	if r.subscription {
		ps = append(ps, "subscription_root")
	}
	return ps
}

// rootsOf says where the role's select permission on t lets a root field
// of the kind go. Admin (no permission) gets every root field.
func (t *Table) rootsOf(kind string) roots {
	if t.perm == nil {
		return everywhere
	}
	return roots{
		query:        kind != streamRootField && listed(t.perm.queryRootFields, kind),
		subscription: listed(t.perm.subscriptionRootFields, kind),
	}
}

// listed: nil allows every kind, a list only those it names.
func listed(allowed []string, kind string) bool {
	return allowed == nil || slices.Contains(allowed, kind)
}
