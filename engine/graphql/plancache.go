package graphql

// The plan cache. A request's plan depends on its role, document,
// operation and variables, but most variables only end up as statement
// parameters: author_by_pk(id: $id) compiles to the same SQL for every id.
// So the cache is keyed on the variables' shape, their JSON with every
// string and 32-bit integer leaf taken out, and a cached plan is a
// template whose parameters are filled from the request's leaves.
//
// Which leaves are mere parameters is found by compiling twice when a
// shape is first seen: once with the request's values and once with
// every leaf replaced by a probe value of the same kind (hostile strings,
// an unusual negative integer). Where the two plans are identical but for
// parameters that are exactly the leaf's text in one and the probe's in
// the other, the leaf is a parameter, and the plan holds for any value of
// that kind: a leaf that shapes the SQL (a limit, an enum, a JSON path, a
// relay cursor) changes the text, fails to compile, or is transformed,
// and the shape is then cached by value, as everything was before. A
// leaf of the shape's kind is also valid wherever the probe and the
// original both were (every string is a String, every 32-bit integer an
// Int), so a hit skips validation without skipping an error.
//
// Subscriptions are cached by value: a live query's multiplexed twin is
// compiled from the values of the plan it hangs off.

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// PlanStats are the process's plan cache counters, for tests and
// metrics.
type PlanStats struct {
	// Compiles counts plans compiled for requests (probes not included).
	Compiles int64
	// ShapeHits counts requests served by a template filled with their
	// values, ValueHits those served by a plan cached by value.
	ShapeHits, ValueHits int64
}

var planStats struct{ compiles, shapeHits, valueHits atomic.Int64 }

// PlanCacheStats returns the plan cache counters.
func PlanCacheStats() PlanStats {
	return PlanStats{Compiles: planStats.compiles.Load(), ShapeHits: planStats.shapeHits.Load(), ValueHits: planStats.valueHits.Load()}
}

// maxPlans bounds the plan cache of one snapshot.
const maxPlans = 4096

// maxLeaves bounds the leaves of a parameterized plan: past it, values
// stay in the shape as they are (so such requests share plans only with
// the same values).
const maxLeaves = 10_000

// planCache is a bounded set of plans: when it fills up it is replaced
// by an empty one (a cheap eviction that keeps hot plans coming back on
// their next request), so a stream of distinct requests can never turn
// caching off.
type planCache struct {
	m    sync.Map // planKey -> *cached
	size atomic.Int64
}

type planKey struct {
	role, query, op string
	// vars is the variables' shape (shapeOf), or byValue and their text.
	vars  string
	relay bool
}

// byValue prefixes the variables of a key that holds them whole; no shape
// starts with it.
const byValue = "="

// cached is an entry of the cache: a plan, or a template and where its
// parameters come from, or a shape known to be cached by value.
type cached struct {
	plan  *plan
	binds []binding
	// byValue: the shape's plans depend on more than their leaves.
	byValue bool
}

func (st *modelState) lookup(k planKey) *cached {
	if c, ok := st.plans.Load().m.Load(k); ok {
		return c.(*cached)
	}
	return nil
}

func (st *modelState) store(k planKey, c *cached) {
	pc := st.plans.Load()
	if pc.size.Add(1) > maxPlans {
		fresh := &planCache{}
		if st.plans.CompareAndSwap(pc, fresh) {
			pc = fresh
		} else {
			pc = st.plans.Load()
		}
	}
	pc.m.Store(k, c)
}

// varShape is a request's variables taken apart: the shape they key the
// cache by and the text of their leaves.
type varShape struct {
	key    string
	leaves []string
	raw    []byte
}

// shapeOf takes raw variables apart; false when they are not a JSON
// object (the compiler reports that) or nest deeper than maxDepth. It
// scans the bytes once, decoding nothing but the leaves: it runs on every
// request.
// Object keys keep their order: the compiler sees objects as maps, so
// another order is only another shape.
func shapeOf(raw json.RawMessage) (*varShape, bool) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return &varShape{}, true
	}
	if t[0] != '{' {
		return nil, false
	}
	sc := &shapeScanner{in: t, key: make([]byte, 0, len(t))}
	if !sc.value(0) || sc.skipSpace() != len(t) {
		return nil, false
	}
	return &varShape{key: string(sc.key), leaves: sc.leaves, raw: t}, true
}

// parseRequest reads a request body {"query", "variables",
// "operationName", "extensions"} in the one scan that also takes its
// variables apart, where encoding/json would scan it twice and the shape
// a third time. It reads only what json.Unmarshal would read the same way:
// false for anything else (a key in another case, a query that is not a
// string, invalid JSON...), which the caller then hands to json.Unmarshal.
func parseRequest(body []byte) (Request, *varShape, bool) {
	var req Request
	vs := &varShape{} // no variables
	sc := &shapeScanner{in: body}
	if sc.skipSpace() == len(body) || body[sc.i] != '{' {
		return req, nil, false
	}
	sc.i++
	first := true
	for {
		if sc.skipSpace() == len(body) {
			return req, nil, false
		}
		if first && body[sc.i] == '}' {
			sc.i++
			break
		}
		first = false
		if body[sc.i] != '"' {
			return req, nil, false
		}
		name, ok := sc.str()
		if !ok || sc.skipSpace() == len(body) || body[sc.i] != ':' {
			return req, nil, false
		}
		sc.i++
		if sc.skipSpace() == len(body) {
			return req, nil, false
		}
		start := sc.i
		switch name {
		case "query", "operationName":
			if bytes.HasPrefix(body[sc.i:], []byte("null")) {
				sc.i += len("null") // leaves the field as it is, as encoding/json does
				break
			}
			if body[sc.i] != '"' {
				return req, nil, false
			}
			s, ok := sc.str()
			if !ok {
				return req, nil, false
			}
			if name == "query" {
				req.Query = s
			} else {
				req.OperationName = s
			}
		case "variables", "extensions":
			v := &shapeScanner{in: body, i: sc.i, key: make([]byte, 0, 64)}
			if !v.value(0) {
				return req, nil, false
			}
			sc.i = v.i
			raw := json.RawMessage(body[start:sc.i])
			if name == "extensions" {
				req.Extensions = raw
				break
			}
			req.Variables, vs = raw, nil
			switch body[start] {
			case '{':
				vs = &varShape{key: string(v.key), leaves: v.leaves, raw: raw}
			case 'n':
				vs = &varShape{}
			}
		default:
			for _, k := range []string{"query", "operationName", "variables", "extensions"} {
				if strings.EqualFold(name, k) {
					return req, nil, false // encoding/json would take it
				}
			}
			skip := &shapeScanner{in: body, i: sc.i}
			if !skip.value(0) {
				return req, nil, false
			}
			sc.i = skip.i
		}
		if sc.skipSpace() == len(body) {
			return req, nil, false
		}
		if body[sc.i] == ',' {
			sc.i++
			continue
		}
		if body[sc.i] != '}' {
			return req, nil, false
		}
		sc.i++
		break
	}
	if sc.skipSpace() != len(body) {
		return req, nil, false
	}
	return req, vs, true
}

// probe is the variables with each leaf replaced by its probe.
func (vs *varShape) probe() (json.RawMessage, []string) {
	sc := &shapeScanner{in: vs.raw, key: make([]byte, 0, len(vs.raw)), probing: true}
	sc.value(0)
	return sc.key, sc.probes
}

// shapeScanner walks JSON, copying it to key with its leaves (strings and
// 32-bit integers) written as ?s and ?i, which no JSON value is, or, when
// probing, as their probes.
type shapeScanner struct {
	in      []byte
	i       int
	key     []byte
	leaves  []string
	probing bool
	probes  []string
}

// maxDepth bounds the nesting the scanner follows; deeper variables are
// left to the compiler.
const maxDepth = 64

func (sc *shapeScanner) skipSpace() int {
	for sc.i < len(sc.in) {
		switch sc.in[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return sc.i
		}
	}
	return sc.i
}

func (sc *shapeScanner) value(depth int) bool {
	if depth > maxDepth || sc.skipSpace() == len(sc.in) {
		return false
	}
	switch c := sc.in[sc.i]; {
	case c == '{':
		return sc.object(depth)
	case c == '[':
		return sc.array(depth)
	case c == '"':
		start := sc.i
		text, ok := sc.str()
		if !ok {
			return false
		}
		if len(sc.leaves) == maxLeaves {
			sc.key = append(sc.key, sc.in[start:sc.i]...)
			return true
		}
		sc.leaf(text, "?s", func(n int) []byte { return []byte(jsonString(probeString(n, text))) })
		return true
	case c == '-' || c >= '0' && c <= '9':
		start := sc.i
		if !sc.number() {
			return false
		}
		lit := string(sc.in[start:sc.i])
		if _, err := strconv.ParseInt(lit, 10, 32); err != nil || len(sc.leaves) == maxLeaves {
			// Floats, big and exponent-written numbers are part of the
			// shape: the compiler rewrites some of them.
			sc.key = append(sc.key, lit...)
			return true
		}
		sc.leaf(lit, "?i", func(n int) []byte { return []byte(probeInt(n, lit)) })
		return true
	}
	// booleans and null shape the SQL (@include, _is_null)
	for _, lit := range []string{"true", "false", "null"} {
		if bytes.HasPrefix(sc.in[sc.i:], []byte(lit)) {
			sc.key = append(sc.key, lit...)
			sc.i += len(lit)
			return true
		}
	}
	return false
}

func (sc *shapeScanner) leaf(text, marker string, probe func(int) []byte) {
	n := len(sc.leaves)
	sc.leaves = append(sc.leaves, text)
	if !sc.probing {
		sc.key = append(sc.key, marker...)
		return
	}
	p := probe(n)
	sc.key = append(sc.key, p...)
	var text2 string
	if err := json.Unmarshal(p, &text2); err != nil {
		text2 = string(p) // a number
	}
	sc.probes = append(sc.probes, text2)
}

func (sc *shapeScanner) object(depth int) bool {
	return sc.container('}', func() bool {
		if sc.skipSpace() == len(sc.in) || sc.in[sc.i] != '"' {
			return false
		}
		start := sc.i
		if _, ok := sc.str(); !ok {
			return false
		}
		sc.key = append(sc.key, sc.in[start:sc.i]...)
		if sc.skipSpace() == len(sc.in) || sc.in[sc.i] != ':' {
			return false
		}
		sc.i++
		sc.key = append(sc.key, ':')
		return sc.value(depth + 1)
	})
}

func (sc *shapeScanner) array(depth int) bool {
	return sc.container(']', func() bool { return sc.value(depth + 1) })
}

// container walks an object or an array from its opening bracket at sc.i:
// members (each read by member) separated by commas, up to closing.
func (sc *shapeScanner) container(closing byte, member func() bool) bool {
	sc.key = append(sc.key, sc.in[sc.i])
	sc.i++
	if sc.skipSpace() < len(sc.in) && sc.in[sc.i] == closing {
		sc.i++
		sc.key = append(sc.key, closing)
		return true
	}
	for {
		if !member() || sc.skipSpace() == len(sc.in) {
			return false
		}
		switch sc.in[sc.i] {
		case ',':
			sc.i++
			sc.key = append(sc.key, ',')
		case closing:
			sc.i++
			sc.key = append(sc.key, closing)
			return true
		default:
			return false
		}
	}
}

// str reads a JSON string at sc.i and returns its text; strings with
// escapes go through encoding/json, the others are sliced.
func (sc *shapeScanner) str() (string, bool) {
	start := sc.i
	sc.i++
	escaped := false
	for sc.i < len(sc.in) {
		switch c := sc.in[sc.i]; {
		case c == '"':
			sc.i++
			tok := sc.in[start:sc.i]
			if !escaped && utf8.Valid(tok) {
				return string(tok[1 : len(tok)-1]), true
			}
			var s string
			if err := json.Unmarshal(tok, &s); err != nil {
				return "", false
			}
			return s, true
		case c == '\\':
			escaped = true
			sc.i += 2
		case c < 0x20:
			return "", false
		default:
			sc.i++
		}
	}
	return "", false
}

// number reads a JSON number at sc.i.
func (sc *shapeScanner) number() bool {
	start := sc.i
	digits := func() int {
		n := 0
		for sc.i < len(sc.in) && sc.in[sc.i] >= '0' && sc.in[sc.i] <= '9' {
			sc.i++
			n++
		}
		return n
	}
	if sc.in[sc.i] == '-' {
		sc.i++
	}
	intStart := sc.i
	if digits() == 0 || sc.in[intStart] == '0' && sc.i-intStart > 1 {
		return false
	}
	if sc.i < len(sc.in) && sc.in[sc.i] == '.' {
		sc.i++
		if digits() == 0 {
			return false
		}
	}
	if sc.i < len(sc.in) && (sc.in[sc.i] == 'e' || sc.in[sc.i] == 'E') {
		sc.i++
		if sc.i < len(sc.in) && (sc.in[sc.i] == '+' || sc.in[sc.i] == '-') {
			sc.i++
		}
		if digits() == 0 {
			return false
		}
	}
	return sc.i > start
}

// probeString is the n-th string probe: unique, and made of what a
// transformation of strings would touch (case, spaces around, quotes,
// path and array syntax, LIKE wildcards, escapes, non-ASCII), never the
// leaf's own value.
func probeString(n int, leaf string) string {
	p := " Strata.Probe[" + strconv.Itoa(n) + `]{"'\%_,é} `
	if p == leaf {
		p += "~"
	}
	return p
}

// probeInt is the n-th integer probe: an unusual negative 32-bit integer
// (checks that refuse negatives refuse it), never the leaf's own value.
func probeInt(n int, leaf string) string {
	p := strconv.Itoa(-1_000_003 - 7919*n)
	if p == leaf {
		p = strconv.Itoa(-1_000_003 - 7919*n - 1)
	}
	return p
}

// binding says where a leaf goes: parameter param of parameter list list
// (paramLists' order), element elem of it for a list parameter (-1 for a
// scalar one).
type binding struct {
	leaf, list, param, elem int
}

// paramLists are a plan's parameter lists, in a fixed order: the
// statements', the mutation steps', the remote joins'.
func paramLists(p *plan) [][]any {
	var out [][]any
	for _, s := range p.stmts {
		out = append(out, s.params)
	}
	for _, f := range p.mutation {
		for _, s := range f.steps {
			out = append(out, s.params)
		}
	}
	for _, j := range p.joins {
		out = append(out, j.params)
	}
	return out
}

// parameterize finds where the leaves go in p, the plan compiled from the
// request's values, given q, the plan compiled from their probes; false
// when p depends on the values otherwise.
func parameterize(p, q *plan, leaves, probes []string) ([]binding, bool) {
	if !sameShape(p, q) {
		return nil, false
	}
	byProbe := make(map[string]int, len(probes))
	for i, pr := range probes {
		byProbe[pr] = i
	}
	leaf := func(a, b string) (int, bool) {
		i, ok := byProbe[b]
		return i, ok && leaves[i] == a
	}
	var binds []binding
	pl, ql := paramLists(p), paramLists(q)
	for i := range pl {
		for j := range pl[i] {
			a, b := pl[i][j], ql[i][j]
			if reflect.DeepEqual(a, b) {
				continue
			}
			switch a := a.(type) {
			case string:
				b, _ := b.(string)
				n, ok := leaf(a, b)
				if !ok {
					return nil, false
				}
				binds = append(binds, binding{leaf: n, list: i, param: j, elem: -1})
			case []*string:
				b, _ := b.([]*string)
				if len(a) != len(b) {
					return nil, false
				}
				for e := range a {
					if reflect.DeepEqual(a[e], b[e]) {
						continue
					}
					if a[e] == nil || b[e] == nil {
						return nil, false
					}
					n, ok := leaf(*a[e], *b[e])
					if !ok {
						return nil, false
					}
					binds = append(binds, binding{leaf: n, list: i, param: j, elem: e})
				}
			default:
				return nil, false
			}
		}
	}
	return binds, true
}

// sameShape: p and q are the same plan but for their parameters' values.
// Everything else is compared whole, so that a field added to a plan's
// parts is compared too.
func sameShape(p, q *plan) bool {
	if len(p.stmts) != len(q.stmts) || len(p.mutation) != len(q.mutation) || len(p.joins) != len(q.joins) ||
		p.wholeSession != q.wholeSession || p.subscribe != q.subscribe || !slices.Equal(p.sessionVars, q.sessionVars) ||
		!reflect.DeepEqual(p.fields, q.fields) {
		return false
	}
	for i, s := range p.stmts {
		if !sameBut(*s, *q.stmts[i], func(s *statement) *[]any { return &s.params }) {
			return false
		}
	}
	for i, f := range p.mutation {
		g := q.mutation[i]
		if len(f.steps) != len(g.steps) || !sameBut(*f, *g, func(f *mutField) *[]*mstep { return &f.steps }) {
			return false
		}
		for j, s := range f.steps {
			if !sameBut(*s, *g.steps[j], func(s *mstep) *[]any { return &s.params }) {
				return false
			}
		}
	}
	for i, j := range p.joins {
		if !sameBut(*j, *q.joins[i], func(j *remoteJoin) *[]any { return &j.params }) {
			return false
		}
	}
	return true
}

// sameBut compares a and b but for the slice field picks out, of which
// only the lengths must agree.
func sameBut[T any, E any](a, b T, field func(*T) *[]E) bool {
	fa, fb := field(&a), field(&b)
	if len(*fa) != len(*fb) {
		return false
	}
	*fa, *fb = nil, nil
	return reflect.DeepEqual(a, b)
}

// bind is the template p with the leaves in place. Only what changes is
// copied: the statements and steps whose parameters are bound.
func bind(p *plan, binds []binding, leaves []string) *plan {
	if len(binds) == 0 {
		return p
	}
	lists := paramLists(p)
	fresh := make([][]any, len(lists))
	for _, b := range binds {
		if fresh[b.list] == nil {
			fresh[b.list] = slices.Clone(lists[b.list])
		}
		v := leaves[b.leaf]
		if b.elem < 0 {
			fresh[b.list][b.param] = v
			continue
		}
		list, _ := fresh[b.list][b.param].([]*string)
		if !bindsBefore(binds, b) {
			list = slices.Clone(list)
			fresh[b.list][b.param] = list
		}
		list[b.elem] = &v
	}
	q := p.clone()
	i := 0
	q.stmts = rebind(p.stmts, fresh, &i, func(s *statement) *[]any { return &s.params })
	for n, f := range p.mutation {
		steps := rebind(f.steps, fresh, &i, func(s *mstep) *[]any { return &s.params })
		if !sameSlice(steps, f.steps) {
			if sameSlice(q.mutation, p.mutation) {
				q.mutation = slices.Clone(p.mutation)
			}
			g := *f
			g.steps = steps
			q.mutation[n] = &g
		}
	}
	q.joins = rebind(p.joins, fresh, &i, func(j *remoteJoin) *[]any { return &j.params })
	return q
}

// rebind is items with the parameters of those whose list (counted from
// *next, in paramLists' order) is fresh replaced; the others, and items
// itself when none is, are shared.
func rebind[T any](items []*T, fresh [][]any, next *int, params func(*T) *[]any) []*T {
	out := items
	for n, it := range items {
		if f := fresh[*next]; f != nil {
			if sameSlice(out, items) {
				out = slices.Clone(items)
			}
			c := *it
			*params(&c) = f
			out[n] = &c
		}
		*next++
	}
	return out
}

// clone is a shallow copy of p without its live twin, which belongs to
// the values p was compiled from. (TestPlanFieldsAreBound keeps this in
// step with the plan's fields.)
func (p *plan) clone() *plan {
	return &plan{fields: p.fields, stmts: p.stmts, mutation: p.mutation, sessionVars: p.sessionVars,
		wholeSession: p.wholeSession, subscribe: p.subscribe, joins: p.joins}
}

// bindsBefore: an earlier binding already cloned b's list parameter.
func bindsBefore(binds []binding, b binding) bool {
	for _, o := range binds {
		if o == b {
			return false
		}
		if o.list == b.list && o.param == b.param && o.elem >= 0 {
			return true
		}
	}
	return false
}

// sameSlice: a and b are the same slice (not merely equal ones).
func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
