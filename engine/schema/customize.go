package schema

import (
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/metadata"
)

// A source's customization (metadata.SourceCustomization) renames what
// the builder makes of it, as Hasura's MkTypename and MkRootFieldName do:
//
//   - every type made from one of its tables or functions (the table's
//     object type, <t>_aggregate, <t>_bool_exp, <t>_insert_input, <fn>_args,
//     <t>_enum, ...) gets the type prefix and suffix around its whole
//     name: prefix + "author_aggregate" + suffix. Types shared by every
//     source (scalars, <scalar>_comparison_exp, order_by, PageInfo) keep
//     their names, as in Hasura.
//   - every root field gets the root field prefix and suffix, custom
//     names included.
//   - with a namespace, the source's root fields leave query_root,
//     mutation_root and subscription_root for one field named after the
//     namespace, of an object type <namespace>_query (_mutation_frontend,
//     _subscription) customized like the source's other types.

// typeNamer is a source's type name prefix and suffix.
type typeNamer struct{ prefix, suffix string }

func (n typeNamer) name(s string) string { return n.prefix + s + n.suffix }

// Derived is the name of a type made from the table: its GraphQL name
// with kind appended ("_aggregate", "_bool_exp", "Connection"...), then
// the source's type name customization. Derived("") is TypeName.
func (t *Table) Derived(kind string) string { return t.names.name(t.gqlName + kind) }

// Namespace is what a namespace root field holds: the root fields of
// Source, as the fields of the object type TypeName.
type Namespace struct {
	Source   string
	TypeName string
}

// customizing is the builder's view of the sources' customizations.
type customizing struct {
	bySource   map[string]metadata.SourceCustomization
	namespaces map[string]*namespaceFields // by source
	order      []string                    // sources with a namespace, in build order
}

// namespaceFields collects the root fields of a namespaced source, by
// the root type they would be on (query_root, mutation_root,
// subscription_root).
type namespaceFields struct {
	name   string
	fields map[string]ast.FieldList
	seen   map[string]bool
}

func newCustomizing(sources []*Source) *customizing {
	c := &customizing{bySource: map[string]metadata.SourceCustomization{}, namespaces: map[string]*namespaceFields{}}
	for _, src := range sources {
		// Validated when the metadata was written.
		sc, _ := metadata.ParseSourceCustomization(src.Metadata.Customization)
		c.bySource[src.Name] = sc
	}
	return c
}

func (c *customizing) of(source string) metadata.SourceCustomization { return c.bySource[source] }

func (c *customizing) namer(source string) typeNamer {
	prefix, suffix := c.of(source).TypeAffixes()
	return typeNamer{prefix, suffix}
}

// nameTable gives a table its GraphQL name and its type names.
func (b *builder) nameTable(t *Table, gqlName string) {
	t.gqlName, t.names = gqlName, b.cust.namer(t.Source)
	t.TypeName = t.Derived("")
}

// typeName customizes the name of a type made from one of source's
// tables or functions.
func (b *builder) typeName(source, name string) string {
	return b.cust.namer(source).name(name)
}

// customRoot renames a source's root field as its customization says
// and, when the source has a namespace, puts it there, under each of
// parents (query_root, mutation_root, subscription_root), reporting true:
// the caller adds nothing.
func (b *builder) customRoot(fd *ast.FieldDefinition, f *Field, parents ...string) bool {
	if f.Table == nil {
		return false // not a source's field (relay's node)
	}
	sc := b.cust.of(f.Table.Source)
	fd.Name = sc.RootFieldName(fd.Name)
	ns := sc.Namespace()
	if ns == "" {
		return false
	}
	nf := b.cust.namespaces[f.Table.Source]
	if nf == nil {
		nf = &namespaceFields{name: ns, fields: map[string]ast.FieldList{}, seen: map[string]bool{}}
		b.cust.namespaces[f.Table.Source] = nf
		b.cust.order = append(b.cust.order, f.Table.Source)
	}
	for _, parent := range parents {
		key := parent + "." + fd.Name
		if nf.seen[key] || !IsName(fd.Name) {
			continue
		}
		nf.seen[key] = true
		nf.fields[parent] = append(nf.fields[parent], fd)
		b.mean(b.namespaceType(f.Table.Source, parent), fd.Name, f)
	}
	return true
}

// namespaceSuffixes name a namespace's object type in each root, as
// Hasura does (the frontend mutation schema is the one served).
var namespaceSuffixes = map[string]string{
	"query_root":        "_query",
	"mutation_root":     "_mutation_frontend",
	"subscription_root": "_subscription",
}

func (b *builder) namespaceType(source, root string) string {
	return b.typeName(source, b.cust.of(source).Namespace()+namespaceSuffixes[root])
}

// addNamespaces puts each namespace with fields on query_root,
// mutation_root and subscription_root, as a field of its own object type
// in each.
func (b *builder) addNamespaces() {
	for _, source := range b.cust.order {
		nf := b.cust.namespaces[source]
		for _, root := range []struct {
			name string
			list *[]*ast.FieldDefinition
		}{{"query_root", &b.root}, {"mutation_root", &b.mroot}, {"subscription_root", &b.sroot}} {
			fields := nf.fields[root.name]
			key := nf.name
			if root.name != "query_root" {
				key = root.name + "." + key
			}
			if len(fields) == 0 || b.seen[key] {
				continue
			}
			b.seen[key] = true
			typ := b.namespaceType(source, root.name)
			b.define(&ast.Definition{Kind: ast.Object, Name: typ, Fields: fields})
			*root.list = append(*root.list, &ast.FieldDefinition{Name: nf.name, Type: nnNamed(typ)})
			b.mean(root.name, nf.name, &Field{Kind: RootNamespace, Namespace: &Namespace{Source: source, TypeName: typ}})
		}
	}
}
