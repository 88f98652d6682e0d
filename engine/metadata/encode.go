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
	c, err := compact(val)
	if err != nil {
		o.fail(key, err)
	}
	o.raw(key, c)
}

// export adds key: val rebuilt by exp, unless val is empty or exp leaves
// it out.
func (o *object) export(key string, val json.RawMessage, exp section) {
	if isEmptyJSON(val) {
		return
	}
	b, err := exportRaw(val, exp)
	if err != nil {
		o.fail(key, err)
		return
	}
	if b != nil {
		o.raw(key, b)
	}
}

// fail records the first error.
func (o *object) fail(key string, err error) {
	if o.err == nil {
		o.err = fmt.Errorf("%s: %w", key, err)
	}
}

func (o *object) bytes() ([]byte, error) {
	o.buf.WriteByte('}')
	return o.buf.Bytes(), o.err
}

// SortKeys re-encodes a JSON value as aeson writes it: object keys sorted
// at every level, numbers rendered as aeson renders them.
func SortKeys(val json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(val)) == 0 {
		return []byte("null"), nil
	}
	v, err := decodeValue(val)
	if err != nil {
		return nil, err
	}
	return marshalValue(v)
}

// MarshalJSON encodes the document in Hasura's export form.
func (m *Metadata) MarshalJSON() ([]byte, error) {
	m = m.sorted()
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
		b, err := exportSection(sec.key, *sec.val)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sec.key, err)
		}
		if b != nil {
			o.raw(sec.key, b)
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
	// Native queries sorted by root field name, logical models by name;
	// stored procedures (not a Postgres feature; Hasura sorts them by a
	// backend-specific name) keep their order. Each goes through aeson, so
	// key-sorted. Hasura fills in their defaults too, which is not
	// reproduced here.
	for _, sec := range []struct {
		key, by string
		val     json.RawMessage
	}{{"native_queries", "root_field_name", s.NativeQueries}, {"stored_procedures", "", s.StoredProcedures}, {"logical_models", "name", s.LogicalModels}} {
		o.export(sec.key, sec.val, nonEmptyList(sortedBy(sec.by, asIs)))
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
	if b, err := exportTableConfig(t.Configuration); err != nil {
		o.fail("configuration", err)
	} else if b != nil {
		o.raw("configuration", b)
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
	// Sorted by name, each through aeson.
	o.export("remote_relationships", t.RemoteRelationships, nonEmptyList(sortedBy("name", asIs)))
	permissions(o, "insert_permissions", t.InsertPermissions, InsertPermission.marshal)
	permissions(o, "select_permissions", t.SelectPermissions, SelectPermission.marshal)
	permissions(o, "update_permissions", t.UpdatePermissions, UpdatePermission.marshal)
	permissions(o, "delete_permissions", t.DeletePermissions, DeletePermission.marshal)
	o.export("event_triggers", t.EventTriggers, nonEmptyList(sortedBy("name", eventTrigger)))
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
