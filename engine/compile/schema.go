// Package compile turns requests into one SQL statement each, with the
// JSON response built inside Postgres. Today: Hasura's boolean expressions
// (the `where` of every API and of permission filters) and the v1 data
// API's select and count; the GraphQL operations build on the same parts.
package compile

import (
	"sort"

	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

// Schema is what the compiler knows of one source: its tracked tables and
// their relationships, resolved against the catalog.
type Schema struct {
	Tables map[metadata.QualifiedName]*Table
}

// Table is a tracked table.
type Table struct {
	Name    metadata.QualifiedName
	Catalog *catalog.Table
	Rels    map[string]*Relationship
}

// Relationship joins a table to another: each pair is (local column,
// remote column).
type Relationship struct {
	Name   string
	Array  bool
	Remote *Table
	On     [][2]string
	// AfterParent: a nested insert writes this table's row first and the
	// remote one after it (an object relationship over a key of the
	// remote table, or a manual one configured so).
	AfterParent bool
}

// BuildSchema resolves a source's tracked tables and relationships.
// Objects that do not fit the catalog are left out: they are reported as
// inconsistencies elsewhere and must never reach SQL.
func BuildSchema(src *metadata.Source, cat *catalog.Catalog) *Schema {
	s := &Schema{Tables: map[metadata.QualifiedName]*Table{}}
	if cat == nil {
		return s
	}
	for _, t := range src.Tables {
		if ct, ok := cat.Table(t.Table.Schema, t.Table.Name); ok {
			s.Tables[t.Table] = &Table{Name: t.Table, Catalog: ct, Rels: map[string]*Relationship{}}
		}
	}
	for _, t := range src.Tables {
		tbl := s.Tables[t.Table]
		if tbl == nil {
			continue
		}
		for _, list := range []struct {
			rels  []*metadata.Relationship
			array bool
		}{{t.ObjectRelationships, false}, {t.ArrayRelationships, true}} {
			for _, r := range list.rels {
				if rel := s.resolve(tbl, r, list.array); rel != nil {
					tbl.Rels[r.Name] = rel
				}
			}
		}
	}
	return s
}

func (s *Schema) resolve(tbl *Table, r *metadata.Relationship, array bool) *Relationship {
	u, err := schemacache.ParseUsing(r.Using)
	if err != nil {
		return nil
	}
	rel := &Relationship{Name: r.Name, Array: array}
	switch {
	case u.Manual != nil:
		if rel.Remote = s.Tables[u.Manual.RemoteTable]; rel.Remote == nil {
			return nil
		}
		locals := make([]string, 0, len(u.Manual.ColumnMapping))
		for l := range u.Manual.ColumnMapping {
			locals = append(locals, l)
		}
		sort.Strings(locals)
		rel.AfterParent = u.Manual.InsertionOrder == "after_parent"
		for _, l := range locals {
			rel.On = append(rel.On, [2]string{l, u.Manual.ColumnMapping[l]})
		}
	case u.FKOn.Table != nil:
		// The foreign key is on the remote table and points here.
		if rel.Remote = s.Tables[*u.FKOn.Table]; rel.Remote == nil {
			return nil
		}
		fk := schemacache.FindFK(rel.Remote.Catalog, u.FKOn.Columns)
		if fk == nil {
			return nil
		}
		rel.AfterParent = true
		for i, c := range fk.Columns {
			rel.On = append(rel.On, [2]string{fk.RefColumns[i], c})
		}
	default:
		fk := schemacache.FindFK(tbl.Catalog, u.FKOn.Columns)
		if fk == nil {
			return nil
		}
		if rel.Remote = s.Tables[metadata.QualifiedName{Schema: fk.RefTable.Schema, Name: fk.RefTable.Name}]; rel.Remote == nil {
			return nil
		}
		for i, c := range fk.Columns {
			rel.On = append(rel.On, [2]string{c, fk.RefColumns[i]})
		}
	}
	return rel
}
