package metadata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/strata-dev/strata/engine/aeson"
)

// ParseError says where in the document a value did not fit.
type ParseError struct {
	Path    string // JSON path, e.g. $.sources[0].tables[2].table
	Message string
}

func (e *ParseError) Error() string { return e.Path + ": " + e.Message }

// Parse reads a metadata document: version 3 (sources), or the older
// version 1/2 form (top-level tables and functions), which becomes one
// source named "default" of kind postgres with no configuration; the
// caller supplies the default source's configuration, as Hasura does on
// replace_metadata.
func Parse(doc []byte) (*Metadata, error) {
	var top map[string]json.RawMessage
	if err := strictObject(doc, &top); err != nil {
		return nil, parseError("$", err)
	}
	version := 1
	if v, ok := top["version"]; ok {
		if err := json.Unmarshal(v, &version); err != nil || version < 1 || version > 3 {
			return nil, &ParseError{"$.version", fmt.Sprintf("expected 1, 2 or 3, encountered %s", bytes.TrimSpace(v))}
		}
	}
	m := &Metadata{}
	for _, sec := range m.rawSections() {
		if v, ok := top[sec.key]; ok {
			*sec.val = v
		}
	}
	if version < 3 {
		// v1/v2 have scheduled cron triggers under the same key; tables
		// and functions go to the default source.
		src := &Source{Name: "default", Kind: "postgres"}
		if err := decodeList(top["tables"], "$.tables", &src.Tables, decodeTable); err != nil {
			return nil, err
		}
		if err := decodeList(top["functions"], "$.functions", &src.Functions, decodeFunction); err != nil {
			return nil, err
		}
		m.Sources = []*Source{src}
		return m, nil
	}
	if err := decodeList(top["sources"], "$.sources", &m.Sources, decodeSource); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, s := range m.Sources {
		if seen[s.Name] {
			return nil, &ParseError{fmt.Sprintf("$.sources[%d].name", i), fmt.Sprintf("multiple sources named %q", s.Name)}
		}
		seen[s.Name] = true
	}
	return m, nil
}

// decodeList decodes a JSON array element by element so errors carry the
// element's path. An absent or null list is empty.
func decodeList[T any](raw json.RawMessage, path string, out *[]T, one func([]byte, string) (T, error)) error {
	if isNull(raw) {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return &ParseError{path, "expected an array, encountered " + aeson.Kind(raw)}
	}
	for i, it := range items {
		v, err := one(it, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return err
		}
		*out = append(*out, v)
	}
	return nil
}

func decodeSource(b []byte, path string) (*Source, error) {
	var r struct {
		Name             *string         `json:"name"`
		Kind             string          `json:"kind"`
		Tables           json.RawMessage `json:"tables"`
		Functions        json.RawMessage `json:"functions"`
		Configuration    json.RawMessage `json:"configuration"`
		NativeQueries    json.RawMessage `json:"native_queries"`
		StoredProcedures json.RawMessage `json:"stored_procedures"`
		LogicalModels    json.RawMessage `json:"logical_models"`
		QueryTags        json.RawMessage `json:"query_tags"`
		Customization    json.RawMessage `json:"customization"`
		HealthCheck      json.RawMessage `json:"health_check"`
	}
	if err := strictObject(b, &r); err != nil {
		return nil, parseError(path, err)
	}
	if r.Name == nil || *r.Name == "" {
		return nil, &ParseError{path, `key "name" not found`}
	}
	if r.Kind == "" {
		r.Kind = "postgres"
	}
	custom, err := NormalizeSourceCustomization(r.Customization)
	if err != nil {
		pe := err.(*ParseError)
		return nil, &ParseError{path + ".customization" + pe.Path[1:], pe.Message}
	}
	r.Customization = custom
	s := &Source{Name: *r.Name, Kind: r.Kind, Configuration: r.Configuration,
		NativeQueries: r.NativeQueries, StoredProcedures: r.StoredProcedures, LogicalModels: r.LogicalModels,
		QueryTags: r.QueryTags, Customization: r.Customization, HealthCheck: r.HealthCheck}
	if err := decodeList(r.Tables, path+".tables", &s.Tables, decodeTable); err != nil {
		return nil, err
	}
	if err := decodeList(r.Functions, path+".functions", &s.Functions, decodeFunction); err != nil {
		return nil, err
	}
	seen := map[QualifiedName]bool{}
	for i, t := range s.Tables {
		if seen[t.Table] {
			return nil, &ParseError{fmt.Sprintf("%s.tables[%d].table", path, i), fmt.Sprintf("table %s is declared more than once", t.Table)}
		}
		seen[t.Table] = true
	}
	return s, nil
}

func decodeTable(b []byte, path string) (*Table, error) {
	var r struct {
		Table               json.RawMessage `json:"table"`
		IsEnum              bool            `json:"is_enum"`
		Configuration       json.RawMessage `json:"configuration"`
		ObjectRelationships json.RawMessage `json:"object_relationships"`
		ArrayRelationships  json.RawMessage `json:"array_relationships"`
		ComputedFields      json.RawMessage `json:"computed_fields"`
		RemoteRelationships json.RawMessage `json:"remote_relationships"`
		InsertPermissions   json.RawMessage `json:"insert_permissions"`
		SelectPermissions   json.RawMessage `json:"select_permissions"`
		UpdatePermissions   json.RawMessage `json:"update_permissions"`
		DeletePermissions   json.RawMessage `json:"delete_permissions"`
		EventTriggers       json.RawMessage `json:"event_triggers"`
		ApolloFederation    json.RawMessage `json:"apollo_federation_config"`
		LogicalModel        json.RawMessage `json:"logical_model"`
	}
	if err := strictObject(b, &r); err != nil {
		return nil, parseError(path, err)
	}
	if isNull(r.Table) {
		return nil, &ParseError{path, `key "table" not found`}
	}
	t := &Table{IsEnum: r.IsEnum, Configuration: r.Configuration, RemoteRelationships: r.RemoteRelationships,
		EventTriggers: r.EventTriggers, ApolloFederation: r.ApolloFederation, LogicalModel: r.LogicalModel}
	if err := json.Unmarshal(r.Table, &t.Table); err != nil {
		return nil, &ParseError{path + ".table", err.Error()}
	}
	for _, l := range []struct {
		raw  json.RawMessage
		key  string
		into *[]*Relationship
	}{{r.ObjectRelationships, "object_relationships", &t.ObjectRelationships}, {r.ArrayRelationships, "array_relationships", &t.ArrayRelationships}} {
		if err := decodeList(l.raw, path+"."+l.key, l.into, decodeRelationship); err != nil {
			return nil, err
		}
	}
	if err := decodeList(r.ComputedFields, path+".computed_fields", &t.ComputedFields, decodeComputedField); err != nil {
		return nil, err
	}
	if err := decodeList(r.InsertPermissions, path+".insert_permissions", &t.InsertPermissions, decodePermission[InsertPermission]); err != nil {
		return nil, err
	}
	if err := decodeList(r.SelectPermissions, path+".select_permissions", &t.SelectPermissions, decodePermission[SelectPermission]); err != nil {
		return nil, err
	}
	if err := decodeList(r.UpdatePermissions, path+".update_permissions", &t.UpdatePermissions, decodePermission[UpdatePermission]); err != nil {
		return nil, err
	}
	if err := decodeList(r.DeletePermissions, path+".delete_permissions", &t.DeletePermissions, decodePermission[DeletePermission]); err != nil {
		return nil, err
	}
	return t, nil
}

func decodeRelationship(b []byte, path string) (*Relationship, error) {
	var r struct {
		Name    *string         `json:"name"`
		Using   json.RawMessage `json:"using"`
		Comment *string         `json:"comment"`
	}
	if err := strictObject(b, &r); err != nil {
		return nil, parseError(path, err)
	}
	if r.Name == nil {
		return nil, &ParseError{path, `key "name" not found`}
	}
	if isNull(r.Using) {
		return nil, &ParseError{path, `key "using" not found`}
	}
	return &Relationship{Name: *r.Name, Using: r.Using, Comment: r.Comment}, nil
}

func decodeComputedField(b []byte, path string) (*ComputedField, error) {
	var r struct {
		Name       *string         `json:"name"`
		Definition json.RawMessage `json:"definition"`
		Comment    *string         `json:"comment"`
	}
	if err := strictObject(b, &r); err != nil {
		return nil, parseError(path, err)
	}
	if r.Name == nil || isNull(r.Definition) {
		return nil, &ParseError{path, `keys "name" and "definition" are required`}
	}
	return &ComputedField{Name: *r.Name, Definition: r.Definition, Comment: r.Comment}, nil
}

func decodePermission[P any](b []byte, path string) (*Permission[P], error) {
	var r struct {
		Role       *string         `json:"role"`
		Permission json.RawMessage `json:"permission"`
		Comment    *string         `json:"comment"`
	}
	if err := strictObject(b, &r); err != nil {
		return nil, parseError(path, err)
	}
	if r.Role == nil {
		return nil, &ParseError{path, `key "role" not found`}
	}
	if isNull(r.Permission) {
		return nil, &ParseError{path, `key "permission" not found`}
	}
	p := &Permission[P]{Role: *r.Role, Comment: r.Comment}
	if err := decodePermissionBody(r.Permission, &p.Permission); err != nil {
		return nil, parseError(path+".permission", err)
	}
	return p, nil
}

// decodePermissionBody fills one of the four permission kinds.
func decodePermissionBody(b []byte, into any) error {
	switch p := into.(type) {
	case *InsertPermission:
		var r struct {
			Check         json.RawMessage `json:"check"`
			Set           json.RawMessage `json:"set"`
			Columns       json.RawMessage `json:"columns"`
			BackendOnly   bool            `json:"backend_only"`
			ValidateInput json.RawMessage `json:"validate_input"`
		}
		if err := strictObject(b, &r); err != nil {
			return err
		}
		*p = InsertPermission{Check: r.Check, Set: r.Set, Columns: nonNull(r.Columns), BackendOnly: r.BackendOnly, ValidateInput: r.ValidateInput}
	case *SelectPermission:
		var r struct {
			Columns                json.RawMessage `json:"columns"`
			ComputedFields         []string        `json:"computed_fields"`
			Filter                 json.RawMessage `json:"filter"`
			Limit                  *int64          `json:"limit"`
			AllowAggregations      bool            `json:"allow_aggregations"`
			QueryRootFields        []string        `json:"query_root_fields"`
			SubscriptionRootFields []string        `json:"subscription_root_fields"`
		}
		if err := strictObject(b, &r); err != nil {
			return err
		}
		if isNull(r.Columns) {
			return fmt.Errorf(`key "columns" not found`)
		}
		if err := rootFieldTags("query_root_fields", "QueryRootFieldType", r.QueryRootFields, queryRootFieldTags); err != nil {
			return err
		}
		if err := rootFieldTags("subscription_root_fields", "SubscriptionRootFieldType", r.SubscriptionRootFields, subscriptionRootFieldTags); err != nil {
			return err
		}
		*p = SelectPermission{Columns: r.Columns, ComputedFields: r.ComputedFields, Filter: r.Filter, Limit: r.Limit,
			AllowAggregations: r.AllowAggregations, QueryRootFields: r.QueryRootFields, SubscriptionRootFields: r.SubscriptionRootFields}
	case *UpdatePermission:
		var r struct {
			Columns       json.RawMessage `json:"columns"`
			Filter        json.RawMessage `json:"filter"`
			Check         json.RawMessage `json:"check"`
			Set           json.RawMessage `json:"set"`
			BackendOnly   bool            `json:"backend_only"`
			ValidateInput json.RawMessage `json:"validate_input"`
		}
		if err := strictObject(b, &r); err != nil {
			return err
		}
		if isNull(r.Columns) {
			return fmt.Errorf(`key "columns" not found`)
		}
		*p = UpdatePermission{Columns: r.Columns, Filter: r.Filter, Check: nonNull(r.Check), Set: r.Set, BackendOnly: r.BackendOnly, ValidateInput: r.ValidateInput}
	case *DeletePermission:
		var r struct {
			Filter        json.RawMessage `json:"filter"`
			BackendOnly   bool            `json:"backend_only"`
			ValidateInput json.RawMessage `json:"validate_input"`
		}
		if err := strictObject(b, &r); err != nil {
			return err
		}
		*p = DeletePermission{Filter: r.Filter, BackendOnly: r.BackendOnly, ValidateInput: r.ValidateInput}
	default:
		return fmt.Errorf("unknown permission type %T", into)
	}
	return nil
}

func decodeFunction(b []byte, path string) (*Function, error) {
	// v1 metadata lists functions as bare names or {schema, name}.
	var q QualifiedName
	if !bytes.Contains(b, []byte(`"function"`)) {
		if err := json.Unmarshal(b, &q); err != nil {
			return nil, parseError(path, err)
		}
		return &Function{Function: q}, nil
	}
	var r struct {
		Function      json.RawMessage `json:"function"`
		Configuration json.RawMessage `json:"configuration"`
		Permissions   json.RawMessage `json:"permissions"`
		Comment       *string         `json:"comment"`
	}
	if err := strictObject(b, &r); err != nil {
		return nil, parseError(path, err)
	}
	if err := json.Unmarshal(r.Function, &q); err != nil {
		return nil, &ParseError{path + ".function", err.Error()}
	}
	return &Function{Function: q, Configuration: r.Configuration, Permissions: r.Permissions, Comment: r.Comment}, nil
}

// strictObject decodes an object, with aeson-like messages for the wrong
// kind of value.
func strictObject(b []byte, into any) error {
	t := bytes.TrimSpace(b)
	if len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("expected Object, but encountered %s", aeson.Kind(b))
	}
	if err := json.Unmarshal(b, into); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &fieldError{Field: te.Field, Message: aeson.TypeMismatch(te)}
		}
		return err
	}
	return nil
}

// fieldError is a value of the wrong kind inside an object; Field is its
// dotted path from the object ("limit").
type fieldError struct{ Field, Message string }

func (e *fieldError) Error() string { return e.Message }

// Within splits an error of ParsePermissionBody into the path of the value
// at fault below the object it decoded (".limit", "" for the object
// itself) and the message, for callers that report it at a path of their
// own.
func Within(err error) (sub, msg string) {
	var fe *fieldError
	if errors.As(err, &fe) && fe.Field != "" {
		return "." + fe.Field, fe.Message
	}
	return "", err.Error()
}

// parseError is err at path; the field of a fieldError extends the path,
// as aeson's error paths point at the value at fault.
func parseError(path string, err error) *ParseError {
	var fe *fieldError
	if errors.As(err, &fe) && fe.Field != "" {
		return &ParseError{path + "." + fe.Field, fe.Message}
	}
	return &ParseError{path, err.Error()}
}

func isNull(b json.RawMessage) bool {
	t := bytes.TrimSpace(b)
	return len(t) == 0 || string(t) == "null"
}

func nonNull(b json.RawMessage) json.RawMessage {
	if isNull(b) {
		return nil
	}
	return b
}

// The root fields a select permission's lists may name (Hasura's
// QueryRootFieldType and SubscriptionRootFieldType).
var (
	queryRootFieldTags        = []string{"select", "select_by_pk", "select_aggregate"}
	subscriptionRootFieldTags = []string{"select", "select_by_pk", "select_aggregate", "select_stream"}
)

// rootFieldTags refuses a value of a root-field list that is not one of
// tags, as aeson's generic enum parser does.
func rootFieldTags(key, typ string, values, tags []string) error {
	for i, v := range values {
		if !slices.Contains(tags, v) {
			quoted := make([]string, len(tags))
			for j, t := range tags {
				quoted[j] = strconv.Quote(t)
			}
			return &fieldError{Field: fmt.Sprintf("%s[%d]", key, i), Message: fmt.Sprintf(
				"parsing Hasura.RQL.Types.Permission.%s failed, expected one of the tags [%s], but found tag %s",
				typ, strings.Join(quoted, ","), strconv.Quote(v))}
		}
	}
	return nil
}

// ParsePermissionBody decodes the `permission` object of one kind of
// permission (InsertPermission, SelectPermission, UpdatePermission or
// DeletePermission), as create_*_permission receives it.
func ParsePermissionBody[P InsertPermission | SelectPermission | UpdatePermission | DeletePermission](raw json.RawMessage) (P, error) {
	var p P
	if isNull(raw) {
		return p, fmt.Errorf(`key "permission" not found`)
	}
	err := decodePermissionBody(raw, &p)
	return p, err
}
