package schema

import (
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/metadata"
)

// Remote relationships to a table of another source (`to_source`), as
// Hasura's remoteRelationshipToSourceField builds them: for a role that
// may select the target table, an object relationship is a field of the
// target's type (non-null, as Hasura types it, though it is null when no
// row matches), an array relationship a field with the target's select
// arguments, and <name>_aggregate beside it when the role may aggregate.
// They are not in the table's bool_exp or order_by: the rows live in
// another database, which the engine joins after the query (see
// graphql/remote_join.go).

// Fields of remote source relationships.
const (
	RemoteObjectRelField FieldKind = iota + 300
	RemoteArrayRelField
	RemoteArrayAggregateField
)

// remoteRelationshipsOf resolves the to_source relationships of a
// source's tables the role may select, whose target it may select too.
func (b *builder) remoteRelationshipsOf(src *Source) {
	if b.relay {
		return // as in Hasura, whose relay schema ignores remote relationships
	}
	for _, mt := range src.Metadata.Tables {
		t := b.byName[src.Name][mt.Table]
		if t == nil {
			continue
		}
		for _, rr := range mt.RemoteRelationshipList() {
			ts, ok := rr.ToSource()
			if !ok || !IsName(rr.Name) || t.ByField[rr.Name] != nil || t.Rels[rr.Name] != nil {
				continue
			}
			remote := b.byName[ts.Source][ts.Table]
			if remote == nil {
				continue
			}
			rel := &Relationship{Field: rr.Name, Array: ts.RelationshipType == "array", Remote: remote, Nullable: true}
			if rel.On = remoteJoin(t, remote, ts); rel.On != nil {
				t.RemoteRels = append(t.RemoteRels, rel)
			}
		}
	}
}

// remoteJoin is the relationship's (column here, column there) pairs;
// nil when a column is missing on either side, or is one the role may
// not select here (its values leave the database for the join).
func remoteJoin(t, remote *Table, ts metadata.ToSource) [][2]string {
	var on [][2]string
	for _, p := range ts.Pairs() {
		here, there := columnByName(t.Columns, p[0]), columnByName(remote.AllColumns, p[1])
		if here == nil || there == nil {
			return nil
		}
		on = append(on, p)
	}
	return on
}

func columnByName(cols []*Column, name string) *Column {
	for _, c := range cols {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// remoteRelationshipFields adds a table's remote source relationships to
// its object type.
func (b *builder) remoteRelationshipFields(t *Table, obj *ast.Definition) {
	for _, r := range t.RemoteRels {
		if !r.Array {
			obj.Fields = append(obj.Fields, &ast.FieldDefinition{Name: r.Field, Type: nnNamed(r.Remote.TypeName)})
			b.mean(t.TypeName, r.Field, &Field{Kind: RemoteObjectRelField, Table: r.Remote, Rel: r})
			continue
		}
		obj.Fields = append(obj.Fields, &ast.FieldDefinition{Name: r.Field, Arguments: b.selectArgs(r.Remote), Type: nnListNN(r.Remote.TypeName)})
		b.mean(t.TypeName, r.Field, &Field{Kind: RemoteArrayRelField, Table: r.Remote, Rel: r})
		if r.Remote.AllowAggregations {
			agg := r.Field + "_aggregate"
			obj.Fields = append(obj.Fields, &ast.FieldDefinition{Name: agg, Arguments: b.selectArgs(r.Remote), Type: nnNamed(r.Remote.Derived("_aggregate"))})
			b.mean(t.TypeName, agg, &Field{Kind: RemoteArrayAggregateField, Table: r.Remote, Rel: r})
		}
	}
}
