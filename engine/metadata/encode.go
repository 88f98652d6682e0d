package metadata

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/strata-dev/strata/engine/aeson"
)

// object writes a JSON object whose keys keep the order they are added in.
type object struct {
	buf bytes.Buffer
	err error
}

func newObject() *object {
	o := &object{}
	o.buf.WriteByte('{')
	return o
}

// raw adds key: val, val being valid JSON.
func (o *object) raw(key string, val []byte) {
	if o.buf.Len() > 1 {
		o.buf.WriteByte(',')
	}
	k, _ := json.Marshal(key)
	o.buf.Write(k)
	o.buf.WriteByte(':')
	o.buf.Write(val)
}

// value adds key: json(v).
func (o *object) value(key string, v any) {
	b, err := aeson.Marshal(v)
	if err != nil && o.err == nil {
		o.err = fmt.Errorf("%s: %w", key, err)
	}
	o.raw(key, b)
}

// sorted adds key: the raw value with its keys sorted recursively, as
// Hasura's plain aeson encoding yields.
func (o *object) sorted(key string, val json.RawMessage) {
	b, err := SortKeys(val)
	if err != nil && o.err == nil {
		o.err = fmt.Errorf("%s: %w", key, err)
	}
	o.raw(key, b)
}

// verbatim adds key: the raw value as given, whitespace removed.
func (o *object) verbatim(key string, val json.RawMessage) {
	var c bytes.Buffer
	if err := json.Compact(&c, val); err != nil && o.err == nil {
		o.err = fmt.Errorf("%s: %w", key, err)
	}
	o.raw(key, c.Bytes())
}

func (o *object) bytes() ([]byte, error) {
	o.buf.WriteByte('}')
	return o.buf.Bytes(), o.err
}

// SortKeys re-encodes a JSON value with object keys sorted at every level.
// Numbers keep their exact text.
func SortKeys(val json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(val)) == 0 {
		return []byte("null"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(val))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return aeson.Marshal(v) // encoding/json writes map keys sorted
}

// MarshalJSON encodes the document in Hasura's export form.
func (m *Metadata) MarshalJSON() ([]byte, error) {
	m.sortAll()
	o := newObject()
	o.value("version", CurrentVersion)
	sources := make([]json.RawMessage, 0, len(m.Sources))
	for _, s := range m.Sources {
		b, err := s.marshal()
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", s.Name, err)
		}
		sources = append(sources, b)
	}
	o.value("sources", sources)
	for _, sec := range m.rawSections() {
		if !isEmptyJSON(*sec.val) {
			o.verbatim(sec.key, *sec.val)
		}
	}
	return o.bytes()
}

func (s *Source) marshal() ([]byte, error) {
	o := newObject()
	o.value("name", s.Name)
	o.value("kind", s.Kind)
	tables := make([]json.RawMessage, 0, len(s.Tables))
	for _, t := range s.Tables {
		b, err := t.marshal()
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.Table, err)
		}
		tables = append(tables, b)
	}
	o.value("tables", tables)
	if len(s.Functions) > 0 {
		fns := make([]json.RawMessage, 0, len(s.Functions))
		for _, f := range s.Functions {
			b, err := f.marshal()
			if err != nil {
				return nil, fmt.Errorf("function %s: %w", f.Function, err)
			}
			fns = append(fns, b)
		}
		o.value("functions", fns)
	}
	for _, sec := range []struct {
		key string
		val json.RawMessage
	}{{"native_queries", s.NativeQueries}, {"stored_procedures", s.StoredProcedures}, {"logical_models", s.LogicalModels}} {
		if !isEmptyJSON(sec.val) {
			o.verbatim(sec.key, sec.val)
		}
	}
	if isEmptyJSON(s.Configuration) {
		o.raw("configuration", []byte("{}"))
	} else {
		o.sorted("configuration", s.Configuration)
	}
	if len(bytes.TrimSpace(s.QueryTags)) > 0 && string(bytes.TrimSpace(s.QueryTags)) != "null" {
		o.sorted("query_tags", s.QueryTags)
	}
	if !isEmptyJSON(s.Customization) {
		o.sorted("customization", s.Customization)
	}
	if !isEmptyJSON(s.HealthCheck) {
		o.sorted("health_check", s.HealthCheck)
	}
	return o.bytes()
}

func (t *Table) marshal() ([]byte, error) {
	o := newObject()
	o.value("table", t.Table)
	if t.IsEnum {
		o.value("is_enum", true)
	}
	if !isEmptyTableConfig(t.Configuration) {
		o.sorted("configuration", t.Configuration)
	}
	rels := func(key string, rs []*Relationship) {
		if len(rs) == 0 {
			return
		}
		list := make([]json.RawMessage, 0, len(rs))
		for _, r := range rs {
			ro := newObject()
			ro.value("name", r.Name)
			ro.sorted("using", r.Using)
			if r.Comment != nil {
				ro.value("comment", *r.Comment)
			}
			b, err := ro.bytes()
			if err != nil {
				o.err = err
			}
			list = append(list, b)
		}
		o.value(key, list)
	}
	rels("object_relationships", t.ObjectRelationships)
	rels("array_relationships", t.ArrayRelationships)
	if len(t.ComputedFields) > 0 {
		list := make([]json.RawMessage, 0, len(t.ComputedFields))
		for _, c := range t.ComputedFields {
			co := newObject()
			co.value("name", c.Name)
			co.sorted("definition", c.Definition)
			if c.Comment != nil {
				co.value("comment", *c.Comment)
			}
			b, err := co.bytes()
			if err != nil {
				o.err = err
			}
			list = append(list, b)
		}
		o.value("computed_fields", list)
	}
	if !isEmptyJSON(t.RemoteRelationships) {
		o.verbatim("remote_relationships", t.RemoteRelationships)
	}
	permissions(o, "insert_permissions", t.InsertPermissions, InsertPermission.marshal)
	permissions(o, "select_permissions", t.SelectPermissions, SelectPermission.marshal)
	permissions(o, "update_permissions", t.UpdatePermissions, UpdatePermission.marshal)
	permissions(o, "delete_permissions", t.DeletePermissions, DeletePermission.marshal)
	if !isEmptyJSON(t.EventTriggers) {
		o.verbatim("event_triggers", t.EventTriggers)
	}
	if !isEmptyJSON(t.ApolloFederation) {
		o.sorted("apollo_federation_config", t.ApolloFederation)
	}
	if !isEmptyJSON(t.LogicalModel) {
		o.sorted("logical_model", t.LogicalModel)
	}
	return o.bytes()
}

func permissions[P any](o *object, key string, ps []*Permission[P], enc func(P) *object) {
	if len(ps) == 0 {
		return
	}
	list := make([]json.RawMessage, 0, len(ps))
	for _, p := range ps {
		po := newObject()
		po.value("role", p.Role)
		inner, err := enc(p.Permission).bytes()
		if err != nil && o.err == nil {
			o.err = fmt.Errorf("role %s: %w", p.Role, err)
		}
		po.raw("permission", inner)
		if p.Comment != nil {
			po.value("comment", *p.Comment)
		}
		b, err := po.bytes()
		if err != nil && o.err == nil {
			o.err = err
		}
		list = append(list, b)
	}
	o.value(key, list)
}

func (p InsertPermission) marshal() *object {
	o := newObject()
	o.sorted("check", orEmptyObject(p.Check))
	if !isEmptyJSON(p.Set) {
		o.sorted("set", p.Set)
	}
	if len(p.Columns) > 0 {
		o.verbatim("columns", p.Columns)
	}
	if p.BackendOnly {
		o.value("backend_only", true)
	}
	if !isEmptyJSON(p.ValidateInput) {
		o.sorted("validate_input", p.ValidateInput)
	}
	return o
}

func (p SelectPermission) marshal() *object {
	o := newObject()
	o.verbatim("columns", orEmptyList(p.Columns))
	if len(p.ComputedFields) > 0 {
		o.value("computed_fields", p.ComputedFields)
	}
	o.sorted("filter", orEmptyObject(p.Filter))
	if p.Limit != nil {
		o.value("limit", *p.Limit)
	}
	if p.AllowAggregations {
		o.value("allow_aggregations", true)
	}
	if p.QueryRootFields != nil {
		o.value("query_root_fields", p.QueryRootFields)
	}
	if p.SubscriptionRootFields != nil {
		o.value("subscription_root_fields", p.SubscriptionRootFields)
	}
	return o
}

func (p UpdatePermission) marshal() *object {
	o := newObject()
	o.verbatim("columns", orEmptyList(p.Columns))
	o.sorted("filter", orEmptyObject(p.Filter))
	// check is optional in Hasura and exported as null when absent.
	o.sorted("check", p.Check)
	if !isEmptyJSON(p.Set) {
		o.sorted("set", p.Set)
	}
	if p.BackendOnly {
		o.value("backend_only", true)
	}
	if !isEmptyJSON(p.ValidateInput) {
		o.sorted("validate_input", p.ValidateInput)
	}
	return o
}

func (p DeletePermission) marshal() *object {
	o := newObject()
	o.sorted("filter", orEmptyObject(p.Filter))
	if p.BackendOnly {
		o.value("backend_only", true)
	}
	if !isEmptyJSON(p.ValidateInput) {
		o.sorted("validate_input", p.ValidateInput)
	}
	return o
}

func (f *Function) marshal() ([]byte, error) {
	o := newObject()
	o.value("function", f.Function)
	if !isEmptyJSON(f.Configuration) {
		o.sorted("configuration", f.Configuration)
	}
	if !isEmptyJSON(f.Permissions) {
		o.sorted("permissions", f.Permissions)
	}
	if f.Comment != nil {
		o.value("comment", *f.Comment)
	}
	return o.bytes()
}

func orEmptyObject(b json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(b)) == 0 || string(bytes.TrimSpace(b)) == "null" {
		return json.RawMessage("{}")
	}
	return b
}

func orEmptyList(b json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(b)) == 0 || string(bytes.TrimSpace(b)) == "null" {
		return json.RawMessage("[]")
	}
	return b
}

// isEmptyTableConfig: Hasura leaves out a table configuration equal to its
// empty one (no custom name, no custom root fields, no column config).
func isEmptyTableConfig(b json.RawMessage) bool {
	if isEmptyJSON(b) {
		return true
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return false
	}
	for _, v := range m {
		if !isEmptyJSON(v) {
			return false
		}
	}
	return true
}
