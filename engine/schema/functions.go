package schema

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
)

type functionConfig struct {
	CustomName       string                     `json:"custom_name"`
	CustomRootFields map[string]json.RawMessage `json:"custom_root_fields"`
	SessionArgument  string                     `json:"session_argument"`
	ExposedAs        string                     `json:"exposed_as"`
}

// catalogFunction is the one overload of a tracked function (Hasura
// refuses to track overloaded functions).
func catalogFunction(cat *catalog.Catalog, q metadata.QualifiedName) *catalog.Function {
	fs := cat.Functions[catalog.QualifiedName{Schema: q.Schema, Name: q.Name}]
	if len(fs) != 1 {
		return nil
	}
	return fs[0]
}

// function resolves a function returning rows of a table the role sees;
// skip is the position of the argument the caller fills (the row of a
// computed field), -1 for none.
func (b *builder) function(src *Source, q metadata.QualifiedName, sessionArg string, skip int) *Function {
	cf := catalogFunction(src.Catalog, q)
	if cf == nil {
		return nil
	}
	f := &Function{Name: q, Catalog: cf, SessionArg: sessionArg}
	if cf.ReturnsTable && cf.ReturnsSet {
		q := metadata.QualifiedName{Schema: cf.ReturnType.Schema, Name: cf.ReturnType.Name}
		f.Returns = b.byName[src.Name][q]
		if f.Returns == nil {
			// Not selectable by the role, yet a permission filter may
			// still test it (hidden tables never reach the schema).
			base := src.Resolved.Tables[q]
			if base == nil {
				return nil
			}
			f.Returns = &Table{Source: src.Name, Name: q, Catalog: base.Catalog, Base: base, hidden: true}
		} else if b.types[f.Returns.TypeName] == nil && len(f.Returns.Columns) == 0 {
			// No type to return (types are defined after computed fields
			// resolve, hence the column check).
			return nil
		}
	} else if cf.ReturnsTable || cf.ReturnsSet || cf.ReturnTypeKind == catalog.TypePseudo {
		return nil
	}
	for i, a := range cf.Args {
		if i == skip || a.Name == sessionArg && sessionArg != "" {
			continue
		}
		name := a.Name
		if name == "" {
			name = fmt.Sprintf("arg_%d", i+1)
		}
		f.Args = append(f.Args, FunctionArg{
			Name:       name,
			Scalar:     scalarName(a.TypeName, a.TypeKind, src.Catalog),
			SQLType:    SQLType(a.TypeName, a.IsArray),
			HasDefault: a.HasDefault,
			Position:   i,
		})
	}
	return f
}

// argsType declares the input object of a function's arguments.
func (b *builder) argsType(name string, f *Function) string {
	if len(f.Args) == 0 {
		return ""
	}
	d := &ast.Definition{Kind: ast.InputObject, Name: name}
	for _, a := range f.Args {
		typ := named(b.scalar(a.Scalar))
		if strings.HasSuffix(a.SQLType, "[]") {
			typ = listOf(nonNull(typ))
		}
		d.Fields = append(d.Fields, &ast.FieldDefinition{Name: a.Name, Type: typ})
	}
	b.define(d)
	return name
}

// requiredArgs: `args` is required when some argument has no default.
func requiredArgs(f *Function) bool {
	return slices.ContainsFunc(f.Args, func(a FunctionArg) bool { return !a.HasDefault })
}

func (b *builder) functionsOf(src *Source) {
	for _, mf := range src.Metadata.Functions {
		var cfg functionConfig
		_ = json.Unmarshal(mf.Configuration, &cfg)
		f := b.function(src, mf.Function, cfg.SessionArgument, -1)
		if f == nil || f.Returns == nil || f.Returns.hidden || b.types[f.Returns.TypeName] == nil {
			continue
		}
		// A VOLATILE function is a mutation unless tracked as a query.
		mutation := cfg.ExposedAs == "mutation" || f.Catalog.Volatility == "VOLATILE" && cfg.ExposedAs != "query"
		base := mf.Function.Name
		if mf.Function.Schema != "public" {
			base = mf.Function.Schema + "_" + base
		}
		if cfg.CustomName != "" {
			base = cfg.CustomName
		}
		f.FieldName = base
		if b.relay && !mutation {
			if len(f.Returns.PK) > 0 {
				b.connection(f.Returns, base+"_connection", nil, RootFunctionConnection, f, everywhere)
			}
			continue
		}
		f.ArgsType = b.argsType(b.typeName(src.Name, mf.Function.Name+"_args"), f)
		args := b.selectArgs(f.Returns)
		if f.ArgsType != "" {
			t := named(f.ArgsType)
			if requiredArgs(f) {
				t = nonNull(t)
			}
			args = append(args, arg("args", t, fmt.Sprintf("input parameters for function %q", base)))
		}
		desc := fmt.Sprintf("execute function %q which returns %q", mf.Function.Name, f.Returns.Name.Name)
		if mf.Comment != nil {
			desc = *mf.Comment
		}
		name := rootName(cfg.CustomRootFields, "function", base)
		if mutation {
			b.addMutation(&ast.FieldDefinition{Name: name, Description: desc, Arguments: args, Type: nnListNN(f.Returns.TypeName)}, &Field{Kind: RootFunction, Table: f.Returns, Function: f})
			continue
		}
		// Function root fields ignore the return table's root field lists,
		// as in Hasura (Schema.hs buildQueryAndSubscriptionFields).
		b.addRoot(&ast.FieldDefinition{Name: name, Description: desc, Arguments: args, Type: nnListNN(f.Returns.TypeName)}, &Field{Kind: RootFunction, Table: f.Returns, Function: f}, everywhere)
		if f.Returns.AllowAggregations && b.types[f.Returns.Derived("_aggregate")] != nil {
			aname := rootName(cfg.CustomRootFields, "function_aggregate", base+"_aggregate")
			b.addRoot(&ast.FieldDefinition{Name: aname, Description: fmt.Sprintf("execute function %q and query aggregates on result of table type %q", mf.Function.Name, f.Returns.Name.Name), Arguments: args, Type: nnNamed(f.Returns.Derived("_aggregate"))}, &Field{Kind: RootFunctionAggregate, Table: f.Returns, Function: f}, everywhere)
		}
	}
}

func rootName(custom map[string]json.RawMessage, key, def string) string {
	var s string
	if raw, ok := custom[key]; ok && json.Unmarshal(raw, &s) == nil && s != "" {
		return s
	}
	return def
}

type computedDefinition struct {
	Function        metadata.QualifiedName `json:"function"`
	TableArgument   string                 `json:"table_argument"`
	SessionArgument string                 `json:"session_argument"`
}

// computedFieldsOf resolves the computed fields the role may select.
func (b *builder) computedFieldsOf(src *Source) {
	for _, mt := range src.Metadata.Tables {
		t := b.byName[src.Name][mt.Table]
		if t == nil {
			continue
		}
		for _, mc := range mt.ComputedFields {
			redact, listed := t.perm.computedField(mc.Name)
			allowed := t.perm == nil || listed || b.setReturning(src, mc)
			var def computedDefinition
			if json.Unmarshal(mc.Definition, &def) != nil || !IsName(mc.Name) {
				continue
			}
			cf := catalogFunction(src.Catalog, def.Function)
			if cf == nil || len(cf.Args) == 0 {
				continue
			}
			pos := 0
			if def.TableArgument != "" {
				pos = slices.IndexFunc(cf.Args, func(a catalog.FunctionArg) bool { return a.Name == def.TableArgument })
				if pos < 0 {
					continue
				}
			}
			f := b.function(src, def.Function, def.SessionArgument, pos)
			if f == nil {
				continue
			}
			c := &ComputedField{Field: mc.Name, Function: f, TableArg: pos, Comment: mc.Comment}
			if f.Returns == nil {
				c.Scalar = scalarName(cf.ReturnType, cf.ReturnTypeKind, src.Catalog)
				c.ReturnSQL = cf.ReturnType.Name
				c.Redact = redact
			}
			t.AllComputed[mc.Name] = c
			if !allowed || f.Returns != nil && f.Returns.hidden {
				continue
			}
			c.ArgsType = b.argsType(b.typeName(src.Name, def.Function.Name+"_args"), f)
			t.Computed[mc.Name] = c
		}
	}
}

// setReturning: table-returning computed fields follow the remote
// table's permission, not the computed_fields list.
func (b *builder) setReturning(src *Source, mc *metadata.ComputedField) bool {
	var def computedDefinition
	if json.Unmarshal(mc.Definition, &def) != nil {
		return false
	}
	cf := catalogFunction(src.Catalog, def.Function)
	if cf == nil || !cf.ReturnsTable {
		return false
	}
	return b.byName[src.Name][metadata.QualifiedName{Schema: cf.ReturnType.Schema, Name: cf.ReturnType.Name}] != nil
}
