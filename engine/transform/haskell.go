package transform

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/strata-dev/strata/engine/kriti"
)

// Some of Hasura's messages embed Haskell's `show` of a value; these
// write the same text.

var asciiNames = [...]string{
	"NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "a", "b", "t", "n", "v", "f", "r", "SO", "SI",
	"DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US",
}

// hsShowString is `show` of a Haskell String: quoted, with Haskell's
// escapes (non-ASCII characters as decimal codes, "\&" where a digit or
// an 'H' would otherwise join the escape before it).
func hsShowString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	rs := []rune(s)
	for i, r := range rs {
		var next rune = -1
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r >= ' ' && r < 0x7f:
			b.WriteRune(r)
		case r == 0x7f:
			b.WriteString(`\DEL`)
		case r > 0x7f:
			b.WriteString(`\` + strconv.Itoa(int(r)))
			if '0' <= next && next <= '9' {
				b.WriteString(`\&`)
			}
		default:
			b.WriteString(`\` + asciiNames[r])
			if r == 0x0e && next == 'H' {
				b.WriteString(`\&`)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// hsShowValue is `show` of an aeson Value, at the precedence of a
// constructor's argument when nested.
func hsShowValue(v any, nested bool) string {
	paren := func(s string) string {
		if nested {
			return "(" + s + ")"
		}
		return s
	}
	switch x := v.(type) {
	case nil:
		return "Null"
	case bool:
		if x {
			return paren("Bool True")
		}
		return paren("Bool False")
	case string:
		return paren("String " + hsShowString(x))
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = hsShowValue(e, false)
		}
		return paren("Array [" + strings.Join(parts, ",") + "]")
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = "(" + hsShowString(k) + "," + hsShowValue(x[k], false) + ")"
		}
		return paren("Object (fromList [" + strings.Join(parts, ",") + "])")
	}
	n := kriti.ShowNumber(v)
	if strings.HasPrefix(n, "-") {
		n = "(" + n + ")"
	}
	return paren("Number " + n)
}
