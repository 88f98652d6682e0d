package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"
	"github.com/strata-dev/strata/engine/compile"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schema"
	"github.com/strata-dev/strata/engine/schemacache"
)

// The v1 data API's select and count for roles other than admin, as
// Hasura's RQL/DML does: the role's select permission decides. Rather than
// teach the compiler permissions twice, the request's arguments are
// rewritten into the admin request that means the same: the permission's
// filter (session variables filled in) is ANDed to where, its limit caps
// limit, "*" becomes the permitted columns and any other column must be
// permitted, recursively through relationships. A where may compare only
// permitted columns, and a relationship it follows brings its table's
// filter along. A session variable the permission needs and the session
// lacks is Hasura's missing-header error. The rewritten arguments then
// compile as an admin's would. Insert, update and delete: data_roles_write.go.

type sessionKey struct{}

// withSession carries the caller's session to the data operations.
func withSession(ctx context.Context, s *auth.Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

func sessionOf(ctx context.Context) *auth.Session {
	s, _ := ctx.Value(sessionKey{}).(*auth.Session)
	return s
}

// roleDataOps are the operations a non-admin session may run.
var roleDataOps = map[string]bool{"select": true, "count": true, "insert": true, "update": true, "delete": true}

// forRole rewrites select (or count) arguments for the rewriter's role.
func (r *rewriter) forRole(args json.RawMessage, count bool) (json.RawMessage, error) {
	var a map[string]json.RawMessage
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, badRequest(apierr.CodeParseFailed, "expected Object, but encountered %s", aeson.Kind(args))
	}
	var name metadata.QualifiedName
	if err := json.Unmarshal(a["table"], &name); err != nil {
		return args, nil // the compiler reports it
	}
	if count {
		perm, err := r.permission(name)
		if err != nil {
			return nil, err
		}
		for i, c := range jsonStrings(a["distinct"]) {
			if !perm.allows(c) {
				return nil, r.columnDenied(c).WithPath(fmt.Sprintf("$.args.distinct[%d]", i))
			}
		}
		if a["where"], err = r.where(a["where"], perm, "$.args.where"); err != nil {
			return nil, err
		}
		return json.Marshal(a)
	}
	if err := r.selection(name, a, "$.args"); err != nil {
		return nil, err
	}
	return json.Marshal(a)
}

type rewriter struct {
	src    *metadata.Source
	schema *compile.Schema
	perms  *schema.Permissions
	sess   *auth.Session
}

// rolePerm is a role's select permission on one table.
type rolePerm struct {
	table   metadata.QualifiedName
	all     bool // columns: "*"
	columns []string
	filter  json.RawMessage
	limit   *int64
}

func (p *rolePerm) allows(col string) bool {
	if p.all {
		return true
	}
	for _, c := range p.columns {
		if c == col {
			return true
		}
	}
	return false
}

// permission is the role's select permission on a table, resolved as the
// GraphQL schema resolves it (schema.Permissions: an inherited role's is
// derived from its parents'). A column an inherited role sees only on
// some rows (Hasura nulls it on the others) is left out: v1 arguments
// cannot express that nulling, and the value must not show where Hasura
// hides it.
func (r *rewriter) permission(name metadata.QualifiedName) (*rolePerm, error) {
	tp := r.perms.Of(r.sess.Role, name)
	t := r.schema.Tables[name]
	if tp == nil || tp.Select == nil || t == nil {
		return nil, badRequest(apierr.CodePermissionDenied, "select on %q for role %q is not allowed. ", schemacache.DisplayName(name), r.sess.Role)
	}
	sp := tp.Select
	perm := &rolePerm{table: name, limit: sp.Limit}
	if sp.Filter != nil {
		var err error
		if perm.filter, err = json.Marshal(sp.Filter); err != nil {
			return nil, err
		}
	}
	for _, c := range t.Catalog.Columns {
		if redact, ok := sp.Columns[c.Name]; ok && redact == nil {
			perm.columns = append(perm.columns, c.Name)
		}
	}
	perm.all = len(perm.columns) == len(t.Catalog.Columns)
	return perm, nil
}

func (r *rewriter) columnDenied(col string) *apierr.Error {
	return badRequest(apierr.CodePermissionDenied, "role %q does not have permission to select column %q", r.sess.Role, col)
}

// selection rewrites the select arguments a (of the table name, at path)
// in place.
func (r *rewriter) selection(name metadata.QualifiedName, a map[string]json.RawMessage, path string) error {
	perm, err := r.permission(name)
	if err != nil {
		return err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(a["columns"], &items); err != nil {
		return nil // the compiler reports the shape
	}
	table := r.schema.Tables[name]
	var out []any
	for i, it := range items {
		at := fmt.Sprintf("%s.columns[%d]", path, i)
		var col string
		if json.Unmarshal(it, &col) == nil {
			switch {
			case col == "*" && perm.all:
				out = append(out, col)
			case col == "*":
				for _, c := range perm.columns {
					out = append(out, c)
				}
			case !perm.allows(col) && table != nil && table.Rels[col] == nil:
				return r.columnDenied(col).WithPath(at)
			default:
				out = append(out, col)
			}
			continue
		}
		var nested map[string]json.RawMessage
		if json.Unmarshal(it, &nested) != nil || table == nil {
			out = append(out, it)
			continue
		}
		var relName string
		_ = json.Unmarshal(nested["name"], &relName)
		rel := table.Rels[relName]
		if rel == nil {
			out = append(out, it) // the compiler reports an unknown relationship
			continue
		}
		if err := r.selection(rel.Remote.Name, nested, at); err != nil {
			return err
		}
		out = append(out, nested)
	}
	if a["columns"], err = json.Marshal(out); err != nil {
		return err
	}
	if a["where"], err = r.where(a["where"], perm, path+".where"); err != nil {
		return err
	}
	if perm.limit != nil {
		var asked *int64
		_ = json.Unmarshal(a["limit"], &asked)
		if asked == nil || *asked > *perm.limit {
			a["limit"], _ = json.Marshal(*perm.limit)
		}
	}
	return nil
}

// where reads the request's where (at path) under the select permission
// and ANDs the permission's filter, its session variables filled in.
func (r *rewriter) where(asked json.RawMessage, perm *rolePerm, path string) (json.RawMessage, error) {
	if t := r.schema.Tables[perm.table]; t != nil && !isNull(asked) {
		var err error
		if asked, err = r.readable(t, asked, path); err != nil {
			return nil, err
		}
	}
	filter, err := r.fillJSON(perm.filter)
	if err != nil {
		return nil, err
	}
	if isNull(filter) || string(filter) == "{}" {
		return asked, nil
	}
	if isNull(asked) {
		return filter, nil
	}
	return json.Marshal(map[string]any{"_and": []json.RawMessage{asked, filter}})
}

// readable checks a boolean expression over t (at path) as Hasura's
// checkSelPerm does: every column it compares must be one the role may
// select, and every relationship it follows leads to a table the role may
// select, whose filter is ANDed inside. Columns that do not exist are
// left for the compiler to report; errors carry the where's own path, as
// Hasura's do.
func (r *rewriter) readable(t *compile.Table, raw json.RawMessage, path string) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return raw, nil // the compiler reports the shape
	}
	perm, err := r.permission(t.Name)
	if err != nil {
		return nil, err
	}
	// In key order, so of two faults the same one is always reported.
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v := obj[k]
		op := ""
		if strings.HasPrefix(k, "_") || strings.HasPrefix(k, "$") {
			op = k[1:]
		}
		switch {
		case op == "and" || op == "or":
			var items []json.RawMessage
			if json.Unmarshal(v, &items) != nil {
				if obj[k], err = r.readable(t, v, path); err != nil { // one object
					return nil, err
				}
				continue
			}
			for i, it := range items {
				if items[i], err = r.readable(t, it, path); err != nil {
					return nil, err
				}
			}
			if obj[k], err = json.Marshal(items); err != nil {
				return nil, err
			}
		case op == "not":
			if obj[k], err = r.readable(t, v, path); err != nil {
				return nil, err
			}
		case t.Rels[k] != nil:
			rel := t.Rels[k]
			remote, err := r.permission(rel.Remote.Name)
			if err != nil {
				return nil, badRequest(apierr.CodePermissionDenied, "role %q does not have permission to read relationship %q; no permission on table %q",
					r.sess.Role, k, schemacache.DisplayName(rel.Remote.Name)).WithPath(path)
			}
			if obj[k], err = r.where(v, remote, path); err != nil {
				return nil, err
			}
		default:
			if _, exists := t.Catalog.Column(k); exists && !perm.allows(k) {
				return nil, r.columnDenied(k).WithPath(path)
			}
		}
	}
	return json.Marshal(obj)
}

// fill replaces the session variable names a permission uses as values
// by the session's values.
func (r *rewriter) fill(v any) (any, error) {
	switch x := v.(type) {
	case string:
		if strings.HasPrefix(strings.ToLower(x), "x-hasura-") {
			val, ok := r.sess.Vars[strings.ToLower(x)]
			if !ok {
				return nil, badRequest(apierr.CodeNotFound, "%q header is expected but not found", strings.ToLower(x))
			}
			return val, nil
		}
		return x, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			f, err := r.fill(e)
			if err != nil {
				return nil, err
			}
			out[i] = f
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			f, err := r.fill(e)
			if err != nil {
				return nil, err
			}
			out[k] = f
		}
		return out, nil
	}
	return v, nil
}

func jsonStrings(raw json.RawMessage) []string {
	var out []string
	_ = json.Unmarshal(raw, &out)
	return out
}

// decodeNumbers decodes JSON keeping numbers as they are written.
func decodeNumbers(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}
