package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// QualifiedName names a schema-scoped Postgres object: a table, view,
// function or type. The zero Schema means "unqualified"; everything Load
// returns is qualified.
type QualifiedName struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
}

// String renders the name as SQL, each part double-quoted only when
// Postgres' quote_ident would quote it (not a plain lower-case identifier,
// or a keyword that is not unreserved): public.users, "Shop"."Order Items",
// public."user". An empty Schema renders the name alone.
func (q QualifiedName) String() string {
	if q.Schema == "" {
		return QuoteIdent(q.Name)
	}
	return QuoteIdent(q.Schema) + "." + QuoteIdent(q.Name)
}

// Less orders names by schema, then name (byte-wise), the order every
// sorted listing in this package uses.
func (q QualifiedName) Less(o QualifiedName) bool {
	if q.Schema != o.Schema {
		return q.Schema < o.Schema
	}
	return q.Name < o.Name
}

func compareNames(a, b QualifiedName) int {
	switch {
	case a.Less(b):
		return -1
	case b.Less(a):
		return 1
	}
	return 0
}

// MarshalJSON encodes the name as {"schema":..,"name":..}, the shape Hasura
// metadata uses for qualified tables and functions.
func (q QualifiedName) MarshalJSON() ([]byte, error) {
	type plain QualifiedName
	return json.Marshal(plain(q))
}

// UnmarshalJSON accepts the object form, or a string in the String() form.
func (q *QualifiedName) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		return q.UnmarshalText([]byte(s))
	}
	type plain QualifiedName
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*q = QualifiedName(p)
	return nil
}

// MarshalText is String(); it lets a map keyed by QualifiedName (such as
// Catalog.Tables) encode as a JSON object.
func (q QualifiedName) MarshalText() ([]byte, error) { return []byte(q.String()), nil }

// UnmarshalText parses the String() form; see ParseQualifiedName.
func (q *QualifiedName) UnmarshalText(b []byte) error {
	n, err := ParseQualifiedName(string(b))
	if err != nil {
		return err
	}
	*q = n
	return nil
}

// ParseQualifiedName parses `schema.name` or `name` as SQL would: each part
// either double-quoted (with "" for a quote, case kept) or bare (folded to
// lower case). It is the inverse of String.
func ParseQualifiedName(s string) (QualifiedName, error) {
	var parts []string
	rest := s
	for {
		part, r, err := parseIdent(rest)
		if err != nil {
			return QualifiedName{}, fmt.Errorf("catalog: invalid qualified name %q: %w", s, err)
		}
		parts = append(parts, part)
		if r == "" {
			break
		}
		if r[0] != '.' || len(parts) == 2 {
			return QualifiedName{}, fmt.Errorf("catalog: invalid qualified name %q: unexpected %q", s, r)
		}
		rest = r[1:]
	}
	if len(parts) == 1 {
		return QualifiedName{Name: parts[0]}, nil
	}
	return QualifiedName{Schema: parts[0], Name: parts[1]}, nil
}

func parseIdent(s string) (ident, rest string, err error) {
	if s == "" {
		return "", "", errors.New("empty identifier")
	}
	if s[0] == '"' {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] != '"' {
				b.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == '"' {
				b.WriteByte('"')
				i++
				continue
			}
			if b.Len() == 0 {
				return "", "", errors.New("zero-length quoted identifier")
			}
			return b.String(), s[i+1:], nil
		}
		return "", "", errors.New("unterminated quoted identifier")
	}
	end := strings.IndexByte(s, '.')
	if end < 0 {
		end = len(s)
	}
	if end == 0 {
		return "", "", errors.New("empty identifier")
	}
	if strings.ContainsAny(s[:end], "\" \t\n") {
		return "", "", fmt.Errorf("bad bare identifier %q", s[:end])
	}
	return strings.ToLower(s[:end]), s[end:], nil
}

// QuoteIdent quotes an identifier exactly when Postgres' quote_ident would:
// unless it is made only of a-z, 0-9 and _ , does not start with a digit,
// and is not a keyword other than an unreserved one.
func QuoteIdent(s string) string {
	if s != "" && !(s[0] >= '0' && s[0] <= '9') && !quoteKeywords[s] {
		safe := true
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				safe = false
				break
			}
		}
		if safe {
			return s
		}
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteKeywords are the keywords quote_ident quotes: Postgres 15's
// pg_get_keywords() with catcode <> 'U' (reserved, type/function-name and
// column-name keywords), plus the ones Postgres 16 and 17 added, so a name
// renders safely on any supported server (over-quoting is harmless).
var quoteKeywords = func() map[string]bool {
	words := []string{
		"all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization",
		"between", "bigint", "binary", "bit", "boolean", "both", "case", "cast", "char", "character",
		"check", "coalesce", "collate", "collation", "column", "concurrently", "constraint", "create",
		"cross", "current_catalog", "current_date", "current_role", "current_schema", "current_time",
		"current_timestamp", "current_user", "dec", "decimal", "default", "deferrable", "desc",
		"distinct", "do", "else", "end", "except", "exists", "extract", "false", "fetch", "float", "for",
		"foreign", "freeze", "from", "full", "grant", "greatest", "group", "grouping", "having", "ilike",
		"in", "initially", "inner", "inout", "int", "integer", "intersect", "interval", "into", "is",
		"isnull", "join", "lateral", "leading", "least", "left", "like", "limit", "localtime",
		"localtimestamp", "national", "natural", "nchar", "none", "normalize", "not", "notnull", "null",
		"nullif", "numeric", "offset", "on", "only", "or", "order", "out", "outer", "overlaps", "overlay",
		"placing", "position", "precision", "primary", "real", "references", "returning", "right", "row",
		"select", "session_user", "setof", "similar", "smallint", "some", "substring", "symmetric",
		"table", "tablesample", "then", "time", "timestamp", "to", "trailing", "treat", "trim", "true",
		"union", "unique", "user", "using", "values", "varchar", "variadic", "verbose", "when", "where",
		"window", "with", "xmlattributes", "xmlconcat", "xmlelement", "xmlexists", "xmlforest",
		"xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmltable",
		// Postgres 16 and 17.
		"system_user", "json", "json_array", "json_arrayagg", "json_exists", "json_object",
		"json_objectagg", "json_query", "json_scalar", "json_serialize", "json_table", "json_value",
		"merge_action",
	}
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}()
