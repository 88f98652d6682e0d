// Package metadata is the engine's model of Hasura metadata (the `version: 3`
// document that export_metadata returns and replace_metadata takes).
//
// Encoding follows Hasura's own serializer (metadataToOrdJSON): the objects
// it builds field by field keep that field order, empty lists and default
// values are left out, lists are sorted (sources by name, tables by
// schema then name, relationships by name, permissions by role), and every
// value it passes through aeson's plain encoder (filters, checks, `using`,
// table configuration, qualified names) comes out with its keys sorted,
// recursively. So Strata's export of a document Hasura exported is the same
// bytes, and export(replace(export(x))) is stable.
//
// Sections Strata does not model field by field (actions, remote schemas,
// cron triggers, event triggers, table configuration, ...) are stored as
// the JSON they came in, and rebuilt on export the way Hasura rebuilds
// them from its parsed values (export_*.go): its key order, its defaults
// filled in or left out, its sorted lists. Keys Hasura does not know are
// kept rather than dropped (see ordjson.go), so nothing is lost.
package metadata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/strata-dev/strata/engine/aeson"
)

// CurrentVersion is the metadata format version Strata exports.
const CurrentVersion = 3

// Metadata is the whole document.
type Metadata struct {
	Sources []*Source

	// Sections kept as JSON, in Hasura's top-level order; encoded in
	// Hasura's export form (export_sections.go).
	RemoteSchemas              json.RawMessage
	QueryCollections           json.RawMessage
	Allowlist                  json.RawMessage
	Actions                    json.RawMessage
	CustomTypes                json.RawMessage
	CronTriggers               json.RawMessage
	RestEndpoints              json.RawMessage
	APILimits                  json.RawMessage
	MetricsConfig              json.RawMessage
	InheritedRoles             json.RawMessage
	GraphQLSchemaIntrospection json.RawMessage
	Network                    json.RawMessage
	BackendConfigs             json.RawMessage
	OpenTelemetry              json.RawMessage
}

// rawSections pairs each section kept as JSON with its key, in export order.
func (m *Metadata) rawSections() []struct {
	key string
	val *json.RawMessage
} {
	return []struct {
		key string
		val *json.RawMessage
	}{
		{"remote_schemas", &m.RemoteSchemas},
		{"query_collections", &m.QueryCollections},
		{"allowlist", &m.Allowlist},
		{"actions", &m.Actions},
		{"custom_types", &m.CustomTypes},
		{"cron_triggers", &m.CronTriggers},
		{"rest_endpoints", &m.RestEndpoints},
		{"api_limits", &m.APILimits},
		{"metrics_config", &m.MetricsConfig},
		{"inherited_roles", &m.InheritedRoles},
		{"graphql_schema_introspection", &m.GraphQLSchemaIntrospection},
		{"network", &m.Network},
		{"backend_configs", &m.BackendConfigs},
		{"opentelemetry", &m.OpenTelemetry},
	}
}

// Source is one database and what is tracked in it.
type Source struct {
	Name      string
	Kind      string // "postgres"
	Tables    []*Table
	Functions []*Function
	// Configuration holds connection_info and friends, verbatim for now.
	Configuration json.RawMessage
	// Kept as JSON; encoded sorted (native queries and logical models by
	// name) and key-sorted.
	NativeQueries    json.RawMessage
	StoredProcedures json.RawMessage
	LogicalModels    json.RawMessage
	QueryTags        json.RawMessage
	Customization    json.RawMessage
	HealthCheck      json.RawMessage
}

// QualifiedName is a schema-qualified table or function name. In input it
// may be a bare string (schema public) or {schema, name}.
type QualifiedName struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
}

func (q QualifiedName) String() string { return q.Schema + "." + q.Name }

// Less orders as Hasura does: by schema, then name.
func (q QualifiedName) Less(o QualifiedName) bool {
	if q.Schema != o.Schema {
		return q.Schema < o.Schema
	}
	return q.Name < o.Name
}

// UnmarshalJSON accepts "name" or {"schema": ..., "name": ...}.
func (q *QualifiedName) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*q = QualifiedName{Schema: "public", Name: s}
		return nil
	}
	var o struct {
		Schema *string `json:"schema"`
		Name   *string `json:"name"`
	}
	if err := json.Unmarshal(b, &o); err != nil || o.Name == nil {
		return fmt.Errorf("expected a name or an object with schema and name")
	}
	*q = QualifiedName{Schema: "public", Name: *o.Name}
	if o.Schema != nil {
		q.Schema = *o.Schema
	}
	return nil
}

// MarshalJSON writes {"name","schema"}: Hasura encodes it through aeson's
// plain object encoder, which sorts keys.
func (q QualifiedName) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"schema": q.Schema, "name": q.Name})
}

// Table is a tracked table or view.
type Table struct {
	Table               QualifiedName
	IsEnum              bool
	Configuration       json.RawMessage // custom_name, custom_root_fields, column_config: see export_table_config.go
	ObjectRelationships []*Relationship
	ArrayRelationships  []*Relationship
	ComputedFields      []*ComputedField
	RemoteRelationships json.RawMessage // sorted by name on export
	InsertPermissions   []*Permission[InsertPermission]
	SelectPermissions   []*Permission[SelectPermission]
	UpdatePermissions   []*Permission[UpdatePermission]
	DeletePermissions   []*Permission[DeletePermission]
	EventTriggers       json.RawMessage // see export_triggers.go
	ApolloFederation    json.RawMessage
	LogicalModel        json.RawMessage
}

// Relationship is an object or array relationship.
type Relationship struct {
	Name    string
	Using   json.RawMessage // foreign_key_constraint_on or manual_configuration
	Comment *string
}

// ComputedField is a function exposed as a field of a table.
type ComputedField struct {
	Name       string
	Definition json.RawMessage
	Comment    *string
}

// Permission is a role's permission of one kind, with its comment.
type Permission[P any] struct {
	Role       string
	Permission P
	Comment    *string
}

// InsertPermission is the `permission` of an insert permission.
type InsertPermission struct {
	Check         json.RawMessage // boolean expression
	Set           json.RawMessage // column presets
	Columns       json.RawMessage // list of columns or "*"
	BackendOnly   bool
	ValidateInput json.RawMessage
}

// SelectPermission is the `permission` of a select permission.
type SelectPermission struct {
	Columns                json.RawMessage // list of columns or "*"
	ComputedFields         []string
	Filter                 json.RawMessage
	Limit                  *int64
	AllowAggregations      bool
	QueryRootFields        []string // nil = all allowed
	SubscriptionRootFields []string // nil = all allowed
}

// UpdatePermission is the `permission` of an update permission.
type UpdatePermission struct {
	Columns       json.RawMessage
	Filter        json.RawMessage
	Check         json.RawMessage
	Set           json.RawMessage
	BackendOnly   bool
	ValidateInput json.RawMessage
}

// DeletePermission is the `permission` of a delete permission.
type DeletePermission struct {
	Filter        json.RawMessage
	BackendOnly   bool
	ValidateInput json.RawMessage
}

// Function is a tracked SQL function.
type Function struct {
	Function      QualifiedName
	Configuration json.RawMessage
	Permissions   json.RawMessage
	Comment       *string
}

// Empty is the metadata of a fresh engine.
func Empty() *Metadata { return &Metadata{} }

// Source returns the source with the given name.
func (m *Metadata) Source(name string) (*Source, bool) {
	for _, s := range m.Sources {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// Table returns a tracked table of the source.
func (s *Source) Table(q QualifiedName) (*Table, bool) {
	for _, t := range s.Tables {
		if t.Table == q {
			return t, true
		}
	}
	return nil, false
}

// sorted is m with every list in Hasura's export order. The lists are
// copies (their elements are shared): a snapshot's metadata is read by
// concurrent requests while it is exported, so it is never sorted in
// place.
func (m *Metadata) sorted() *Metadata {
	out := *m
	out.Sources = sortedCopy(m.Sources, func(a, b *Source) bool { return a.Name < b.Name })
	for i, s := range out.Sources {
		sc := *s
		sc.Tables = sortedCopy(s.Tables, func(a, b *Table) bool { return a.Table.Less(b.Table) })
		sc.Functions = sortedCopy(s.Functions, func(a, b *Function) bool { return a.Function.Less(b.Function) })
		for j, t := range sc.Tables {
			tc := *t
			byName := func(a, b *Relationship) bool { return a.Name < b.Name }
			tc.ObjectRelationships = sortedCopy(t.ObjectRelationships, byName)
			tc.ArrayRelationships = sortedCopy(t.ArrayRelationships, byName)
			tc.ComputedFields = sortedCopy(t.ComputedFields, func(a, b *ComputedField) bool { return a.Name < b.Name })
			tc.InsertPermissions = sortedByRole(t.InsertPermissions)
			tc.SelectPermissions = sortedByRole(t.SelectPermissions)
			tc.UpdatePermissions = sortedByRole(t.UpdatePermissions)
			tc.DeletePermissions = sortedByRole(t.DeletePermissions)
			sc.Tables[j] = &tc
		}
		out.Sources[i] = &sc
	}
	return &out
}

// sortedCopy is a stably sorted copy of s (nil stays nil).
func sortedCopy[T any](s []T, less func(a, b T) bool) []T {
	if s == nil {
		return nil
	}
	out := slices.Clone(s)
	sort.SliceStable(out, func(i, j int) bool { return less(out[i], out[j]) })
	return out
}

func sortedByRole[P any](ps []*Permission[P]) []*Permission[P] {
	return sortedCopy(ps, func(a, b *Permission[P]) bool { return a.Role < b.Role })
}

// String is a short description for logs.
func (m *Metadata) String() string {
	n := 0
	for _, s := range m.Sources {
		n += len(s.Tables)
	}
	names := make([]string, len(m.Sources))
	for i, s := range m.Sources {
		names[i] = s.Name
	}
	return fmt.Sprintf("metadata{sources: [%s], tables: %d}", strings.Join(names, ","), n)
}

// isEmptyJSON reports whether a raw value is absent, null, {} or [].
func isEmptyJSON(b json.RawMessage) bool {
	t := bytes.TrimSpace(b)
	switch string(t) {
	case "", "null", "{}", "[]":
		return true
	}
	return false
}

// ForExport is the document export_metadata answers with: the stored one
// minus the cron triggers whose include_in_metadata is false. Hasura keeps
// those in its metadata but leaves them out of the export
// (processCronTriggersMetadata in Hasura.RQL.DDL.Metadata): they are
// managed through create_cron_trigger and delete_cron_trigger only.
// m is not changed; the copy shares everything else with it.
func (m *Metadata) ForExport() *Metadata {
	out := *m
	var triggers []json.RawMessage
	if isEmptyJSON(m.CronTriggers) || json.Unmarshal(m.CronTriggers, &triggers) != nil {
		return &out
	}
	kept := triggers[:0:0]
	for _, tr := range triggers {
		var t struct {
			IncludeInMetadata *bool `json:"include_in_metadata"`
		}
		if json.Unmarshal(tr, &t) == nil && t.IncludeInMetadata != nil && !*t.IncludeInMetadata {
			continue
		}
		kept = append(kept, tr)
	}
	out.CronTriggers = nil
	if len(kept) > 0 {
		b, err := aeson.Marshal(kept)
		if err != nil {
			return m
		}
		out.CronTriggers = b
	}
	return &out
}
