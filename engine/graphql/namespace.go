package graphql

import (
	"bytes"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/schema"
)

// A source customized with a namespace has one root field, named after
// it, whose object holds the source's root fields (Hasura's
// customizeNamespace); the response nests them under the namespace's
// response key.
//
// In a query (or a live query) the namespace is one column of its
// source's statement: a JSON object of its fields, each compiled as it
// would be at the root. In a mutation its fields run in order as root
// fields of their own, marked with the namespace's key, and the response
// groups them back (writeMutationData).

// namespace compiles the selection of a namespace field into one JSON
// object.
func (c *compiler) namespace(ns *schema.Namespace, sub ast.SelectionSet, path string) (string, *errAt) {
	def := c.s.AST.Types[ns.TypeName]
	fields, err := c.collect(sub, ns.TypeName, nil, path)
	if err != nil {
		return "", err
	}
	pairs := make([][2]string, 0, len(fields))
	for _, cf := range fields {
		if cf.field.Name == "__typename" {
			pairs = append(pairs, [2]string{cf.key, quoteLiteral(ns.TypeName)})
			continue
		}
		at, fd, meaning, args, err := c.resolve(def, cf, path)
		if err != nil {
			return "", err
		}
		if len(cf.sub) == 0 {
			return "", fail(at, "missing selection set for '%s'", fd.Type.Name())
		}
		expr, err := c.root(meaning, args, cf.sub, at)
		if err != nil {
			return "", err
		}
		pairs = append(pairs, [2]string{cf.key, expr})
	}
	return jsonObject(pairs), nil
}

// mutationRootField is a root field of a mutation with the object type
// it is a field of: mutation_root, or a namespace's type when ns (the
// namespace's response key) is set.
type mutationRootField struct {
	cf     *collected
	parent *ast.Definition
	ns     string
	path   string
}

// mutationRootFields lists a mutation's root fields, those of its
// namespaces in their place.
func mutationRootFields(s *schema.Schema, co *coercer, root *ast.Definition, fields []*collected) ([]mutationRootField, *errAt) {
	out := make([]mutationRootField, 0, len(fields))
	for _, cf := range fields {
		m := s.Field(root.Name, cf.field.Name)
		if m == nil || m.Kind != schema.RootNamespace {
			out = append(out, mutationRootField{cf: cf, parent: root, path: "$.selectionSet." + cf.field.Name})
			continue
		}
		path := "$.selectionSet." + cf.field.Name
		if len(cf.sub) == 0 {
			return nil, fail(path, "missing selection set for '%s'", m.Namespace.TypeName)
		}
		inner, err := co.collect(cf.sub, m.Namespace.TypeName, nil, path)
		if err != nil {
			return nil, err
		}
		def := s.AST.Types[m.Namespace.TypeName]
		for _, icf := range inner {
			out = append(out, mutationRootField{cf: icf, parent: def, ns: cf.key, path: path + ".selectionSet." + icf.field.Name})
		}
	}
	return out, nil
}

// writeMutationData writes {"data": ...} from the values of a mutation's
// fields, those of a namespace grouped in one object under its key.
func writeMutationData(out *bytes.Buffer, fields []*mutField, values [][]byte) {
	out.WriteString(`{"data":{`)
	open := ""
	for i, f := range fields {
		if f.ns != open {
			if open != "" {
				out.WriteByte('}')
			}
			if i > 0 {
				out.WriteByte(',')
			}
			if f.ns != "" {
				out.WriteString(jsonString(f.ns))
				out.WriteString(":{")
			}
			open = f.ns
		} else if i > 0 {
			out.WriteByte(',')
		}
		out.WriteString(jsonString(f.key))
		out.WriteByte(':')
		out.Write(values[i])
	}
	if open != "" {
		out.WriteByte('}')
	}
	out.WriteString("}}")
}
