package explain

import "testing"

func TestInlineParams(t *testing.T) {
	s := "x"
	args := []any{"it's", nil, []*string{&s, nil}, 7, "$2", "p10"}
	args = append(args, 8, 9, 10, "ten")
	for _, tc := range []struct{ sql, want string }{
		{`SELECT $1::text`, `SELECT 'it''s'::text`},
		{`SELECT $2, $3`, `SELECT NULL, ARRAY['x', NULL]::text[]`},
		{`SELECT $10, $1`, `SELECT 'ten', 'it''s'`},
		{`SELECT $5`, `SELECT '$2'`}, // a value that looks like a parameter is not read again
		{`SELECT '$1', "col$1", "a""$1", a$1`, `SELECT '$1', "col$1", "a""$1", a$1`},
		{`SELECT 'it''s $1' || $4`, `SELECT 'it''s $1' || 7`},
		{`SELECT $11, $0, $`, `SELECT $11, $0, $`},
		{`SELECT 'unterminated $1`, `SELECT 'unterminated $1`},
	} {
		if got := inlineParams(tc.sql, args); got != tc.want {
			t.Errorf("inlineParams(%q)\n got %s\nwant %s", tc.sql, got, tc.want)
		}
	}
}
