package metadata

// Writing decoded JSON values byte for byte as aeson does: object keys
// sorted (aeson's KeyMap is a Map), strings escaped as aeson escapes them,
// numbers rendered as aeson renders a Scientific.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/strata-dev/strata/engine/aeson"
)

// appendValue appends v: nil, bool, json.Number, string, []any,
// map[string]any or ordered.
func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case json.Number:
		return append(b, aesonNumber(string(x))...), nil
	case string:
		return aeson.AppendString(b, x), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = aeson.AppendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, x[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case ordered:
		b = append(b, '{')
		for i, m := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = aeson.AppendString(b, m.key)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, m.val); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("cannot encode %T", v)
}

// marshalValue encodes a decoded value as aeson does.
func marshalValue(v any) ([]byte, error) { return appendValue(nil, v) }

// aesonNumber renders a JSON number literal as aeson writes the Scientific
// it parses to (Data.Aeson.Encoding.Builder.scientific): exactly as an
// integer when the exponent is between 0 and 1024 (1e3 -> 1000, 1.5e3 ->
// 1500), else in Data.Scientific's Generic format: fixed notation with at
// least one decimal (10.0, 0.5, 2.50 -> 2.5) for values from 0.1 to
// 10^7, exponent notation otherwise (0.01 -> 1.0e-2). A literal whose
// exponent does not fit an int is kept as it is.
func aesonNumber(lit string) string {
	neg, coeff, exp, ok := splitNumber(lit)
	if !ok {
		return lit
	}
	sign := ""
	if neg && coeff != "" {
		sign = "-"
	}
	if exp >= 0 && exp <= 1024 {
		if coeff == "" {
			return "0"
		}
		return sign + coeff + strings.Repeat("0", exp)
	}
	if coeff == "" {
		return "0.0"
	}
	// value = 0.digits * 10^e, digits without trailing zeros.
	e := len(coeff) + exp
	digits := strings.TrimRight(coeff, "0")
	if e < 0 || e > 7 {
		rest := digits[1:]
		if rest == "" {
			rest = "0"
		}
		return sign + digits[:1] + "." + rest + "e" + strconv.Itoa(e-1)
	}
	if e == 0 {
		return sign + "0." + digits
	}
	if len(digits) <= e {
		return sign + digits + strings.Repeat("0", e-len(digits)) + ".0"
	}
	return sign + digits[:e] + "." + digits[e:]
}

// splitNumber reads a JSON number literal as value = ±coeff × 10^exp, the
// way aeson's parser builds a Scientific: coeff is every digit written,
// leading zeros dropped ("" for zero), exp the written exponent less the
// number of decimals. false when the exponent does not fit an int.
func splitNumber(lit string) (neg bool, coeff string, exp int, ok bool) {
	neg = strings.HasPrefix(lit, "-")
	s := strings.TrimPrefix(lit, "-")
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || e > 1<<30 || e < -(1<<30) {
			return false, "", 0, false
		}
		exp, s = e, s[:i]
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		exp -= len(s) - i - 1
		s = s[:i] + s[i+1:]
	}
	return neg, strings.TrimLeft(s, "0"), exp, true
}

// normalNumber is a number's value in one spelling: sign, digits without
// trailing zeros, exponent; zero is ("", 0) without sign.
func normalNumber(lit string) (neg bool, digits string, exp int, ok bool) {
	neg, coeff, exp, ok := splitNumber(lit)
	if !ok {
		return false, "", 0, false
	}
	digits = strings.TrimRight(coeff, "0")
	if digits == "" {
		return false, "", 0, true
	}
	return neg, digits, exp + len(coeff) - len(digits), true
}
