package pgdump

import (
	"strings"
	"testing"
)

func TestCheckOpts(t *testing.T) {
	for _, tc := range []struct {
		opts []string
		bad  int    // index of the refused element, -1 for none
		msg  string // part of the message
	}{
		{[]string{"-O", "-x", "--schema-only", "--schema", "public"}, -1, ""},
		{[]string{"-Oxs", "-npublic", "--table=public.a", "-T", "b", "--exclude-table-data", "c"}, -1, ""},
		{[]string{"--data-only", "--inserts", "--column-inserts", "--rows-per-insert=10", "--on-conflict-do-nothing"}, -1, ""},
		{[]string{"--clean", "--if-exists", "--create", "--quote-all-identifiers", "--encoding=LATIN1", "-E", "UTF8"}, -1, ""},
		{[]string{"-Fp", "--format=plain", "-F", "P"}, -1, ""},
		// A value is whatever follows, as getopt reads it: never an option.
		{[]string{"-n", "--file=/tmp/x", "--schema", "-f"}, -1, ""},

		{[]string{"-f", "/tmp/x"}, 0, `"-f" is not allowed`},
		{[]string{"--file=/tmp/x"}, 0, `"--file" is not allowed`},
		{[]string{"--file", "/tmp/x"}, 0, `"--file" is not allowed`},
		{[]string{"-s", "-sf/tmp/x"}, 1, `"-f" is not allowed`},
		{[]string{"-Fc"}, 0, `format "c" is not allowed`},
		{[]string{"--format", "directory"}, 1, `format "directory" is not allowed`},
		{[]string{"-h", "evil"}, 0, `"-h" is not allowed`},
		{[]string{"--host=evil"}, 0, `"--host" is not allowed`},
		{[]string{"-p5433"}, 0, `"-p" is not allowed`},
		{[]string{"-U", "postgres"}, 0, `"-U" is not allowed`},
		{[]string{"--dbname=postgres://x/y"}, 0, `"--dbname" is not allowed`},
		{[]string{"-d", "x"}, 0, `"-d" is not allowed`},
		{[]string{"host=evil dbname=x"}, 0, "is not an option"},
		{[]string{"otherdb"}, 0, "is not an option"},
		{[]string{""}, 0, "is not an option"},
		{[]string{"-"}, 0, "is not an option"},
		{[]string{"-s", "--"}, 1, `"--" is not allowed`},
		{[]string{"--role=admin"}, 0, `"--role" is not allowed`},
		{[]string{"-Z9"}, 0, `"-Z" is not allowed`},
		{[]string{"-j", "4"}, 0, `"-j" is not allowed`},
		{[]string{"--restrict-key=x"}, 0, `"--restrict-key" is not allowed`},
		{[]string{"--filter=/etc/passwd"}, 0, `"--filter" is not allowed`},
		{[]string{"--sche=public"}, 0, "is not supported"}, // abbreviations are not accepted
		{[]string{"--schema-only=yes"}, 0, "takes no value"},
		{[]string{"--schema"}, 0, "needs a value"},
		{[]string{"-s", "-n"}, 1, "needs a value"},
		{[]string{"-W"}, 0, `"-W" is not allowed`},
		{[]string{"-q"}, 0, "is not supported"},
		{[]string{"-n", "a\x00b"}, 1, "NUL"},
	} {
		err := checkOpts(tc.opts)
		if tc.bad < 0 {
			if err != nil {
				t.Errorf("%q: refused: %v", tc.opts, err)
			}
			continue
		}
		oe, ok := err.(*optError)
		if !ok {
			t.Errorf("%q: accepted, want element %d refused", tc.opts, tc.bad)
			continue
		}
		if oe.index != tc.bad || !strings.Contains(oe.msg, tc.msg) {
			t.Errorf("%q: refused element %d with %q, want %d with %q", tc.opts, oe.index, oe.msg, tc.bad, tc.msg)
		}
	}
}

func TestCleanerMatchesHasurasFilter(t *testing.T) {
	in := "--\n-- PostgreSQL database dump\n--\n\n\\restrict hasura\n" +
		"SET statement_timeout = 0;\nSET lock_timeout = 0;\nSET client_encoding = 'UTF8';\n" +
		"SELECT pg_catalog.set_config('search_path', '', false);\nSET check_function_bodies = false;\n" +
		"SET default_table_access_method = heap;\nCREATE SCHEMA public;\nCOMMENT ON SCHEMA public IS 'standard public schema';\n" +
		"CREATE TABLE public.a (\n    id integer NOT NULL\n);\n   \t\n" +
		"CREATE TRIGGER \"notify_hasura_a_INSERT\" AFTER INSERT ON public.a FOR EACH ROW EXECUTE FUNCTION hdb_catalog.\"notify_hasura_a_INSERT\"();\n" +
		"CREATE TRIGGER notify_hasura_b AFTER UPDATE ON public.a FOR EACH ROW EXECUTE PROCEDURE hdb_catalog.notify_hasura_b();\n" +
		"CREATE TRIGGER mine AFTER INSERT ON public.a FOR EACH ROW EXECUTE FUNCTION public.f();\n" +
		"  -- not a comment: indented\n" +
		"\\unrestrict hasura"
	want := "\\restrict hasura\nSET check_function_bodies = false;\n" +
		"CREATE TABLE public.a (\n    id integer NOT NULL\n);\n" +
		"CREATE TRIGGER mine AFTER INSERT ON public.a FOR EACH ROW EXECUTE FUNCTION public.f();\n" +
		"  -- not a comment: indented\n" +
		"\\unrestrict hasura\n"
	// Fed in every chunk size, lines split anywhere.
	for size := 1; size <= len(in); size *= 3 {
		var out strings.Builder
		c := &cleaner{out: &out}
		for i := 0; i < len(in); i += size {
			if _, err := c.Write([]byte(in[i:min(i+size, len(in))])); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.finish(); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Fatalf("chunks of %d:\n%s\nwant:\n%s", size, out.String(), want)
		}
	}
}

func TestConnArgsKeepThePasswordOffTheCommandLine(t *testing.T) {
	dbname, env := connArgs("postgres://u:s%3Acret@db:5432/app?sslmode=require")
	if strings.Contains(dbname, "cret") || dbname != "postgres://u@db:5432/app?sslmode=require" {
		t.Errorf("dbname %q", dbname)
	}
	if len(env) != 1 || env[0] != "PGPASSWORD=s:cret" {
		t.Errorf("env %q", env)
	}
	if dbname, env := connArgs("postgres://u@db/app"); dbname != "postgres://u@db/app" || env != nil {
		t.Errorf("no password: %q %q", dbname, env)
	}
}

func TestBinaryReportsWhatIsMissing(t *testing.T) {
	h := New(Options{Binary: "/nonexistent/pg_dump"})
	_, _, err := h.binary(15)
	if err == nil || !strings.Contains(err.Error(), "no pg_dump for PostgreSQL 15 or newer found (looked in /nonexistent/pg_dump)") {
		t.Errorf("err = %v", err)
	}
	// The system's pg_dump, when there is one, is found for its own
	// major version and refused for a newer server.
	h = New(Options{})
	if _, info, err := h.binary(13); err == nil {
		if _, _, err := h.binary(info.major + 1); err == nil {
			t.Errorf("a pg_dump %d was accepted for a newer server", info.major)
		}
	}
}
