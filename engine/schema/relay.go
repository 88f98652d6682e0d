package schema

import (
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"
)

// The Relay schema (/v1beta1/relay) exposes tables with a primary key as
// connections (`<table>_connection`, edges/node/cursor, pageInfo) and
// every such row as a Node with a global `id`, as Hasura does.

func (b *builder) relayTypes() {
	b.define(&ast.Definition{Kind: ast.Interface, Name: "Node", Description: "An object with globally unique ID", Fields: ast.FieldList{
		{Name: "id", Description: "A globally unique identifier", Type: nnNamed("ID")},
	}})
	b.scalar("ID")
	b.define(&ast.Definition{Kind: ast.Object, Name: "PageInfo", Fields: ast.FieldList{
		{Name: "endCursor", Type: nnNamed("String")},
		{Name: "hasNextPage", Type: nnNamed("Boolean")},
		{Name: "hasPreviousPage", Type: nnNamed("Boolean")},
		{Name: "startCursor", Type: nnNamed("String")},
	}})
	for _, f := range []string{"endCursor", "hasNextPage", "hasPreviousPage", "startCursor"} {
		b.mean("PageInfo", f, &Field{Kind: PageInfoScalar, Op: f})
	}
}

// connectionArgs are a connection field's arguments.
func (b *builder) connectionArgs(t *Table) ast.ArgumentDefinitionList {
	return ast.ArgumentDefinitionList{
		arg("after", named("String"), ""),
		arg("before", named("String"), ""),
		arg("distinct_on", listOf(nnNamed(t.Derived("_select_column"))), "distinct select on columns"),
		arg("first", named("Int"), ""),
		arg("last", named("Int"), ""),
		arg("order_by", listOf(nnNamed(t.Derived("_order_by"))), "sort the rows by one or more columns"),
		arg("where", named(t.Derived("_bool_exp")), "filter the rows returned"),
	}
}

// connectionType declares <t>Connection and <t>Edge.
func (b *builder) connectionType(t *Table) string {
	b.relayTypes()
	conn, edge := t.Derived("Connection"), t.Derived("Edge")
	if _, ok := b.types[conn]; ok {
		return conn
	}
	b.define(&ast.Definition{Kind: ast.Object, Name: conn, Description: fmt.Sprintf("A Relay connection object on %q", t.Name.Name), Fields: ast.FieldList{
		{Name: "edges", Type: nnListNN(edge)},
		{Name: "pageInfo", Type: nnNamed("PageInfo")},
	}})
	b.mean(conn, "edges", &Field{Kind: EdgesField, Table: t})
	b.mean(conn, "pageInfo", &Field{Kind: PageInfoField, Table: t})
	b.define(&ast.Definition{Kind: ast.Object, Name: edge, Fields: ast.FieldList{
		{Name: "cursor", Type: nnNamed("String")},
		{Name: "node", Type: nnNamed(t.TypeName)},
	}})
	b.mean(edge, "cursor", &Field{Kind: CursorField, Table: t})
	b.mean(edge, "node", &Field{Kind: NodeField, Table: t})
	return conn
}

// connection adds a root connection field, to the roots in says.
func (b *builder) connection(t *Table, name string, comment *string, kind FieldKind, f *Function, in roots) {
	if b.types[t.TypeName] == nil {
		return
	}
	conn := b.connectionType(t)
	args := b.connectionArgs(t)
	if f != nil {
		f.ArgsType = b.argsType(b.typeName(t.Source, f.Name.Name+"_args"), f)
		if f.ArgsType != "" {
			typ := named(f.ArgsType)
			if requiredArgs(f) {
				typ = nonNull(typ)
			}
			args = append(args, arg("args", typ, ""))
		}
	}
	b.addRoot(&ast.FieldDefinition{Name: name, Description: orDefault(comment, fmt.Sprintf("fetch data from the table: %q", t.Name.Name)), Arguments: args, Type: nnNamed(conn)}, &Field{Kind: kind, Table: t, Function: f}, in)
}

// nodeField adds the relay `node` root field once some table's rows are
// nodes. It does not depend on the tables' connection fields: as in
// Hasura, a permission hiding a table's root fields leaves its rows
// reachable by id.
func (b *builder) nodeField() {
	if !b.relay || len(b.s.NodeTables) == 0 {
		return
	}
	b.addRoot(&ast.FieldDefinition{Name: "node", Arguments: ast.ArgumentDefinitionList{arg("id", nnNamed("ID"), "A globally unique id")}, Type: named("Node")}, &Field{Kind: RootNode}, everywhere)
}
