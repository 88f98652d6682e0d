package schema

// Streaming subscriptions' root fields, as Hasura builds them
// (Hasura.GraphQL.Schema.SubscriptionStream and
// Build.hs buildTableStreamingSubscriptionFields): for every table the
// role may select, subscription_root — and only it — gets
//
//	<table>_stream(batch_size: Int!, cursor: [<table>_stream_cursor_input]!, where: <table>_bool_exp): [<table>!]!
//
//	input <table>_stream_cursor_input {
//	  initial_value: <table>_stream_cursor_value_input!
//	  ordering: cursor_ordering
//	}
//	input <table>_stream_cursor_value_input { <each selectable column>: <its type> }
//	enum cursor_ordering { ASC DESC }
//
// The field is named by the table's select_stream custom root field and
// the source's root field prefix and suffix; unlike the other root fields
// its description is always Hasura's own. The types are customized like
// the source's other types (cursor_ordering too, as in Hasura). A source
// with a namespace gets no stream fields yet: a stream's response must be
// its root field (see graphql/stream.go).

import (
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/metadata"
)

// RootStream is a <table>_stream field of subscription_root.
const RootStream FieldKind = 200

// streamFieldsOf adds the stream fields of a source's tables to
// subscription_root (b.sroot).
func (b *builder) streamFieldsOf(src *Source) {
	if b.relay {
		return
	}
	for _, mt := range src.Metadata.Tables {
		t := b.byName[src.Name][mt.Table]
		if t == nil || b.types[t.TypeName] == nil || len(t.Columns) == 0 || !t.rootsOf(streamRootField).subscription {
			continue
		}
		sc := b.cust.of(src.Name)
		if sc.Namespace() != "" {
			continue
		}
		name, _ := parseTableConfig(mt.Configuration).rootField(streamRootField, t.gqlName+"_stream")
		name = sc.RootFieldName(name)
		if b.seen[name] || b.seen["subscription_root."+name] || !IsName(name) {
			continue
		}
		b.seen["subscription_root."+name] = true
		b.sroot = append(b.sroot, &ast.FieldDefinition{
			Name:        name,
			Description: fmt.Sprintf("fetch data from the table in a streaming manner: %q", qualifiedText(t.Name)),
			Arguments: ast.ArgumentDefinitionList{
				arg("batch_size", nnNamed("Int"), "maximum number of rows returned in a single batch"),
				arg("cursor", nonNull(listOf(named(b.streamCursorInput(t)))), "cursor to stream the results returned by the query"),
				arg("where", named(t.Derived("_bool_exp")), "filter the rows returned"),
			},
			Type: nnListNN(t.TypeName),
		})
		b.mean("subscription_root", name, &Field{Kind: RootStream, Table: t})
	}
}

// streamCursorInput declares <table>_stream_cursor_input (and the types
// it uses) and returns its name.
func (b *builder) streamCursorInput(t *Table) string {
	name := t.Derived("_stream_cursor_input")
	if _, ok := b.types[name]; ok {
		return name
	}
	value := &ast.Definition{Kind: ast.InputObject, Name: t.Derived("_stream_cursor_value_input"), Description: "Initial value of the column from where the streaming should start"}
	for _, c := range t.Columns {
		// Optional, yet a NOT NULL column refuses null (Hasura's
		// fieldOptional over the column's parser): an insert's input field.
		value.Fields = append(value.Fields, b.inputField(c))
	}
	b.define(value)
	ordering := b.typeName(t.Source, "cursor_ordering")
	b.define(&ast.Definition{Kind: ast.Enum, Name: ordering, Description: "ordering argument of a cursor", EnumValues: ast.EnumValueList{
		{Name: "ASC", Description: "ascending ordering of the cursor"},
		{Name: "DESC", Description: "descending ordering of the cursor"},
	}})
	b.define(&ast.Definition{Kind: ast.InputObject, Name: name, Description: fmt.Sprintf("Streaming cursor of the table %q", t.gqlName), Fields: ast.FieldList{
		{Name: "initial_value", Description: "Stream column input with initial value", Type: nnNamed(value.Name)},
		{Name: "ordering", Description: "cursor ordering", Type: named(ordering)},
	}})
	return name
}

// qualifiedText names a table as Hasura's messages do: bare in public,
// schema.name elsewhere.
func qualifiedText(q metadata.QualifiedName) string {
	if q.Schema == "public" {
		return q.Name
	}
	return q.Schema + "." + q.Name
}
