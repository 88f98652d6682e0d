package graphql

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"
	"github.com/strata-dev/strata/engine/graphql/introspection"
	"github.com/strata-dev/strata/engine/schema"
)

// plan is a compiled operation: the response's root fields in order, each
// either a constant (introspection, __typename) or a column of one of the
// statements (one per source).
type plan struct {
	fields      []planField
	stmts       []*statement
	mutation    []*mutField // a mutation's root fields, in order
	sessionVars []string
	// wholeSession: the statements read the whole session, not only
	// sessionVars (a function's session argument).
	wholeSession bool
	subscribe    bool
	// joins are the query's remote joins (remote_join.go).
	joins []*remoteJoin

	// live is the plan's multiplexed twin, for a subscription (live.go).
	live liveTwin
}

type planField struct {
	key    string
	static []byte // set for fields answered without the database
	stmt   int
	col    int
}

type statement struct {
	source string
	sql    string
	params []any
}

// compileOperation checks the operation against the role's schema and
// compiles it.
func compileOperation(m *schema.Model, s *schema.Schema, op *ast.OperationDefinition, vars map[string]*variable, stringify bool) (*plan, *errAt) {
	return compileOperationSplit(m, s, op, vars, stringify, false)
}

// compileOperationSplit is compileOperation; split gives every root field
// of a query its own statement instead of one per source (explain).
func compileOperationSplit(m *schema.Model, s *schema.Schema, op *ast.OperationDefinition, vars map[string]*variable, stringify, split bool) (*plan, *errAt) {
	return compileOp(m, s, op, vars, compileOpts{stringify: stringify, split: split})
}

type compileOpts struct {
	stringify bool
	// split gives every root field of a query its own statement instead
	// of one per source (explain).
	split bool
	// mux compiles a subscription's statement multiplexed (live.go).
	mux bool
}

func compileOp(m *schema.Model, s *schema.Schema, op *ast.OperationDefinition, vars map[string]*variable, opts compileOpts) (*plan, *errAt) {
	stringify, split := opts.stringify, opts.split
	co := &coercer{schema: s.AST, vars: vars}
	rootType := s.AST.Query
	switch op.Operation {
	case ast.Mutation:
		if s.AST.Mutation == nil {
			return nil, fail("$", "no mutations exist")
		}
		rootType = s.AST.Mutation
	case ast.Subscription:
		if s.AST.Subscription == nil {
			return nil, fail("$", "no subscriptions exist")
		}
		rootType = s.AST.Subscription
	}
	fields, err := co.collect(op.SelectionSet, rootType.Name, nil, "$")
	if err != nil {
		return nil, err
	}
	if op.Operation == ast.Subscription && len(fields) != 1 {
		return nil, fail("$", "subscriptions must select one top level field")
	}
	p := &plan{subscribe: op.Operation == ast.Subscription}
	if op.Operation == ast.Mutation {
		return compileMutation(m, s, co, p, fields, stringify)
	}
	compilers := map[string]*compiler{}
	var order, orderSrc []string
	cols := map[string][]string{}
	session := map[string]bool{}
	for _, cf := range fields {
		f := cf.field
		path := "$.selectionSet." + f.Name
		switch f.Name {
		case "__typename":
			p.fields = append(p.fields, planField{key: cf.key, static: []byte(jsonString(rootType.Name))})
			continue
		case "__schema", "__type":
			if p.subscribe {
				return nil, &errAt{path: "$", msg: "Introspection at root field level is not supported over subscriptions", code: "not-supported"}
			}
			b, err := introspect(s.AST, f, cf.sub, vars, path)
			if err != nil {
				return nil, err
			}
			p.fields = append(p.fields, planField{key: cf.key, static: b})
			continue
		}
		fd := rootType.Fields.ForName(f.Name)
		meaning := s.Field(rootType.Name, f.Name)
		if fd == nil || meaning == nil {
			return nil, fail(path, "field '%s' not found in type: '%s'", f.Name, rootType.Name)
		}
		src := ""
		if meaning.Table != nil {
			src = meaning.Table.Source
		} else if meaning.Namespace != nil {
			src = meaning.Namespace.Source
		} else if len(m.Sources) > 0 {
			src = m.Sources[0].Name
		}
		key := src
		if split {
			key = src + "\x00" + strconv.Itoa(len(p.fields))
		}
		c := compilers[key]
		if c == nil {
			c = &compiler{coercer: co, s: s, session: session, stringify: stringify, mux: opts.mux, joins: &p.joins}
			for _, ms := range m.Sources {
				if ms.Name == src {
					c.resolved = ms.Resolved
				}
			}
			compilers[key] = c
			order, orderSrc = append(order, key), append(orderSrc, src)
		}
		args, err := c.fieldArgs(f, fd, path)
		if err != nil {
			return nil, err
		}
		if meaning.Kind != schema.RootNode && len(cf.sub) == 0 {
			return nil, fail(path, "missing selection set for '%s'", fd.Type.Name())
		}
		expr, err := c.root(meaning, args, cf.sub, path)
		if err != nil {
			return nil, err
		}
		p.fields = append(p.fields, planField{key: cf.key, stmt: slices.Index(order, key), col: len(cols[key])})
		cols[key] = append(cols[key], expr)
	}
	for i, key := range order {
		sql := "SELECT " + strings.Join(cols[key], ", ") + sessionFrom
		if opts.mux {
			sql = multiplexedSQL(cols[key])
		}
		p.stmts = append(p.stmts, &statement{source: orderSrc[i], sql: sql, params: compilers[key].params})
	}
	p.setSession(session)
	return p, nil
}

// setSession records the session variables the plan's SQL reads.
func (p *plan) setSession(session map[string]bool) {
	for v := range session {
		if v == wholeSessionKey {
			p.wholeSession = true
			continue
		}
		p.sessionVars = append(p.sessionVars, v)
	}
	sort.Strings(p.sessionVars)
}

// compileMutation compiles the root fields of a mutation, each into its
// own steps (see mutation.go).
func compileMutation(m *schema.Model, s *schema.Schema, co *coercer, p *plan, fields []*collected, stringify bool) (*plan, *errAt) {
	session := map[string]bool{}
	flat, err := mutationRootFields(s, co, s.AST.Mutation, fields)
	if err != nil {
		return nil, err
	}
	for _, rf := range flat {
		cf, root, path := rf.cf, rf.parent, rf.path
		f := cf.field
		if f.Name == "__typename" {
			p.mutation = append(p.mutation, &mutField{key: cf.key, ns: rf.ns, static: []byte(jsonString(root.Name))})
			continue
		}
		fd := root.Fields.ForName(f.Name)
		meaning := s.Field(root.Name, f.Name)
		if fd == nil || meaning == nil {
			return nil, fail(path, "field '%s' not found in type: '%s'", f.Name, root.Name)
		}
		c := &compiler{coercer: co, s: s, session: session, stringify: stringify}
		for _, ms := range m.Sources {
			if ms.Name == meaning.Table.Source {
				c.resolved = ms.Resolved
			}
		}
		args, err := c.fieldArgs(f, fd, path)
		if err != nil {
			return nil, err
		}
		if len(cf.sub) == 0 {
			return nil, fail(path, "missing selection set for '%s'", fd.Type.Name())
		}
		var mf *mutField
		if meaning.Kind == schema.RootFunction {
			// A function tracked as a mutation: one statement reading its
			// rows, which run in the mutation's transaction.
			expr, err := c.root(meaning, args, cf.sub, path)
			if err != nil {
				return nil, err
			}
			mf = &mutField{source: meaning.Table.Source, outputs: []int{0}, steps: []*mstep{{sql: "SELECT " + expr + sessionFrom, params: c.params, path: path}}}
		} else if mf, err = c.mutation(meaning, args, cf.sub, path); err != nil {
			return nil, err
		}
		mf.key, mf.ns = cf.key, rf.ns
		p.mutation = append(p.mutation, mf)
	}
	p.setSession(session)
	return p, nil
}

// sessionFrom mentions $1 so the statement always takes the session,
// whether or not this operation reads it (the parameter list must match).
const sessionFrom = " FROM (SELECT $1::text) AS _session"

// root compiles one root field.
func (c *compiler) root(m *schema.Field, args map[string]any, sub ast.SelectionSet, path string) (string, *errAt) {
	t := m.Table
	from := ""
	if t != nil {
		from = tableRef(t.Name.Schema, t.Name.Name)
	}
	switch m.Kind {
	case schema.RootSelect, schema.RootAggregate, schema.RootConnection:
		q, err := c.tableQuery(t, from, args, path)
		if err != nil {
			return "", err
		}
		switch m.Kind {
		case schema.RootAggregate:
			return c.aggregate(t, q, sub, path)
		case schema.RootConnection:
			return c.connection(t, q, args, sub, path)
		}
		return c.rows(t, q, sub, path)
	case schema.RootByPK:
		q, err := c.tableQuery(t, from, nil, path)
		if err != nil {
			return "", err
		}
		for _, col := range t.PK {
			q.conds = append(q.conds, c.columnRef(t, q.alias, col)+" = "+c.value(args[col.Field], col.SQLType, false))
		}
		return c.one(t, q, sub, path)
	case schema.RootFunction, schema.RootFunctionAggregate, schema.RootFunctionConnection:
		fargs, _ := args["args"].(map[string]any)
		q, err := c.tableQuery(t, c.functionCall(m.Function, fargs, nil), args, path)
		if err != nil {
			return "", err
		}
		switch m.Kind {
		case schema.RootFunctionAggregate:
			return c.aggregate(t, q, sub, path)
		case schema.RootFunctionConnection:
			return c.connection(t, q, args, sub, path)
		}
		return c.rows(t, q, sub, path)
	case schema.RootNode:
		return c.node(args, sub, path)
	case schema.RootStream:
		return c.stream(t, args, sub, path) // stream.go
	case schema.RootNamespace:
		return c.namespace(m.Namespace, sub, path)
	}
	return "", fail(path, "unsupported root field")
}

// introspect answers __schema and __type.
func introspect(s *ast.Schema, f *ast.Field, sub ast.SelectionSet, vars map[string]*variable, path string) ([]byte, *errAt) {
	values := make(map[string]any, len(vars))
	for k, v := range vars {
		values[k] = v.value
	}
	g := *f
	g.SelectionSet = sub
	var b []byte
	var err *introspection.Error
	if f.Name == "__schema" {
		b, err = introspection.Schema(s, &g, values, path)
	} else {
		b, err = introspection.Type(s, &g, values, path)
	}
	if err != nil {
		return nil, fail(err.Path, "%s", err.Message)
	}
	return b, nil
}

// missingSessionVar is the error of a session that lacks a variable the
// plan reads; nil when it has them all.
func (p *plan) missingSessionVar(sess *auth.Session) *apierr.Error {
	for _, v := range p.sessionVars {
		if _, ok := sess.Vars[v]; !ok {
			return &apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeNotFound, Message: "missing session variable: " + jsonString(v), Path: "$"}
		}
	}
	return nil
}

// execute runs a plan for a session and writes {"data": ...}.
func execute(ctx context.Context, m *schema.Model, p *plan, sess *auth.Session, out *bytes.Buffer) *apierr.Error {
	if aerr := p.missingSessionVar(sess); aerr != nil {
		return aerr
	}
	sessionJSON, _ := json.Marshal(sess.Vars)
	if p.mutation != nil {
		return executeMutation(ctx, m, p, string(sessionJSON), out)
	}
	results := make([][][]byte, len(p.stmts))
	for i, st := range p.stmts {
		pool, aerr := sourcePool(m, st.source)
		if aerr != nil {
			return aerr
		}
		args := append([]any{string(sessionJSON)}, st.params...)
		rows, err := pool.Query(ctx, st.sql, args...)
		if err != nil {
			return dbError(err)
		}
		if rows.Next() {
			raw := rows.RawValues()
			vals := make([][]byte, len(raw))
			for j, r := range raw {
				vals[j] = append([]byte(nil), r...)
			}
			results[i] = vals
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dbError(err)
		}
	}
	if len(p.joins) > 0 {
		if aerr := p.remoteJoins(ctx, m, string(sessionJSON), results); aerr != nil {
			return aerr
		}
	}
	writeData(out, p, results)
	return nil
}

// writeData writes {"data": ...} from the values of the plan's statements
// (results[statement][column], nil when the statement returned no row).
// A live query's multiplexed results go through here too, so that they
// are byte for byte what a single request gets.
func writeData(out *bytes.Buffer, p *plan, results [][][]byte) {
	out.WriteString(`{"data":{`)
	for i, f := range p.fields {
		if i > 0 {
			out.WriteByte(',')
		}
		out.WriteString(jsonString(f.key))
		out.WriteByte(':')
		if f.static != nil {
			out.Write(f.static)
			continue
		}
		v := results[f.stmt]
		if v == nil || v[f.col] == nil {
			out.WriteString("null")
			continue
		}
		out.Write(v[f.col])
	}
	out.WriteString("}}")
}

// constraintPrefix is what Hasura puts before an integrity violation's
// message.
var constraintPrefix = map[string]string{
	"23001": "Can not delete or update due to data being referred. ",
	"23502": "Not-NULL violation. ",
	"23503": "Foreign key violation. ",
	"23505": "Uniqueness violation. ",
	"23P01": "Exclusion violation. ",
}

// sourcePool is the connection pool of a source of the snapshot.
func sourcePool(m *schema.Model, name string) (*pgxpool.Pool, *apierr.Error) {
	ss := m.Snapshot.Sources[name]
	if ss == nil || ss.Pool == nil {
		return nil, &apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeUnexpected, Message: "source " + name + " is not available", Path: "$"}
	}
	return ss.Pool, nil
}

// dbError maps a Postgres error to Hasura's codes
// (Backends/Postgres/Execute/Types.hs mkTxErrorHandler).
func dbError(err error) *apierr.Error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		if errors.Is(err, context.Canceled) {
			return &apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeUnexpected, Message: "request cancelled", Path: "$"}
		}
		e := apierr.Internal()
		e.Message = "database query error"
		e.Internal = err.Error()
		return e
	}
	e := &apierr.Error{Status: http.StatusBadRequest, Path: "$", Message: pe.Message}
	switch {
	case pe.Code == "22025" || pe.Code == "22P06":
		e.Code = apierr.CodeBadRequest
	case strings.HasPrefix(pe.Code, "22"):
		e.Code = apierr.CodeDataException
	case pe.Code == "23514":
		e.Code, e.Message = "permission-error", "Check constraint violation. "+pe.Message
	case strings.HasPrefix(pe.Code, "23"):
		e.Code = "constraint-violation"
		e.Message = constraintPrefix[pe.Code] + pe.Message
	case strings.HasPrefix(pe.Code, "42"):
		e.Code = apierr.CodeConstraintError
	case strings.HasPrefix(pe.Code, "40"):
		e.Code, e.Message = "concurrent-update", "serialization failure due to concurrent update"
	default:
		e.Status, e.Code, e.Message = http.StatusInternalServerError, apierr.CodeUnexpected, "database query error"
		e.Internal = map[string]any{"error": map[string]any{"message": pe.Message, "status_code": pe.Code, "description": pe.Detail}, "prepared": true}
	}
	return e
}
