package compile

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

// V1Insert compiles the v1 insert for admins.
func V1Insert(s *Schema, args json.RawMessage) (*Statement, error) {
	return V1InsertFor(s, args, nil)
}

// V1InsertFor compiles the v1 insert under a role's insert permission p
// (nil: the admin's), in one statement: the objects' rows in order, each
// cell a field of json_populate_record over its row's JSON (so Postgres
// converts values exactly as it would cast their text), a column a row
// leaves out getting its DEFAULT, as in Hasura. A role gives only its
// columns, never its presets (which are filled in instead), every new
// row must pass its check, and on_conflict's update is the role's update
// permission's.
func V1InsertFor(s *Schema, args json.RawMessage, p *Perm) (*Statement, error) {
	var a map[string]json.RawMessage
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, badExp("$.args", "%s", err.Error())
	}
	var name metadata.QualifiedName
	if err := json.Unmarshal(a["table"], &name); err != nil {
		return nil, badExp("$.args.table", "%s", err.Error())
	}
	rawObjects, ok := a["objects"]
	if !ok {
		return nil, badExp("$", `key "objects" not found`)
	}
	var oc *onConflict
	if !isNull(a["on_conflict"]) {
		var err error
		if oc, err = parseOnConflict(a["on_conflict"]); err != nil {
			return nil, err
		}
	}
	objects, err := insertObjects(rawObjects)
	if err != nil {
		return nil, err
	}
	t, ok := s.Tables[name]
	if !ok {
		e := notTracked(name).(*apierr.Error)
		e.Path = "$.args"
		return nil, e
	}
	if err := checkReturning(p, a["returning"]); err != nil {
		return nil, err
	}
	q := &query{}
	alias := q.alias()
	returning, err := returningList(t, alias, a["returning"])
	if err != nil {
		return nil, err
	}
	given, err := p.insertable(t, objects)
	if err != nil {
		return nil, err
	}
	var conflict string
	if oc != nil {
		if conflict, err = q.conflictClause(t, alias, oc, given, p); err != nil {
			return nil, err
		}
	}
	rows := q.insertValues(t, alias, objects, p)
	check, err := q.insertCheck(t, alias, oc, p)
	if err != nil {
		return nil, err
	}
	return mutationResult(rows+conflict, returning, check, q), nil
}

// insertObjects reads objects: an array of objects (a single object is
// accepted too), never empty.
func insertObjects(raw json.RawMessage) ([]map[string]json.RawMessage, error) {
	var objects []map[string]json.RawMessage
	if aeson.Kind(raw) == "Object" {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, badExp("$.args.objects", "%s", err.Error())
		}
		objects = []map[string]json.RawMessage{one}
	} else if err := json.Unmarshal(raw, &objects); err != nil {
		return nil, badExp("$.args.objects", `expected an array of objects for "objects"`)
	}
	if len(objects) == 0 {
		return nil, &apierr.Error{Status: http.StatusBadRequest, Code: codeUnexpectedPayload, Message: "objects should not be empty", Path: "$.args.objects"}
	}
	return objects, nil
}

// insertable checks every object's columns, in order, and returns the
// columns the objects give (presets excluded), sorted.
func (p *Perm) insertable(t *Table, objects []map[string]json.RawMessage) ([]string, error) {
	seen := map[string]bool{}
	for i, o := range objects {
		at := fmt.Sprintf("$.args.objects[%d]", i)
		for _, k := range sortedKeys(o) {
			if p != nil {
				if _, preset := p.Presets[k]; preset {
					return nil, &apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeNotSupported, Path: at,
						Message: fmt.Sprintf("column %q is not insertable for role %q", k, p.Role)}
				}
				// Hasura's v1 insert leaves this to the GraphQL schema;
				// here the permission's columns bind the v1 API too.
				if !p.Columns[k] {
					return nil, p.denied("insert", k, at)
				}
			}
			if _, ok := t.Catalog.Column(k); !ok {
				if t.Rels[k] != nil {
					return nil, &apierr.Error{Status: http.StatusBadRequest, Code: codeUnexpectedPayload, Path: at,
						Message: fmt.Sprintf("expecting a database column; but, %q is a relationship; relationships can't be inserted", k)}
				}
				return nil, &apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeNotExists, Path: at,
					Message: fmt.Sprintf("no such column exists: %q", k)}
			}
			seen[k] = true
		}
	}
	given := make([]string, 0, len(seen))
	for k := range seen {
		given = append(given, k)
	}
	sort.Strings(given)
	return given, nil
}

// insertValues is INSERT ... VALUES over the objects, with the role's
// presets filled into every row.
func (q *query) insertValues(t *Table, alias string, objects []map[string]json.RawMessage, p *Perm) string {
	table := tableRef(t)
	rows := make([]map[string]json.RawMessage, len(objects))
	used := map[string]bool{}
	for i, o := range objects {
		row := make(map[string]json.RawMessage, len(o))
		for k, v := range o {
			row[k] = v
		}
		if p != nil {
			for k, v := range p.Presets {
				row[k] = v
			}
		}
		for k := range row {
			used[k] = true
		}
		rows[i] = row
	}
	var cols []string
	for _, c := range t.Catalog.Columns {
		if used[c.Name] {
			cols = append(cols, c.Name)
		}
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " AS " + alias)
	if len(cols) == 0 {
		// Rows of {} only: a zero-column SELECT inserts all defaults.
		b.WriteString(" SELECT FROM generate_series(1, " + q.param(len(rows)) + ")")
		return b.String()
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = ident(c)
	}
	b.WriteString(" (" + strings.Join(quoted, ", ") + ") VALUES ")
	for i, row := range rows {
		cells := make([]string, len(cols))
		// GeoJSON goes in its own parameter, read by ST_GeomFromGeoJSON:
		// json_populate_record would hand it to the type's own input
		// (which does not read GeoJSON) even to fill another column.
		geo := map[string]string{}
		for _, name := range cols {
			c, _ := t.Catalog.Column(name)
			v, given := row[name]
			switch {
			case !given:
			case (c.TypeName.Name == "geometry" || c.TypeName.Name == "geography") && aeson.Kind(v) == "Object":
				geo[name] = "ST_GeomFromGeoJSON(" + q.param(string(v)) + "::text)::" + c.TypeName.Name
				delete(row, name)
			case IsNumeric(c.Type) && aeson.Kind(v) == "Number":
				// Numbers for numeric columns arrive as Hasura sends them.
				row[name] = json.RawMessage(NumericText(string(v)))
			}
		}
		rowJSON, _ := json.Marshal(row)
		param := q.param(string(rowJSON))
		for j, name := range cols {
			if g, ok := geo[name]; ok {
				cells[j] = g
			} else if _, given := row[name]; given {
				cells[j] = "(json_populate_record(NULL::" + table + ", " + param + "::json))." + ident(name)
			} else {
				cells[j] = "DEFAULT"
			}
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + strings.Join(cells, ", ") + ")")
	}
	return b.String()
}

// insertCheck is the condition every row the insert writes must meet:
// the insert permission's check, or for a row an upsert updated, the
// update permission's check when it has one (Hasura tells them apart by
// xmax, 0 for a row this statement inserted).
func (q *query) insertCheck(t *Table, alias string, oc *onConflict, p *Perm) (string, error) {
	if p == nil {
		return "", nil
	}
	ins, err := q.permCondition(t, alias, p.Check)
	if err != nil {
		return "", err
	}
	if oc == nil || p.Update == nil || isNull(p.Update.Check) {
		return ins, nil
	}
	upd, err := q.permCondition(t, alias, p.Update.Check)
	if err != nil {
		return "", err
	}
	if ins == "" {
		ins = "TRUE"
	}
	return "CASE WHEN " + alias + ".xmax = 0 THEN " + ins + " ELSE " + upd + " END", nil
}

// onConflict is the v1 insert's on_conflict.
type onConflict struct {
	constraint *string
	columns    []string
	hasColumns bool
	update     bool // action: update (else ignore)
}

// parseOnConflict reads on_conflict as Hasura parses it, before anything
// else is looked at.
func parseOnConflict(raw json.RawMessage) (*onConflict, error) {
	const at = "$.args.on_conflict"
	if aeson.Kind(raw) != "Object" {
		return nil, badExp(at, "expected Object, but encountered %s", aeson.Kind(raw))
	}
	var o map[string]json.RawMessage
	_ = json.Unmarshal(raw, &o)
	oc := &onConflict{}
	if v, ok := o["constraint_on"]; ok && !isNull(v) {
		oc.hasColumns = true
		var one string
		if json.Unmarshal(v, &one) == nil {
			oc.columns = []string{one}
		} else if json.Unmarshal(v, &oc.columns) != nil {
			return nil, badExp(at+".constraint_on", "Expecting String or Array")
		}
	}
	if v, ok := o["constraint"]; ok && !isNull(v) {
		var c string
		if json.Unmarshal(v, &c) != nil {
			return nil, badExp(at+".constraint", "expected String, but encountered %s", aeson.Kind(v))
		}
		oc.constraint = &c
	}
	action, ok := o["action"]
	if !ok {
		return nil, badExp(at, "the key 'action' was not present")
	}
	switch string(action) {
	case `"update"`:
		oc.update = true
	case `"ignore"`:
	default:
		return nil, badExp(at+".action", "Expecting 'ignore' or 'update'")
	}
	return oc, nil
}

// conflictClause is ON CONFLICT ... DO NOTHING / DO UPDATE: the update
// writes the columns the objects gave (and the update permission's
// presets), on the rows the update permission's filter allows.
func (q *query) conflictClause(t *Table, alias string, oc *onConflict, given []string, p *Perm) (string, error) {
	const at = "$.args.on_conflict"
	if p != nil && p.Update == nil {
		return "", &apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodePermissionDenied, Path: at,
			Message: fmt.Sprintf("upsert is not allowed for role %q since update permissions are not defined", p.Role)}
	}
	unexpected := func(path, format string, args ...any) error {
		return &apierr.Error{Status: http.StatusBadRequest, Code: codeUnexpectedPayload, Path: path, Message: fmt.Sprintf(format, args...)}
	}
	var target string
	switch {
	case oc.hasColumns && oc.constraint != nil:
		return "", unexpected(at, "'constraint' and 'constraint_on' cannot be set at a time")
	case oc.hasColumns:
		quoted := make([]string, len(oc.columns))
		for i, c := range oc.columns {
			if _, ok := t.Catalog.Column(c); !ok {
				return "", &apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeNotExists,
					Path: fmt.Sprintf("%s.constraint_on[%d]", at, i), Message: fmt.Sprintf("column %q does not exist", c)}
			}
			quoted[i] = ident(c)
		}
		target = " (" + strings.Join(quoted, ", ") + ")"
	case oc.constraint != nil:
		if !hasConstraint(t, *oc.constraint) {
			return "", &apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeUnexpected, Path: at + ".constraint",
				Message: fmt.Sprintf("constraint %q for table %q does not exist", *oc.constraint, schemacache.DisplayName(t.Name))}
		}
		target = " ON CONSTRAINT " + ident(*oc.constraint)
	case oc.update:
		return "", unexpected(at, "Expecting 'constraint' or 'constraint_on' when the 'action' is 'update'")
	}
	if !oc.update {
		return " ON CONFLICT" + target + " DO NOTHING", nil
	}
	var up *Perm
	if p != nil {
		up = p.Update
		for _, c := range given {
			if !up.Columns[c] {
				return "", &apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeValidationFailed, Path: at,
					Message: fmt.Sprintf("column %q is not updatable", c)}
			}
		}
	}
	// The permission's columns leave its presets out, so a given column
	// is never also a preset.
	sets := make([]string, 0, len(given))
	for _, c := range given {
		sets = append(sets, ident(c)+" = EXCLUDED."+ident(c))
	}
	presets, err := q.presetSets(t, up)
	if err != nil {
		return "", err
	}
	sets = append(sets, presets...)
	if len(sets) == 0 {
		return "", unexpected(at, "an on_conflict update needs the objects to give at least one column")
	}
	clause := " ON CONFLICT" + target + " DO UPDATE SET " + strings.Join(sets, ", ")
	if up != nil {
		filter, err := q.permCondition(t, alias, up.Filter)
		if err != nil {
			return "", err
		}
		if filter != "" {
			clause += " WHERE " + filter
		}
	}
	return clause, nil
}

func hasConstraint(t *Table, name string) bool {
	if pk := t.Catalog.PrimaryKey; pk != nil && pk.Name == name {
		return true
	}
	return slices.ContainsFunc(t.Catalog.UniqueConstraints, func(c *catalog.Constraint) bool { return c.Name == name })
}
