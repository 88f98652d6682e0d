package schema

// Inherited roles (the metadata's inherited_roles): a role made of other
// roles, its role_set, which may themselves be inherited. Hasura v2 resolves
// them when it builds its schema cache (Hasura.RQL.DDL.Schema.Cache and
// Cache/Permission.hs); so does this package, in one place (perms.go), so
// that the schema and the SQL compiled against it agree:
//
//   - a permission the metadata gives the inherited role itself on a table
//     wins over the derived one, kind by kind;
//   - select: derived from the parents' (selectperm.go);
//   - insert, update, delete: the parents' permission when every parent
//     that has one has the same, else none, and the conflict is reported
//     (Conflicts);
//   - tracked functions and computed fields follow the tables: a function
//     is there for a role that may select the table it returns (function
//     permissions inferred, Hasura's default), so for an inherited role as
//     soon as one parent may, which is Hasura's rule for explicit function
//     permissions too (any parent).
//
// A cycle among inherited roles makes Hasura refuse the metadata
// (CheckInheritedRoles); should one be stored anyway, the roles in it
// inherit nothing. A parent that is no role at all (no permission
// anywhere) is one with no permissions: it passes nothing on. Hasura
// refuses such an inherited role when it is added (MissingParentRoles).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
)

// inheritedRole is an entry of inherited_roles.
type inheritedRole struct {
	Name    string   `json:"role_name"`
	RoleSet []string `json:"role_set"`
}

// inheritance holds each inherited role's parents, for the roles in no
// cycle.
type inheritance struct {
	parents map[string][]string
}

// parentsOf returns the parents of an inherited role; nil for any other.
func (in *inheritance) parentsOf(role string) []string {
	if in == nil {
		return nil
	}
	return in.parents[role]
}

// readInheritedRoles decodes the inherited_roles section; an undecodable
// one is as good as none (the metadata API refuses it on the way in).
func readInheritedRoles(md *metadata.Metadata) []inheritedRole {
	if md == nil || len(md.InheritedRoles) == 0 {
		return nil
	}
	var roles []inheritedRole
	if json.Unmarshal(md.InheritedRoles, &roles) != nil {
		return nil
	}
	return roles
}

// newInheritance resolves the metadata's inherited roles.
func newInheritance(md *metadata.Metadata) *inheritance {
	roles := readInheritedRoles(md)
	if len(roles) == 0 {
		return nil
	}
	in := &inheritance{parents: map[string][]string{}}
	cyclic := map[string]bool{}
	for _, cycle := range roleCycles(roles) {
		for _, r := range cycle {
			cyclic[r] = true
		}
	}
	// A role naming a parent the metadata does not know is an inconsistent
	// object (MissingParentRoles): as in Hasura, it inherits nothing, not
	// even from the parents it does name.
	known := metadataRoles(md)
	for _, r := range roles {
		if !cyclic[r.Name] && !slices.ContainsFunc(r.RoleSet, func(p string) bool { return !known[p] }) {
			in.parents[r.Name] = r.RoleSet
		}
	}
	return in
}

// metadataRoles are the roles the metadata knows of, as Hasura counts
// them for inherited roles' parents: those with a permission on a table,
// an action or a remote schema, and the inherited roles.
func metadataRoles(md *metadata.Metadata) map[string]bool {
	known := map[string]bool{}
	for _, src := range md.Sources {
		for _, t := range src.Tables {
			for _, p := range t.SelectPermissions {
				known[p.Role] = true
			}
			for _, p := range t.InsertPermissions {
				known[p.Role] = true
			}
			for _, p := range t.UpdatePermissions {
				known[p.Role] = true
			}
			for _, p := range t.DeletePermissions {
				known[p.Role] = true
			}
		}
	}
	var withPerms []struct {
		Permissions []struct {
			Role string `json:"role"`
		} `json:"permissions"`
	}
	for _, raw := range []json.RawMessage{md.Actions, md.RemoteSchemas} {
		withPerms = withPerms[:0]
		if json.Unmarshal(raw, &withPerms) == nil {
			for _, o := range withPerms {
				for _, p := range o.Permissions {
					known[p.Role] = true
				}
			}
		}
	}
	for _, r := range readInheritedRoles(md) {
		known[r.Name] = true
	}
	return known
}

// roleCycles finds the cycles among inherited roles: each the roles of
// one strongly connected component, from its least name along parent
// edges, the first role repeated at the end (as Hasura prints them).
func roleCycles(roles []inheritedRole) [][]string {
	parents := map[string][]string{}
	for _, r := range roles {
		parents[r.Name] = r.RoleSet
	}
	// Tarjan's algorithm over the roles in metadata order.
	index, low := map[string]int{}, map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var comps [][]string
	var visit func(string)
	visit = func(v string) {
		index[v], low[v] = len(index), len(index)
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range parents[v] {
			if _, seen := index[w]; !seen {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		var comp []string
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[w] = false
			comp = append(comp, w)
			if w == v {
				break
			}
		}
		if len(comp) > 1 || slices.Contains(parents[v], v) {
			comps = append(comps, comp)
		}
	}
	for _, r := range roles {
		if _, seen := index[r.Name]; !seen {
			visit(r.Name)
		}
	}
	var cycles [][]string
	for _, comp := range comps {
		in := map[string]bool{}
		for _, r := range comp {
			in[r] = true
		}
		start := slices.Min(comp)
		path := []string{start}
		seen := map[string]bool{start: true}
		for cur := start; ; {
			next := ""
			for _, p := range parents[cur] {
				if in[p] && !seen[p] {
					next = p
					break
				}
			}
			if next == "" {
				break
			}
			path = append(path, next)
			seen[next] = true
			cur = next
		}
		// Members a single walk along parents does not reach still
		// belong to the cycle.
		for _, r := range comp {
			if !seen[r] {
				path = append(path, r)
			}
		}
		cycles = append(cycles, append(path, start))
	}
	slices.SortFunc(cycles, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	return cycles
}

// CheckInheritedRoles is Hasura's refusal of metadata whose inherited
// roles form a cycle (orderRoles): 400 cyclic-dependency, "found cycle(s)
// in roles: [...]". The metadata API runs it before storing inherited_roles
// (add_inherited_role, replace_metadata).
func CheckInheritedRoles(md *metadata.Metadata) *apierr.Error {
	cycles := roleCycles(readInheritedRoles(md))
	if len(cycles) == 0 {
		return nil
	}
	parts := make([]string, len(cycles))
	for i, c := range cycles {
		b, _ := json.Marshal(c)
		parts[i] = string(b)
	}
	return apierr.New(http.StatusBadRequest, "cyclic-dependency", "found cycle(s) in roles: %s", strings.Join(parts, ", "))
}

// MissingParentRoles is Hasura's complaint about an inherited role whose
// role_set names a role the metadata does not know (resolveInheritedRole):
// "" when every parent is known. Hasura makes the inherited role an
// inconsistent object, "in inherited role <role>: " + this, so that
// add_inherited_role fails with it (400 invalid-configuration,
// "Inconsistent object: in inherited role ...").
func MissingParentRoles(md *metadata.Metadata, role string) string {
	known := metadataRoles(md)
	for _, r := range readInheritedRoles(md) {
		if r.Name != role {
			continue
		}
		var missing []string
		for _, p := range r.RoleSet {
			if !known[p] && !slices.Contains(missing, p) {
				missing = append(missing, p)
			}
		}
		if len(missing) == 0 {
			return ""
		}
		return fmt.Sprintf("the following parent role(s) are not found: %s which are required to construct the inherited role: %q", strings.Join(missing, ", "), role)
	}
	return ""
}

// TablePermissions are a role's permissions on one tracked table as the
// GraphQL schema resolves them (an inherited role's derived from its
// parents'), for the v1 data API, which must agree with it. A nil field
// is a kind the role has no permission of.
type TablePermissions struct {
	Select *SelectPermission
	Insert *metadata.InsertPermission
	Update *metadata.UpdatePermission
	Delete *metadata.DeletePermission
}

// SelectPermission is a resolved select permission.
type SelectPermission struct {
	// Columns maps the columns the role may select (Postgres names) to
	// their redaction: nil when the value shows on every row the role
	// sees, else the boolean expression (metadata form) a row must meet
	// for the value to show.
	Columns map[string]any
	// Filter is the row filter (metadata form); nil means every row.
	Filter any
	Limit  *int64
}

// Permissions resolves roles' permissions on the tables of one source,
// each once (see RolePermissions). What it returns is shared with its
// memo: read it, never change it.
type Permissions struct {
	r   *permResolver
	src *metadata.Source
	cat *catalog.Catalog
}

// RolePermissions resolves permissions on src's tables (cat: its
// catalog) with md's inherited roles, as perms.go does for the schema.
func RolePermissions(md *metadata.Metadata, src *metadata.Source, cat *catalog.Catalog) *Permissions {
	return &Permissions{r: newPermResolver(newInheritance(md)), src: src, cat: cat}
}

// Of returns role's permissions on table; nil when the table is not
// tracked or not in the catalog.
func (p *Permissions) Of(role string, table metadata.QualifiedName) *TablePermissions {
	mt, ok := p.src.Table(table)
	if !ok || p.cat == nil {
		return nil
	}
	cat, ok := p.cat.Table(table.Schema, table.Name)
	if !ok {
		return nil
	}
	tp := p.r.perms(p.src.Name, mt, cat, role)
	out := &TablePermissions{Insert: tp.ins, Update: tp.upd, Delete: tp.del}
	if tp.sel != nil {
		out.Select = &SelectPermission{Columns: tp.sel.columns, Filter: tp.sel.filter, Limit: tp.sel.limit}
	}
	return out
}
