package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Comparison: JSON equality where list order always matters, numbers
// compare by value (1 == 1.0) and object key order is ignored, except in
// GraphQL results, where the selection set fixes the order of fields and
// Hasura's own tests check it (orderRule below).

// orderRule says which objects of a response must keep the expected key
// order. A nil rule checks no order.
//
// Hasura's runner walks the query's selection set alongside the result to
// know which objects are selection-set results. We use a simpler heuristic
// that needs no schema: collect every response name (alias, else field
// name) of every field in the query document, fragments included; an
// object under "data" is a selection-set result, and so order-checked, iff
// all its keys are among those names. Objects from JSON columns or
// scalars normally have keys outside that set and stay unordered; a JSON
// value whose keys all happen to be field names would be order-checked too,
// a rare false positive we accept. When the query does not parse there is
// no rule.
type orderRule struct {
	names map[string]bool
}

// orders reports whether obj's key order is significant.
func (r *orderRule) orders(obj Value) bool {
	if r == nil || r.names == nil {
		return false
	}
	for _, m := range obj.Obj {
		if !r.names[m.Key] {
			return false
		}
	}
	return true
}

// ruleFor builds the order rule for a request: only GraphQL endpoints get
// one; a batched request (a list of queries) uses the names of all of them.
func ruleFor(url string, query *Value) *orderRule {
	if !isGraphQLURL(url) || query == nil {
		return nil
	}
	var texts []string
	switch query.Kind {
	case KindObject:
		texts = append(texts, queryText(*query))
	case KindArray:
		for _, q := range query.Arr {
			texts = append(texts, queryText(q))
		}
	}
	names := map[string]bool{}
	for _, t := range texts {
		if t == "" {
			return nil
		}
		ns, ok := responseNames(t)
		if !ok {
			return nil
		}
		for n := range ns {
			names[n] = true
		}
	}
	if len(texts) == 0 {
		return nil
	}
	return &orderRule{names: names}
}

// queryText is the GraphQL text of a request body ("" if none).
func queryText(q Value) string {
	if t, ok := q.Get("query"); ok && t.Kind == KindString {
		return t.Str
	}
	return ""
}

// isGraphQLURL reports whether a case URL is a GraphQL endpoint
// (/v1/graphql, /v1alpha1/graphql, /v1beta1/relay): those responses get
// field-order checks and can be sent over a websocket.
func isGraphQLURL(u string) bool {
	p := urlPath(u)
	return strings.HasSuffix(p, "/graphql") || strings.HasSuffix(p, "/relay")
}

func urlPath(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// order contexts of the walk: objects are order-checked only under "data".
type orderCtx uint8

const (
	ctxTop    orderCtx = iota // the response itself, or a batch element
	ctxData                   // inside a "data" member
	ctxNoData                 // elsewhere (errors, extensions, ...)
)

// compareBody returns "" when got matches exp, else the first difference as
// "<json path>: <what>".
func compareBody(exp, got Value, rule *orderRule) string {
	return diff("$", exp, got, rule, ctxTop)
}

func diff(path string, exp, got Value, rule *orderRule, ctx orderCtx) string {
	if exp.Kind != got.Kind {
		return fmt.Sprintf("%s: expected %s, got %s", path, short(exp), short(got))
	}
	switch exp.Kind {
	case KindNull:
		return ""
	case KindBool:
		if exp.Bool != got.Bool {
			return fmt.Sprintf("%s: expected %t, got %t", path, exp.Bool, got.Bool)
		}
	case KindNumber:
		if !numEqual(exp.Num, got.Num) {
			return fmt.Sprintf("%s: expected %s, got %s", path, exp.Num, got.Num)
		}
	case KindString:
		if exp.Str != got.Str {
			return fmt.Sprintf("%s: expected %s, got %s", path, short(exp), short(got))
		}
	case KindArray:
		if len(exp.Arr) != len(got.Arr) {
			return fmt.Sprintf("%s: expected %d elements, got %d: expected %s, got %s",
				path, len(exp.Arr), len(got.Arr), short(exp), short(got))
		}
		for i := range exp.Arr {
			if d := diff(path+"["+strconv.Itoa(i)+"]", exp.Arr[i], got.Arr[i], rule, ctx); d != "" {
				return d
			}
		}
	case KindObject:
		return diffObject(path, exp, got, rule, ctx)
	}
	return ""
}

func diffObject(path string, exp, got Value, rule *orderRule, ctx orderCtx) string {
	for _, m := range exp.Obj {
		if _, ok := got.Get(m.Key); !ok {
			return fmt.Sprintf("%s: missing key %s, got %s", path, strconv.Quote(m.Key), short(got))
		}
	}
	for _, m := range got.Obj {
		if _, ok := exp.Get(m.Key); !ok {
			return fmt.Sprintf("%s: unexpected key %s (value %s)", path, strconv.Quote(m.Key), short(m.Val))
		}
	}
	for _, m := range exp.Obj {
		child := ctx
		switch {
		case ctx == ctxTop && m.Key == "data":
			child = ctxData
		case ctx == ctxTop:
			child = ctxNoData
		}
		g, _ := got.Get(m.Key)
		if d := diff(childPath(path, m.Key), m.Val, g, rule, child); d != "" {
			return d
		}
	}
	// Values first, order last: a wrong value says more than a wrong order.
	if ctx == ctxData && rule.orders(exp) {
		ek, gk := keys(exp), keys(got)
		if strings.Join(ek, "\x00") != strings.Join(gk, "\x00") {
			return fmt.Sprintf("%s: key order: expected [%s], got [%s]", path, strings.Join(ek, " "), strings.Join(gk, " "))
		}
	}
	return ""
}

func keys(v Value) []string {
	out := make([]string, len(v.Obj))
	for i, m := range v.Obj {
		out[i] = m.Key
	}
	return out
}

var identKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func childPath(path, key string) string {
	if identKey.MatchString(key) {
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

// compareHeaders checks expected response headers: present, equal value,
// names case-insensitive (several values join with ", " as in Python's
// requests).
func compareHeaders(exp []Header, got http.Header) string {
	for _, h := range exp {
		vs := got.Values(h.Name)
		if len(vs) == 0 {
			return fmt.Sprintf("resp_headers: missing header %s", h.Name)
		}
		if v := strings.Join(vs, ", "); v != h.Value {
			return fmt.Sprintf("resp_headers: %s: expected %s, got %s", h.Name, strconv.Quote(h.Value), truncate(strconv.Quote(v), 200))
		}
	}
	return ""
}

// short is a value as compact JSON, cut to fit on a report line.
func short(v Value) string {
	return truncate(v.String(), 200)
}

// truncate cuts s to about n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
