package kriti

import (
	"maps"
	"slices"
	"strings"
)

// evaluator runs a parsed template. Its order of evaluation is Kriti's,
// because it decides which error a template with several gets.
type evaluator struct {
	funcs Funcs
}

// scope is the variables in force: the caller's, under those of the
// ranges being run.
type scope struct {
	vars   map[string]any
	parent *scope
}

func (s *scope) lookup(name string) (any, bool) {
	for ; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

func (ev *evaluator) eval(n node, sc *scope) (any, *Error) {
	switch n := n.(type) {
	case *strNode:
		return n.val, nil
	case *numNode:
		return n.val, nil
	case *boolNode:
		return n.val, nil
	case *nullNode:
		return nil, nil
	case *tmplNode:
		return ev.template(n, sc)
	case *arrayNode:
		out := make([]any, len(n.elems))
		for i, e := range n.elems {
			v, err := ev.eval(e, sc)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case *objectNode:
		out := make(map[string]any, len(n.fields))
		// Kriti's objects are maps in key order, evaluated in that order.
		for _, k := range slices.Sorted(maps.Keys(n.fields)) {
			v, err := ev.eval(n.fields[k], sc)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	case *varNode:
		if v, ok := sc.lookup(n.name); ok {
			return v, nil
		}
		return nil, &Error{CodeName, "Variable '" + n.name + "' not in scope", n.sp}
	case *fieldNode:
		return ev.field(n, sc)
	case *optionalNode:
		return ev.optional(n, sc)
	case *ifNode:
		return ev.ifElse(n, sc)
	case *binaryNode:
		return ev.binary(n, sc)
	case *rangeNode:
		return ev.rangeOver(n, sc)
	case *callNode:
		arg, err := ev.eval(n.arg, sc)
		if err != nil {
			return nil, err
		}
		f, ok := ev.funcs.lookup(n.name)
		if !ok {
			return nil, &Error{CodeName, "Variable '" + n.name + "' not in scope", n.sp}
		}
		v, ferr := f(arg)
		if ferr != nil {
			return nil, &Error{CodeFunction, ferr.Error(), n.arg.span()}
		}
		return v, nil
	}
	panic("kriti: unknown node")
}

// template concatenates a string template's pieces, writing non-strings
// as JSON.
func (ev *evaluator) template(n *tmplNode, sc *scope) (any, *Error) {
	var b strings.Builder
	for _, part := range n.parts {
		v, err := ev.eval(part, sc)
		if err != nil {
			return nil, err
		}
		if s, ok := v.(string); ok {
			b.WriteString(s)
		} else {
			b.Write(Encode(v))
		}
	}
	return b.String(), nil
}

// field is a required lookup: a missing key, a bad index or a value of
// the wrong type is an error.
func (ev *evaluator) field(n *fieldNode, sc *scope) (any, *Error) {
	obj, err := ev.eval(n.obj, sc)
	if err != nil {
		return nil, err
	}
	if n.index == nil {
		m, ok := obj.(map[string]any)
		if !ok {
			return nil, typeError(n.obj.span(), obj, "Object")
		}
		return attribute(m, n.name, n.sp)
	}
	switch o := obj.(type) {
	case map[string]any:
		key, err := ev.eval(n.index, sc)
		if err != nil {
			return nil, err
		}
		s, ok := key.(string)
		if !ok {
			return nil, typeError(n.obj.span(), key, "String")
		}
		return attribute(o, s, n.sp)
	case []any:
		key, err := ev.eval(n.index, sc)
		if err != nil {
			return nil, err
		}
		d, ok := numberOf(key)
		if !ok {
			return nil, typeError(n.sp, key, "Integer")
		}
		i, ok := d.int64()
		if !ok {
			return nil, typeError(n.sp, key, "Integer")
		}
		if i < 0 || i >= int64(len(o)) {
			// Kriti's message for an index out of range.
			return nil, &Error{CodeIndex, "Can only range over an array", n.sp}
		}
		return o[i], nil
	}
	return nil, typeError(n.obj.span(), obj, "Object")
}

func attribute(m map[string]any, key string, sp Span) (any, *Error) {
	if v, ok := m[key]; ok {
		return v, nil
	}
	// Kriti itself says "attritubte"; Hasura's tests (and English) say
	// "attribute".
	return nil, &Error{CodeAttribute, "'Object' has no attribute '" + key + "'.", sp}
}

// optional is obj?.a[b]...: null wherever the chain breaks, and null if
// obj itself fails to evaluate. The keys are evaluated (last first, as
// Kriti does) and their errors are not hidden.
func (ev *evaluator) optional(n *optionalNode, sc *scope) (any, *Error) {
	obj, err := ev.eval(n.obj, sc)
	if err != nil {
		obj = nil
	}
	keys := make([]any, len(n.path))
	for i := len(n.path) - 1; i >= 0; i-- {
		step := n.path[i]
		if step.index == nil {
			keys[i] = step.name
			continue
		}
		k, err := ev.eval(step.index, sc)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	switch obj.(type) {
	case map[string]any, []any:
	case nil:
		return nil, nil
	default:
		return nil, typeError(n.obj.span(), obj, "Object")
	}
	v := obj
	for _, k := range keys {
		switch c := v.(type) {
		case map[string]any:
			s, ok := k.(string)
			if !ok {
				return nil, nil
			}
			if v, ok = c[s]; !ok {
				return nil, nil
			}
		case []any:
			d, ok := numberOf(k)
			if !ok {
				return nil, nil
			}
			i, ok := d.int64()
			if !ok || i < 0 || i >= int64(len(c)) {
				return nil, nil
			}
			v = c[i]
		default:
			return nil, nil
		}
	}
	return v, nil
}

func (ev *evaluator) ifElse(n *ifNode, sc *scope) (any, *Error) {
	branches := append([]elifNode{{sp: n.sp, cond: n.cond, then: n.then}}, n.elifs...)
	for _, b := range branches {
		c, err := ev.eval(b.cond, sc)
		if err != nil {
			return nil, err
		}
		t, ok := c.(bool)
		if !ok {
			return nil, typeError(b.sp, c, "Boolean")
		}
		if t {
			return ev.eval(b.then, sc)
		}
	}
	return ev.eval(n.els, sc)
}

func (ev *evaluator) binary(n *binaryNode, sc *scope) (any, *Error) {
	l, err := ev.eval(n.l, sc)
	if err != nil {
		return nil, err
	}
	if n.op == "??" {
		if l != nil {
			return l, nil
		}
		return ev.eval(n.r, sc)
	}
	r, err := ev.eval(n.r, sc)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "==":
		return equal(l, r), nil
	case "!=":
		return !equal(l, r), nil
	case "<":
		return compare(l, r) < 0, nil
	case ">":
		return compare(l, r) > 0, nil
	case "<=":
		return compare(l, r) <= 0, nil
	case ">=":
		return compare(l, r) >= 0, nil
	case "&&", "||":
		p, pok := l.(bool)
		q, qok := r.(bool)
		switch {
		case !qok:
			return nil, typeError(n.sp, r, "Boolean")
		case !pok:
			return nil, typeError(n.sp, l, "Boolean")
		case n.op == "&&":
			return p && q, nil
		}
		return p || q, nil
	case "in":
		return in(n.sp, l, r)
	}
	panic("kriti: unknown operator " + n.op)
}

// in is key membership for an object, element membership for an array.
func in(sp Span, l, r any) (any, *Error) {
	switch c := r.(type) {
	case map[string]any:
		k, ok := l.(string)
		if !ok {
			return nil, typeError(sp, l, "String")
		}
		_, has := c[k]
		return has, nil
	case []any:
		for _, e := range c {
			if equal(l, e) {
				return true, nil
			}
		}
		return false, nil
	}
	return nil, typeError(sp, r, "Array")
}

func (ev *evaluator) rangeOver(n *rangeNode, sc *scope) (any, *Error) {
	over, err := ev.eval(n.over, sc)
	if err != nil {
		return nil, err
	}
	arr, ok := over.([]any)
	if !ok {
		return nil, typeError(n.sp, over, "Array")
	}
	out := make([]any, len(arr))
	for i, e := range arr {
		// The index is bound after the element, so it wins if both have
		// the same name.
		vars := map[string]any{n.elem: e}
		if n.index != "" {
			vars[n.index] = intNumber(int64(i))
		}
		v, err := ev.eval(n.body, &scope{vars: vars, parent: sc})
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
