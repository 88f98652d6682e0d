package schemacache

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
)

// Permissions are built with the schema cache, as in Hasura
// (buildTablePermissions, RQL/DDL/Schema/Cache/Permission.hs): one that
// names a column, relationship, computed field, table or operator that
// does not fit is an inconsistent object, reported by
// get_inconsistent_metadata and left out of the GraphQL schema. The
// checks and messages are those of RQL/DDL/Permission.hs.

// Permission kinds, in the order Hasura builds a role's permissions.
var permissionKinds = []string{"insert", "select", "update", "delete"}

// PermissionRef names one permission.
type PermissionRef struct {
	Table metadata.QualifiedName
	Role  string
	Kind  string // insert, select, update or delete
}

// PermissionObject is the name Hasura gives a permission in
// inconsistencies ("select_permission user in table author in source
// default").
func PermissionObject(source string, table metadata.QualifiedName, role, kind string) string {
	return fmt.Sprintf("%s_permission %s in table %s in source %s", kind, role, DisplayName(table), source)
}

// PermissionDependent is how Hasura names a permission among the objects
// that depend on another ("permission author.user.select in source
// \"default\"").
func PermissionDependent(source string, table metadata.QualifiedName, role, kind string) string {
	return fmt.Sprintf("permission %s.%s.%s in source %s", DisplayName(table), role, kind, dquote(source))
}

// PermissionDeps is a consistent permission with what it depends on.
type PermissionDeps struct {
	PermissionRef
	Deps []Dependency
}

// DependsOn reports whether the permission depends on an object matching f.
func (p PermissionDeps) DependsOn(f func(Dependency) bool) bool {
	return slices.ContainsFunc(p.Deps, f)
}

// PermissionDependencies lists the consistent permissions of src's
// tables with the objects each depends on, as cat has them.
func PermissionDependencies(src *metadata.Source, cat *catalog.Catalog) []PermissionDeps {
	var out []PermissionDeps
	for _, r := range checkPermissions(src, buildFields(src, cat)) {
		if r.err == nil {
			out = append(out, PermissionDeps{PermissionRef: r.ref, Deps: r.deps})
		}
	}
	return out
}

// checkedPermission is one permission built: its error, or its
// dependencies.
type checkedPermission struct {
	ref     PermissionRef
	comment *string
	body    any // the permission as Hasura prints it in an inconsistency
	err     error
	deps    []Dependency
}

// permissionInconsistencies reports the permissions that do not build.
func permissionInconsistencies(src *metadata.Source, f *sourceFields) []InconsistentObject {
	var out []InconsistentObject
	for _, r := range checkPermissions(src, f) {
		if r.err == nil {
			continue
		}
		ref := r.ref
		reason := fmt.Sprintf("in table %s: in permission for role %s: %s", dquote(DisplayName(ref.Table)), dquote(ref.Role), r.err)
		o := inconsistent(src.Name, ref.Kind+"_permission", PermissionObject(src.Name, ref.Table, ref.Role, ref.Kind), reason,
			permissionDefinition(src.Name, r))
		o.Dependent = PermissionDependent(src.Name, ref.Table, ref.Role, ref.Kind)
		o.Permission = &ref
		out = append(out, o)
	}
	return out
}

// permissionDefinition is the definition of an inconsistent permission:
// Hasura's PermDef with its source and table.
func permissionDefinition(source string, r checkedPermission) map[string]any {
	return map[string]any{"role": r.ref.Role, "source": source, "comment": r.comment, "permission": r.body, "table": r.ref.Table}
}

// checkPermissions builds every permission of the tables that exist, by
// table, then role, then kind.
func checkPermissions(src *metadata.Source, f *sourceFields) []checkedPermission {
	var out []checkedPermission
	for _, t := range src.Tables {
		tf := f.table(t.Table)
		if tf == nil {
			continue // a missing table hides its permissions
		}
		byRole := map[string][]checkedPermission{}
		add := func(r checkedPermission) { byRole[r.ref.Role] = append(byRole[r.ref.Role], r) }
		for _, p := range t.InsertPermissions {
			add(checkInsert(f, tf, p))
		}
		for _, p := range t.SelectPermissions {
			add(checkSelect(f, tf, p))
		}
		for _, p := range t.UpdatePermissions {
			add(checkUpdate(f, tf, p))
		}
		for _, p := range t.DeletePermissions {
			add(checkDelete(f, tf, p))
		}
		for _, role := range sortedKeys(byRole) {
			out = append(out, byRole[role]...)
		}
	}
	return out
}

// buildPermission runs a permission's checks in Hasura's order, unless it is the
// admin's, which no permission may be defined for.
func buildPermission(tf *tableFields, role, kind string, comment *string, body any, f *sourceFields, steps func(c *permChecker) error) checkedPermission {
	r := checkedPermission{ref: PermissionRef{Table: tf.name, Role: role, Kind: kind}, comment: comment, body: body}
	if role == "admin" {
		r.err = errors.New("cannot define permission for admin role")
		return r
	}
	c := &permChecker{fields: f, root: tf}
	if r.err = steps(c); r.err == nil {
		r.deps = c.deps
	}
	return r
}

func checkSelect(f *sourceFields, tf *tableFields, p *metadata.Permission[metadata.SelectPermission]) checkedPermission {
	sp := p.Permission
	return buildPermission(tf, p.Role, "select", p.Comment, selectBody(sp), f, func(c *permChecker) error {
		if err := c.boolExp(tf, sp.Filter); err != nil {
			return err
		}
		cols, star, err := columnSpec(sp.Columns, tf, func(*catalog.Column) bool { return true })
		if err != nil {
			return err
		}
		for _, col := range cols {
			if err := c.column(tf, col, "permissions for relationships are automatically inferred"); err != nil {
				return err
			}
		}
		for _, name := range sp.ComputedFields {
			if err := c.selectComputedField(tf, name); err != nil {
				return err
			}
		}
		if sp.Limit != nil && *sp.Limit < 0 {
			return errors.New("unexpected negative value")
		}
		return checkRootFields(c.fields.source, tf, p.Role, sp, cols, star)
	})
}

func checkInsert(f *sourceFields, tf *tableFields, p *metadata.Permission[metadata.InsertPermission]) checkedPermission {
	ip := p.Permission
	return buildPermission(tf, p.Role, "insert", p.Comment, insertBody(ip), f, func(c *permChecker) error {
		if err := c.boolExp(tf, ip.Check); err != nil {
			return err
		}
		if err := c.presets(tf, ip.Set); err != nil {
			return err
		}
		return c.writableColumns(tf, ip.Columns, "insert", "insertable")
	})
}

func checkUpdate(f *sourceFields, tf *tableFields, p *metadata.Permission[metadata.UpdatePermission]) checkedPermission {
	up := p.Permission
	return buildPermission(tf, p.Role, "update", p.Comment, updateBody(up), f, func(c *permChecker) error {
		if err := c.boolExp(tf, up.Filter); err != nil {
			return err
		}
		if err := c.boolExp(tf, up.Check); err != nil {
			return err
		}
		if err := c.presets(tf, up.Set); err != nil {
			return err
		}
		return c.writableColumns(tf, up.Columns, "update", "updatable")
	})
}

func checkDelete(f *sourceFields, tf *tableFields, p *metadata.Permission[metadata.DeletePermission]) checkedPermission {
	dp := p.Permission
	return buildPermission(tf, p.Role, "delete", p.Comment, deleteBody(dp), f, func(c *permChecker) error {
		return c.boolExp(tf, dp.Filter)
	})
}

// columnSpec reads a permission's columns: a list, or "*" for every
// column that may take part (absent is "*" too).
func columnSpec(raw json.RawMessage, tf *tableFields, eligible func(*catalog.Column) bool) (cols []string, star bool, err error) {
	var s string
	if isNullJSON(raw) || json.Unmarshal(raw, &s) == nil && s == "*" {
		for _, c := range tf.cat.Columns {
			if eligible(c) {
				cols = append(cols, c.Name)
			}
		}
		return cols, true, nil
	}
	if err := json.Unmarshal(raw, &cols); err != nil {
		return nil, false, fmt.Errorf(`expected "*" or a list of columns, but encountered %s`, aeson.Kind(raw))
	}
	return cols, false, nil
}

// column checks that a permission's column is a column (assertColumnExists).
func (c *permChecker) column(tf *tableFields, name, notColumn string) error {
	switch k := tf.kind(name); k {
	case kindColumn:
		c.dep(tf, DepColumn, name, false)
		return nil
	case kindNone:
		return fmt.Errorf("column %s does not exist", dquote(name))
	default:
		return fmt.Errorf("expecting a database column; but, %s is a %s; %s", dquote(name), k.kindName(), notColumn)
	}
}

// writableColumns checks an insert or update permission's columns.
func (c *permChecker) writableColumns(tf *tableFields, raw json.RawMessage, action, able string) error {
	writable := func(col *catalog.Column) bool { return !col.IsGenerated && col.IdentityGeneration != "ALWAYS" }
	cols, _, err := columnSpec(raw, tf, writable)
	if err != nil {
		return err
	}
	notColumn := fmt.Sprintf("Only table columns can have %s permissions defined, not relationships or other field types", action)
	for _, name := range cols {
		if err := c.column(tf, name, notColumn); err != nil {
			return err
		}
		if !writable(tf.column(name)) {
			return fmt.Errorf("Column %s is not %s and so cannot have %s permissions defined", dquote(name), able, action)
		}
	}
	return nil
}

// presets checks `set`: every key a column, every value of its type or a
// session variable (procSetObj).
func (c *permChecker) presets(tf *tableFields, raw json.RawMessage) error {
	if isNullJSON(raw) {
		return nil
	}
	set, err := object(raw, "HashMap ~PGCol")
	if err != nil {
		return err
	}
	for _, name := range sortedKeys(set) {
		switch k := tf.kind(name); k {
		case kindColumn:
		case kindNone:
			return fmt.Errorf("column %s does not exist", dquote(name))
		default:
			return fmt.Errorf("expecting a database column; but, %s is a %s; column %s not found in table %s",
				dquote(name), k.kindName(), dquote(name), dquote(DisplayName(tf.name)))
		}
		static, err := c.value(columnType(tf.column(name)), set[name])
		if err != nil {
			return err
		}
		c.dep(tf, DepColumn, name, static)
	}
	return nil
}

// selectComputedField checks a computed field a select permission lists.
func (c *permChecker) selectComputedField(tf *tableFields, name string) error {
	switch k := tf.kind(name); k {
	case kindComputedField:
	case kindNone:
		return fmt.Errorf("computed field %s does not exist", dquote(name))
	default:
		return fmt.Errorf("expecting a computed field; but, %s is a %s", dquote(name), k.kindName())
	}
	if rt := tf.computed[name].returnsTable; rt != nil {
		return fmt.Errorf("select permissions on computed field %s are auto-derived from the permissions on its returning table %s and cannot be specified manually",
			dquote(name), dquote(DisplayName(*rt)))
	}
	c.dep(tf, DepComputedField, name, false)
	return nil
}

// checkRootFields checks query_root_fields and subscription_root_fields
// (validateAllowedRootFields): select_by_pk needs every primary key column,
// select_aggregate needs allow_aggregations.
func checkRootFields(source string, tf *tableFields, role string, sp metadata.SelectPermission, cols []string, star bool) error {
	listed := func(field string) bool {
		return slices.Contains(sp.QueryRootFields, field) || slices.Contains(sp.SubscriptionRootFields, field)
	}
	if listed("select_by_pk") {
		pk := tf.cat.PrimaryKey
		ok := pk != nil
		for i := 0; ok && !star && i < len(pk.Columns); i++ {
			ok = slices.Contains(cols, pk.Columns[i])
		}
		if !ok {
			return fmt.Errorf(`The "select_by_pk" field cannot be included in the query_root_fields or subscription_root_fields because the role %s does not have access to the primary key of the table %s in the source %s`,
				dquote(role), dquote(DisplayName(tf.name)), dquote(source))
		}
	}
	if listed("select_aggregate") && !sp.AllowAggregations {
		// Hasura's message has the double space.
		return errors.New(`The "select_aggregate" root field can only be enabled in the query_root_fields or  the subscription_root_fields when "allow_aggregations" is set to true`)
	}
	return nil
}

// The permissions as Hasura prints them (their ToJSON instances), for
// inconsistencies' definitions.

func rawOr(raw json.RawMessage, dflt string) json.RawMessage {
	if isNullJSON(raw) {
		return json.RawMessage(dflt)
	}
	return raw
}

func selectBody(p metadata.SelectPermission) map[string]any {
	computed := p.ComputedFields
	if computed == nil {
		computed = []string{}
	}
	out := map[string]any{"columns": rawOr(p.Columns, "[]"), "filter": rawOr(p.Filter, "{}"),
		"allow_aggregations": p.AllowAggregations, "computed_fields": computed}
	if p.QueryRootFields != nil {
		out["query_root_fields"] = p.QueryRootFields
	}
	if p.SubscriptionRootFields != nil {
		out["subscription_root_fields"] = p.SubscriptionRootFields
	}
	if p.Limit != nil {
		out["limit"] = *p.Limit
	}
	return out
}

func insertBody(p metadata.InsertPermission) map[string]any {
	out := map[string]any{"check": rawOr(p.Check, "{}"), "backend_only": p.BackendOnly}
	optional(out, "set", p.Set)
	optional(out, "columns", p.Columns)
	optional(out, "validate_input", p.ValidateInput)
	return out
}

func updateBody(p metadata.UpdatePermission) map[string]any {
	out := map[string]any{"columns": rawOr(p.Columns, "[]"), "filter": rawOr(p.Filter, "{}"), "backend_only": p.BackendOnly}
	optional(out, "set", p.Set)
	optional(out, "check", p.Check)
	optional(out, "validate_input", p.ValidateInput)
	return out
}

func deleteBody(p metadata.DeletePermission) map[string]any {
	out := map[string]any{"filter": rawOr(p.Filter, "{}"), "backend_only": p.BackendOnly}
	optional(out, "validate_input", p.ValidateInput)
	return out
}

func optional(out map[string]any, key string, raw json.RawMessage) {
	if !isNullJSON(raw) {
		out[key] = raw
	}
}

// WithoutInconsistentPermissions is src without the permissions objs
// report inconsistent: what the GraphQL schema and the data API serve. src
// itself is returned when none of them is a permission of its; otherwise a
// copy that shares everything it does not change.
func WithoutInconsistentPermissions(src *metadata.Source, objs []InconsistentObject) *metadata.Source {
	drop := map[PermissionRef]bool{}
	for _, o := range objs {
		if o.Permission != nil && o.Source == src.Name {
			drop[*o.Permission] = true
		}
	}
	if len(drop) == 0 {
		return src
	}
	cp := *src
	cp.Tables = make([]*metadata.Table, len(src.Tables))
	for i, t := range src.Tables {
		cp.Tables[i] = t
		if !tableHasAny(drop, t.Table) {
			continue
		}
		tc := *t
		keep := func(kind string) func(role string) bool {
			return func(role string) bool { return !drop[PermissionRef{t.Table, role, kind}] }
		}
		tc.InsertPermissions = keepRoles(t.InsertPermissions, keep("insert"))
		tc.SelectPermissions = keepRoles(t.SelectPermissions, keep("select"))
		tc.UpdatePermissions = keepRoles(t.UpdatePermissions, keep("update"))
		tc.DeletePermissions = keepRoles(t.DeletePermissions, keep("delete"))
		cp.Tables[i] = &tc
	}
	return &cp
}

func tableHasAny(refs map[PermissionRef]bool, table metadata.QualifiedName) bool {
	for r := range refs {
		if r.Table == table {
			return true
		}
	}
	return false
}

func keepRoles[P any](ps []*metadata.Permission[P], keep func(role string) bool) []*metadata.Permission[P] {
	var out []*metadata.Permission[P]
	for _, p := range ps {
		if keep(p.Role) {
			out = append(out, p)
		}
	}
	return out
}

// DropPermission removes one permission from src; false when it has none
// such.
func DropPermission(src *metadata.Source, ref PermissionRef) bool {
	t, ok := src.Table(ref.Table)
	if !ok {
		return false
	}
	before := len(t.InsertPermissions) + len(t.SelectPermissions) + len(t.UpdatePermissions) + len(t.DeletePermissions)
	other := func(role string) bool { return role != ref.Role }
	switch ref.Kind {
	case "insert":
		t.InsertPermissions = keepRoles(t.InsertPermissions, other)
	case "select":
		t.SelectPermissions = keepRoles(t.SelectPermissions, other)
	case "update":
		t.UpdatePermissions = keepRoles(t.UpdatePermissions, other)
	case "delete":
		t.DeletePermissions = keepRoles(t.DeletePermissions, other)
	}
	return before != len(t.InsertPermissions)+len(t.SelectPermissions)+len(t.UpdatePermissions)+len(t.DeletePermissions)
}
