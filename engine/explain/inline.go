package explain

import (
	"strconv"
	"strings"
)

// inlineParams writes a statement's parameters into its text as SQL
// literals, as Hasura's explain shows its SQL: a statement a user can
// paste into psql. The plan itself is still taken with the parameters
// bound. A parameter whose value has no literal form here is left as $n.
func inlineParams(sql string, args []any) string {
	var b strings.Builder
	b.Grow(len(sql) + 16*len(args))
	for i := 0; i < len(sql); {
		switch c := sql[i]; c {
		case '\'', '"':
			// a string literal or quoted identifier: copied whole, a
			// doubled quote being an escaped one
			j := i + 1
			for j < len(sql) {
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(sql))
			b.WriteString(sql[i:end])
			i = end
		case '$':
			j := i + 1
			for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
				j++
			}
			n, err := strconv.Atoi(sql[i+1 : j])
			lit, ok := "", false
			if err == nil && n >= 1 && n <= len(args) && (i == 0 || !isIdentByte(sql[i-1])) {
				lit, ok = literal(args[n-1])
			}
			if !ok {
				b.WriteString(sql[i:j])
			} else {
				b.WriteString(lit)
			}
			i = max(j, i+1)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// isIdentByte: a $ after one of these is part of a name (a$1), not a
// parameter.
func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// literal is v as SQL: strings quoted (standard_conforming_strings, as
// every supported Postgres has it on), text lists as ARRAY[...].
func literal(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "NULL", true
	case string:
		return quote(x), true
	case []string:
		items := make([]string, len(x))
		for i, s := range x {
			items[i] = quote(s)
		}
		return "ARRAY[" + strings.Join(items, ", ") + "]::text[]", true
	case []*string:
		items := make([]string, len(x))
		for i, s := range x {
			items[i] = "NULL"
			if s != nil {
				items[i] = quote(*s)
			}
		}
		return "ARRAY[" + strings.Join(items, ", ") + "]::text[]", true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}

func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
