package kriti

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Func is a Kriti function: one argument, one result. Its error becomes
// a "Function Error" at the argument, with the error's text as message.
type Func func(arg any) (any, error)

// Funcs are functions by name.
type Funcs map[string]Func

// lookup finds a function: the basic ones first, as Hasura's map union
// keeps them over same-named extra ones.
func (f Funcs) lookup(name string) (Func, bool) {
	if g, ok := basicFuncs[name]; ok {
		return g, true
	}
	g, ok := f[name]
	return g, ok
}

// basicFuncs are the functions every Hasura template has (Kriti's
// basicFuncMap).
var basicFuncs = Funcs{
	"empty":       emptyF,
	"size":        sizeF,
	"inverse":     inverseF,
	"head":        headF,
	"tail":        tailF,
	"toCaseFold":  stringF(caseFold),
	"toLower":     stringF(lower),
	"toUpper":     stringF(upper),
	"toTitle":     stringF(title),
	"escapeUri":   stringF(func(s string) string { return EscapeURI(s, Unreserved) }),
	"fromPairs":   fromPairsF,
	"toPairs":     toPairsF,
	"removeNulls": removeNullsF,
	"concat":      concatF,
	"not":         notF,
}

// expected is aeson's message for a value of the wrong type, which
// Kriti's functions pass on.
func expected(context, want string, v any) error {
	return errors.New("parsing " + context + " failed, expected " + want + ", but encountered " + typeName(v))
}

func emptyF(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0, nil
	case []any:
		return len(x) == 0, nil
	case string:
		return strip(x) == "", nil
	case bool:
		return nil, errors.New("Cannot define emptiness for a boolean")
	case nil:
		return true, nil
	}
	d, _ := numberOf(v)
	return d.sign() == 0, nil
}

func sizeF(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		return intNumber(int64(len(x))), nil
	case []any:
		return intNumber(int64(len(x))), nil
	case string:
		return intNumber(int64(utf8.RuneCountInString(x))), nil
	case bool:
		if x {
			return intNumber(1), nil
		}
		return intNumber(0), nil
	case nil:
		return intNumber(0), nil
	}
	if n, ok := asNumber(v); ok {
		return n, nil
	}
	return intNumber(0), nil
}

func inverseF(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any, nil:
		return x, nil
	case []any:
		out := slices.Clone(x)
		slices.Reverse(out)
		return out, nil
	case string:
		r := []rune(x)
		slices.Reverse(r)
		return string(r), nil
	case bool:
		return !x, nil
	}
	d, ok := numberOf(v)
	if !ok {
		return nil, nil
	}
	if d.sign() == 0 {
		// Haskell throws here (and Hasura answers 500).
		return nil, errors.New("divide by zero")
	}
	r, ok := reciprocal(d)
	if !ok {
		return nil, errors.New("the inverse of " + aesonNumber(d.text()) + " is a repeating decimal, which a JSON number cannot hold")
	}
	return r.text(), nil
}

func headF(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return nil, errors.New("Empty array")
		}
		return x[0], nil
	case string:
		if x == "" {
			return nil, errors.New("Empty string")
		}
		r, _ := utf8.DecodeRuneInString(x)
		return string(r), nil
	}
	return nil, errors.New("Expected an array or string")
}

// tailF drops the first element or character. Of an empty one Haskell's
// tail throws (a 500 in Hasura); here it is head's error.
func tailF(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return nil, errors.New("Empty array")
		}
		return slices.Clone(x[1:]), nil
	case string:
		if x == "" {
			return nil, errors.New("Empty string")
		}
		_, n := utf8.DecodeRuneInString(x)
		return x[n:], nil
	}
	return nil, errors.New("Expected an array or string")
}

// stringF makes a function of strings.
func stringF(f func(string) string) Func {
	return func(v any) (any, error) {
		s, ok := v.(string)
		if !ok {
			return nil, expected("String", "String", v)
		}
		return f(s), nil
	}
}

// EscapeURI is network-uri's escapeURIString: every byte of a character
// keep refuses becomes %XX (with Unreserved: kriti's escapeUri, and a form
// or query string's keys and values).
func EscapeURI(s string, keep func(byte) bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 && keep(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

// Unreserved is network-uri's isUnreserved: letters, digits, - . _ ~.
func Unreserved(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~'
}

func toPairsF(v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, expected("Object", "Object", v)
	}
	out := make([]any, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, []any{k, m[k]})
	}
	return out, nil
}

func fromPairsF(v any) (any, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, expected("Nested Arrays", "Array", v)
	}
	out := make(map[string]any, len(arr))
	for _, e := range arr {
		pair, ok := e.([]any)
		if !ok {
			return nil, expected("Array of Pair", "Array", e)
		}
		if len(pair) != 2 {
			return nil, errors.New("Expected an array of shape [ [k1,v1], [k2,v2] ... ] - With String keys.")
		}
		k, ok := pair[0].(string)
		if !ok {
			return nil, expected("Key", "String", pair[0])
		}
		out[k] = pair[1] // a later pair wins
	}
	return out, nil
}

func removeNullsF(v any) (any, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, expected("Array", "Array", v)
	}
	out := make([]any, 0, len(arr))
	for _, e := range arr {
		if kindOf(e) != kindNull {
			out = append(out, e)
		}
	}
	return out, nil
}

// concatF joins an array of arrays, of strings, or of objects (the
// rightmost object winning a key). Otherwise the error is that of the
// last thing tried, objects.
func concatF(v any) (any, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, expected("Array", "Array", v)
	}
	if all[[]any](arr) {
		out := []any{}
		for _, e := range arr {
			out = append(out, e.([]any)...)
		}
		return out, nil
	}
	if all[string](arr) {
		var b strings.Builder
		for _, e := range arr {
			b.WriteString(e.(string))
		}
		return b.String(), nil
	}
	out := map[string]any{}
	for _, e := range arr {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, expected("Nested Object", "Object", e)
		}
		for k, x := range m {
			out[k] = x
		}
	}
	return out, nil
}

func all[T any](arr []any) bool {
	for _, e := range arr {
		if _, ok := e.(T); !ok {
			return false
		}
	}
	return true
}

func notF(v any) (any, error) {
	b, ok := v.(bool)
	if !ok {
		return nil, expected("Bool", "Boolean", v)
	}
	return !b, nil
}
