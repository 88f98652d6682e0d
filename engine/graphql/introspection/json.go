package introspection

import (
	"strconv"
	"unicode/utf8"

	"github.com/vektah/gqlparser/v2/ast"
)

const hexLower = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json does
// with SetEscapeHTML(false): `"`, `\`, control characters (\b \f \n \r \t
// or \u00xx), U+2028 and U+2029; invalid UTF-8 becomes \ufffd.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscapedASCII(dst, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\u202`...)
			dst = append(dst, hexLower[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendEscapedASCII(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexLower[c>>4], hexLower[c&0xf])
}

// appendValue prints v as GraphQL source the way Hasura's printer does
// (graphql-parser Language.GraphQL.Draft.Printer.value, Text.Builder
// instance); see the package comment.
func appendValue(dst []byte, v *ast.Value) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	switch v.Kind {
	case ast.Variable:
		return append(append(dst, '$'), v.Raw...)
	case ast.IntValue:
		return appendInt(dst, v.Raw)
	case ast.FloatValue:
		return appendScientific(dst, v.Raw)
	case ast.StringValue, ast.BlockValue:
		return appendAesonString(dst, v.Raw)
	case ast.BooleanValue, ast.EnumValue:
		return append(dst, v.Raw...)
	case ast.NullValue:
		return append(dst, "null"...)
	case ast.ListValue:
		dst = append(dst, '[')
		for i, c := range v.Children {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendValue(dst, c.Value)
		}
		return append(dst, ']')
	case ast.ObjectValue:
		dst = append(dst, '{')
		for i, c := range v.Children {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, c.Name...)
			dst = append(dst, ':', ' ')
			dst = appendValue(dst, c.Value)
		}
		return append(dst, '}')
	}
	return append(dst, v.Raw...)
}

// appendAesonString quotes s as aeson's encode does, which is how Hasura's
// printer writes a GraphQL string value: \" \\ \n \r \t, other characters
// below U+0020 as \u00xx, everything else as is.
func appendAesonString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexLower[c>>4], hexLower[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendInt prints an integer literal as Haskell's Integer decimal: no
// leading zeros, no "-0".
func appendInt(dst []byte, raw string) []byte {
	neg, digits, ok := splitInt(raw)
	if !ok {
		return append(dst, raw...)
	}
	for len(digits) > 1 && digits[0] == '0' {
		digits = digits[1:]
	}
	if neg && digits != "0" {
		dst = append(dst, '-')
	}
	return append(dst, digits...)
}

func splitInt(raw string) (neg bool, digits string, ok bool) {
	if raw != "" && (raw[0] == '-' || raw[0] == '+') {
		neg, raw = raw[0] == '-', raw[1:]
	}
	if raw == "" {
		return false, "", false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] < '0' || raw[i] > '9' {
			return false, "", false
		}
	}
	return neg, raw, true
}

// appendScientific prints a float literal as Haskell's show for
// Data.Scientific: with the value as 0.d1d2…dn × 10^e (digits without
// leading or trailing zeros), 0 ≤ e ≤ 7 prints fixed ("1.5", "100.0",
// "0.5"), anything else in exponent form ("1.0e-2", "1.2345678e8"); zero
// is "0.0".
func appendScientific(dst []byte, raw string) []byte {
	neg, digits, exp, ok := parseDecimal(raw)
	if !ok {
		return append(dst, raw...)
	}
	if digits == "" {
		return append(dst, "0.0"...)
	}
	e := int64(len(digits)) + exp
	if neg {
		dst = append(dst, '-')
	}
	if e < 0 || e > 7 {
		dst = append(dst, digits[0], '.')
		if len(digits) == 1 {
			dst = append(dst, '0')
		} else {
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		return strconv.AppendInt(dst, e-1, 10)
	}
	if e == 0 {
		return append(append(dst, '0', '.'), digits...)
	}
	n := int(e)
	if n >= len(digits) {
		dst = append(dst, digits...)
		for i := len(digits); i < n; i++ {
			dst = append(dst, '0')
		}
		return append(dst, '.', '0')
	}
	dst = append(dst, digits[:n]...)
	dst = append(dst, '.')
	return append(dst, digits[n:]...)
}

// parseDecimal reads -?int(.frac)?([eE][+-]?exp)? as digits × 10^exp with
// digits stripped of leading and trailing zeros ("" for zero).
func parseDecimal(raw string) (neg bool, digits string, exp int64, ok bool) {
	s := raw
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intPart := s[:i]
	s = s[i:]
	frac := ""
	if s != "" && s[0] == '.' {
		j := 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		frac, s = s[1:j], s[j:]
	}
	if intPart == "" && frac == "" {
		return false, "", 0, false
	}
	if s != "" {
		if s[0] != 'e' && s[0] != 'E' {
			return false, "", 0, false
		}
		x, err := strconv.ParseInt(s[1:], 10, 64)
		if err != nil || x > 1<<40 || x < -(1<<40) {
			return false, "", 0, false
		}
		exp = x
	}
	all := intPart + frac
	exp -= int64(len(frac))
	k := 0
	for k < len(all) && all[k] == '0' {
		k++
	}
	all = all[k:]
	j := len(all)
	for j > 0 && all[j-1] == '0' {
		j--
	}
	exp += int64(len(all) - j)
	return neg, all[:j], exp, true
}
