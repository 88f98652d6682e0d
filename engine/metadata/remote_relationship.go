package metadata

import (
	"encoding/json"
	"fmt"
	"sort"
)

// A table's remote_relationships: {name, definition} each. The engine
// acts on those whose definition is `to_source` (a relationship to a
// table of another source, joined by the engine); the others (to a remote
// schema) are kept as they are.

// RemoteRelationship is one entry of a table's remote_relationships.
type RemoteRelationship struct {
	Name       string          `json:"name"`
	Definition json.RawMessage `json:"definition"`
}

// ToSource is a to_source definition.
// Its fields are in key order: encoded, it is what Hasura exports.
type ToSource struct {
	FieldMapping     map[string]string `json:"field_mapping"`     // column here -> column there
	RelationshipType string            `json:"relationship_type"` // object or array
	Source           string            `json:"source"`
	Table            QualifiedName     `json:"table"`
}

// ToSource reads the definition's to_source; false when it has none.
func (r RemoteRelationship) ToSource() (ToSource, bool) {
	var d struct {
		ToSource *ToSource `json:"to_source"`
	}
	if json.Unmarshal(r.Definition, &d) != nil || d.ToSource == nil {
		return ToSource{}, false
	}
	return *d.ToSource, true
}

// ParseToSource reads and checks a to_source definition as
// pg_create_remote_relationship takes it. The error is a *ParseError with
// a path relative to the definition.
func ParseToSource(raw json.RawMessage) (ToSource, error) {
	var d struct {
		ToSource json.RawMessage `json:"to_source"`
	}
	if err := strictObject(raw, &d); err != nil {
		return ToSource{}, parseError("$", err)
	}
	if isNull(d.ToSource) {
		return ToSource{}, &ParseError{"$", `only to_source relationships are supported`}
	}
	var ts struct {
		RelationshipType *string           `json:"relationship_type"`
		FieldMapping     map[string]string `json:"field_mapping"`
		Source           *string           `json:"source"`
		Table            *QualifiedName    `json:"table"`
	}
	if err := strictObject(d.ToSource, &ts); err != nil {
		return ToSource{}, parseError("$.to_source", err)
	}
	for key, missing := range map[string]bool{"relationship_type": ts.RelationshipType == nil, "field_mapping": ts.FieldMapping == nil, "source": ts.Source == nil, "table": ts.Table == nil} {
		if missing {
			return ToSource{}, &ParseError{"$.to_source", fmt.Sprintf("key %q not found", key)}
		}
	}
	if *ts.RelationshipType != "object" && *ts.RelationshipType != "array" {
		return ToSource{}, &ParseError{"$.to_source.relationship_type", `expected "object" or "array"`}
	}
	if len(ts.FieldMapping) == 0 {
		return ToSource{}, &ParseError{"$.to_source.field_mapping", "the field mapping is empty"}
	}
	return ToSource{RelationshipType: *ts.RelationshipType, FieldMapping: ts.FieldMapping, Source: *ts.Source, Table: *ts.Table}, nil
}

// Pairs are the field mapping's (column here, column there) pairs, in a
// stable order.
func (ts ToSource) Pairs() [][2]string {
	out := make([][2]string, 0, len(ts.FieldMapping))
	for from, to := range ts.FieldMapping {
		out = append(out, [2]string{from, to})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// RemoteRelationshipList reads the table's remote_relationships; a
// malformed list reads as empty (it was checked when written).
func (t *Table) RemoteRelationshipList() []RemoteRelationship {
	var rs []RemoteRelationship
	if len(t.RemoteRelationships) > 0 {
		_ = json.Unmarshal(t.RemoteRelationships, &rs)
	}
	return rs
}

// SetRemoteRelationships writes the table's remote_relationships, sorted
// by name as Hasura exports them (each as {definition, name}: aeson's
// sorted keys).
func (t *Table) SetRemoteRelationships(rs []RemoteRelationship) {
	if len(rs) == 0 {
		t.RemoteRelationships = nil
		return
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
	type entry struct {
		Definition json.RawMessage `json:"definition"`
		Name       string          `json:"name"`
	}
	list := make([]entry, len(rs))
	for i, r := range rs {
		list[i] = entry{r.Definition, r.Name}
	}
	t.RemoteRelationships, _ = json.Marshal(list)
}
