package pgmeta

import (
	"encoding/json"
	"testing"
)

func TestSQLType(t *testing.T) {
	for in, want := range map[string]string{
		"int8":                           "int8",
		"integer":                        "integer",
		" text[] ":                       "text[]",
		"int4[][]":                       "int4[][]",
		"varchar(255)":                   "varchar(255)",
		"numeric( 10 , 2 )":              "numeric(10,2)",
		"public.my_enum":                 "public.my_enum",
		"MyType":                         `"MyType"`,
		`"My ""Type"""`:                  `"My ""Type"""`,
		`app."Weird.Name"[]`:             `app."Weird.Name"[]`,
		"Double  Precision":              "double precision",
		"character varying(20)[]":        "character varying(20)[]",
		"timestamp with time zone":       "timestamp with time zone",
		"_int4":                          "_int4",
		"extensions.citext":              "extensions.citext",
		"ünïcode":                        `"ünïcode"`,
		"timestamp without time zone[3]": "timestamp without time zone[3]",
	} {
		got, err := sqlType(in)
		if err != nil || got != want {
			t.Errorf("sqlType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{
		"", "text; drop table x", "int) ; drop table x; --", "text default 1", "a.b.c", "varchar(x)",
		"int[", `"unterminated`, `""`, "1abc", "int --", "text not null", "int/*", "numeric(1,)", "x.",
	} {
		if got, err := sqlType(bad); err == nil {
			t.Errorf("sqlType(%q) = %q, accepted", bad, got)
		}
	}
}

func TestLiteral(t *testing.T) {
	for in, want := range map[string]string{
		"plain":       "'plain'",
		"it's":        "'it''s'",
		`back\slash`:  `E'back\\slash'`,
		`both\'`:      `E'both\\'''`,
		"nul\x00byte": "'nulbyte'",
		"":            "''",
		"ü'; DROP --": "'ü''; DROP --'",
	} {
		if got := literal(in); got != want {
			t.Errorf("literal(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{
		`"s"`:       "'s'",
		`12.5`:      "12.5",
		`-1e3`:      "-1e3",
		`true`:      "true",
		`null`:      "NULL",
		`{"a":"'"}`: `'{"a":"''"}'`,
		`[1,2]`:     "'[1,2]'",
	} {
		got, err := jsonValueLiteral(json.RawMessage(in))
		if err != nil || got != want {
			t.Errorf("jsonValueLiteral(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
}
