package pgmeta

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// DDL cannot take bind parameters, so the write endpoints build statements
// from user input. Every name goes through ident, every value through
// literal, types through sqlType (a small parser that only lets a type
// name, modifiers and array brackets through), and keywords (PERMISSIVE,
// CASCADE, ...) are chosen from fixed lists. The only raw SQL accepted is
// what the API defines as an SQL expression (a column default with
// default_value_format "expression", a CHECK, a policy's USING / WITH
// CHECK): those are SQL by contract, as in postgres-meta. Every generated
// statement is sent on its own with the extended protocol, which refuses
// more than one statement, so such an expression cannot smuggle in a
// second statement.

// ident quotes one identifier (or a dotted path given as parts).
func ident(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

// literal quotes s as a string constant, the way libpq's PQescapeLiteral
// does: quotes are doubled, and when s has a backslash it is written as
// E'...' with backslashes doubled, so the result means s whatever
// standard_conforming_strings is. NUL bytes (which text cannot hold) are
// dropped.
func literal(s string) string {
	s = strings.ReplaceAll(s, "\x00", "")
	q := strings.ReplaceAll(s, "'", "''")
	if strings.Contains(q, `\`) {
		return "E'" + strings.ReplaceAll(q, `\`, `\\`) + "'"
	}
	return "'" + q + "'"
}

var jsonNumberRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// jsonValueLiteral renders a JSON value as an SQL constant, as
// postgres-meta's pg-format literal() does for a column default:
// strings quoted, numbers as numbers, booleans, NULL, and arrays/objects
// as their JSON text.
func jsonValueLiteral(raw json.RawMessage) (string, error) {
	var v any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "", err
	}
	switch x := v.(type) {
	case nil:
		return "NULL", nil
	case string:
		return literal(x), nil
	case bool:
		if x {
			return "true", nil
		}
		return "false", nil
	case json.Number:
		if !jsonNumberRE.MatchString(x.String()) {
			return "", fmt.Errorf("bad number")
		}
		return x.String(), nil
	default:
		return literal(string(raw)), nil
	}
}

// multiWordTypes are the SQL-standard type names made of several keywords;
// they are let through verbatim (normalised) rather than quoted.
var multiWordTypes = map[string]bool{
	"double precision":            true,
	"character varying":           true,
	"char varying":                true,
	"national character":          true,
	"national character varying":  true,
	"bit varying":                 true,
	"timestamp with time zone":    true,
	"timestamp without time zone": true,
	"time with time zone":         true,
	"time without time zone":      true,
}

var simpleLowerIdent = regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`)

// sqlType turns a type as postgres-meta's clients send it ("int8",
// "text[]", "varchar(255)", "public.my_enum", "double precision",
// `"My Type"`) into safe SQL. A lower-case plain word is written as is (so
// keyword types such as "integer" keep working); any other name part is
// quoted. Modifiers must be integers. Anything else is rejected.
func sqlType(s string) (string, error) {
	bad := fmt.Errorf("invalid type %q", s)
	in := strings.TrimSpace(s)
	if in == "" {
		return "", bad
	}
	var out strings.Builder
	i := 0
	skipSpace := func() {
		for i < len(in) && in[i] == ' ' {
			i++
		}
	}
	// multi-word standard names: a run of letters and spaces up to the end,
	// "(" or "[" that has more than one word must be one of them.
	j := 0
	for j < len(in) && (in[j] == ' ' || (in[j] >= 'a' && in[j] <= 'z') || (in[j] >= 'A' && in[j] <= 'Z')) {
		j++
	}
	matchedMulti := false
	if words := strings.Fields(in[:j]); len(words) > 1 && (j == len(in) || in[j] == '(' || in[j] == '[') {
		name := strings.ToLower(strings.Join(words, " "))
		if !multiWordTypes[name] {
			return "", bad
		}
		out.WriteString(name)
		i = j
		matchedMulti = true
	}
	if !matchedMulti {
		// [schema.]name, each part plain or "quoted"
		for part := 0; ; part++ {
			if part > 1 {
				return "", bad
			}
			if i < len(in) && in[i] == '"' {
				j := i + 1
				var b strings.Builder
				for {
					if j >= len(in) {
						return "", bad
					}
					if in[j] == '"' {
						if j+1 < len(in) && in[j+1] == '"' {
							b.WriteByte('"')
							j += 2
							continue
						}
						break
					}
					b.WriteByte(in[j])
					j++
				}
				if b.Len() == 0 {
					return "", bad
				}
				out.WriteString(ident(b.String()))
				i = j + 1
			} else {
				j := i
				for j < len(in) && (isIdentByte(in[j]) || in[j] >= 0x80) {
					j++
				}
				if j == i || (in[i] >= '0' && in[i] <= '9') || in[i] == '$' {
					return "", bad
				}
				w := in[i:j]
				if simpleLowerIdent.MatchString(w) {
					out.WriteString(w)
				} else {
					out.WriteString(ident(w))
				}
				i = j
			}
			if i < len(in) && in[i] == '.' {
				out.WriteByte('.')
				i++
				continue
			}
			break
		}
	}
	skipSpace()
	// (n[, m])
	if i < len(in) && in[i] == '(' {
		i++
		out.WriteByte('(')
		for n := 0; ; n++ {
			skipSpace()
			j := i
			for j < len(in) && in[j] >= '0' && in[j] <= '9' {
				j++
			}
			if j == i {
				return "", bad
			}
			if n > 0 {
				out.WriteByte(',')
			}
			out.WriteString(in[i:j])
			i = j
			skipSpace()
			if i < len(in) && in[i] == ',' {
				i++
				continue
			}
			if i < len(in) && in[i] == ')' {
				i++
				out.WriteByte(')')
				break
			}
			return "", bad
		}
	}
	// [] or [n], any number of times
	for {
		skipSpace()
		if i >= len(in) || in[i] != '[' {
			break
		}
		j := i + 1
		for j < len(in) && in[j] >= '0' && in[j] <= '9' {
			j++
		}
		if j >= len(in) || in[j] != ']' {
			return "", bad
		}
		out.WriteString(in[i : j+1])
		i = j + 1
	}
	skipSpace()
	if i != len(in) {
		return "", bad
	}
	return out.String(), nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
