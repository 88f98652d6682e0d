package kriti

import (
	"maps"
	"slices"
	"strings"
)

// Values are what encoding/json decodes into `any` with UseNumber: nil,
// bool, string, json.Number, []any and map[string]any. Kriti never
// modifies a value it is given; it builds new ones.

// kind is the constructor of a JSON value, in the order of aeson's
// derived Ord instance, which Kriti's <, >, <= and >= use.
type kind int

const (
	kindObject kind = iota
	kindArray
	kindString
	kindNumber
	kindBool
	kindNull
)

func kindOf(v any) kind {
	switch v.(type) {
	case map[string]any:
		return kindObject
	case []any:
		return kindArray
	case string:
		return kindString
	case bool:
		return kindBool
	case nil:
		return kindNull
	}
	if _, ok := numberOf(v); ok {
		return kindNumber
	}
	return kindNull
}

// typeName names a value's type in Kriti's error messages.
func typeName(v any) string {
	return [...]string{"Object", "Array", "String", "Number", "Boolean", "Null"}[kindOf(v)]
}

// equal is JSON equality: numbers by value, objects regardless of order.
func equal(a, b any) bool { return compare(a, b) == 0 }

// compare is aeson's derived ordering of values: first by constructor
// (Object < Array < String < Number < Boolean < Null), then by content;
// objects compare as their key-sorted lists of pairs.
func compare(a, b any) int {
	ka, kb := kindOf(a), kindOf(b)
	if ka != kb {
		if ka < kb {
			return -1
		}
		return 1
	}
	switch ka {
	case kindObject:
		return compareObjects(a.(map[string]any), b.(map[string]any))
	case kindArray:
		x, y := a.([]any), b.([]any)
		for i := 0; i < len(x) && i < len(y); i++ {
			if c := compare(x[i], y[i]); c != 0 {
				return c
			}
		}
		return compareInts(len(x), len(y))
	case kindString:
		return strings.Compare(a.(string), b.(string))
	case kindNumber:
		x, _ := numberOf(a)
		y, _ := numberOf(b)
		return cmpDecimal(x, y)
	case kindBool:
		x, y := a.(bool), b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	}
	return 0
}

func compareObjects(x, y map[string]any) int {
	kx, ky := slices.Sorted(maps.Keys(x)), slices.Sorted(maps.Keys(y))
	for i := 0; i < len(kx) && i < len(ky); i++ {
		if c := strings.Compare(kx[i], ky[i]); c != 0 {
			return c
		}
		if c := compare(x[kx[i]], y[ky[i]]); c != 0 {
			return c
		}
	}
	return compareInts(len(kx), len(ky))
}

func compareInts(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
