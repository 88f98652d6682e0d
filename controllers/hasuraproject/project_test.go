package hasuraproject

import (
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-billy/v5/util"
)

func project(t *testing.T, files map[string]string) billy.Filesystem {
	t.Helper()
	fs := memfs.New()
	for name, content := range files {
		if err := util.WriteFile(fs, name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return fs
}

func TestLoadAssemblesTheCLIDirectoryFormat(t *testing.T) {
	fs := project(t, map[string]string{
		"app/config.yaml":                                         "version: 3\n",
		"app/metadata/version.yaml":                               "version: 3\n",
		"app/metadata/databases/databases.yaml":                   "- name: default\n  kind: postgres\n  tables: \"!include default/tables/tables.yaml\"\n  functions: []\n",
		"app/metadata/databases/default/tables/tables.yaml":       "- \"!include public_a.yaml\"\n- \"!include public_b.yaml\"\n",
		"app/metadata/databases/default/tables/public_a.yaml":     "table: {schema: public, name: a}\n",
		"app/metadata/databases/default/tables/public_b.yaml":     "table: {schema: public, name: b}\nis_enum: true\n",
		"app/metadata/allow_list.yaml":                            "- collection: allowed\n",
		"app/metadata/query_collections.yaml":                     "[]\n",
		"app/metadata/actions.yaml":                               "actions: []\ncustom_types: {enums: []}\n",
		"app/migrations/default/1700000000002_second/up.sql":      "SELECT 2;",
		"app/migrations/default/1700000000001_first/up.sql":       "SELECT 1;",
		"app/migrations/default/1700000000003_down_only/down.sql": "SELECT 3;",
		"app/migrations/analytics/1600000000000_other/up.sql":     "SELECT 0;",
		"app/migrations/default/not_a_migration/up.sql":           "SELECT 'x';",
	})
	p, err := Load(fs, "app")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"allowlist":[{"collection":"allowed"}],"custom_types":{"enums":[]},"sources":[{"functions":[],"kind":"postgres","name":"default","tables":[{"table":{"name":"a","schema":"public"}},{"is_enum":true,"table":{"name":"b","schema":"public"}}]}],"version":3}`
	if string(p.Metadata) != want {
		t.Errorf("metadata:\n got %s\nwant %s", p.Metadata, want)
	}
	var got []string
	for _, m := range p.Migrations {
		got = append(got, m.Source+"/"+m.Name+":"+m.Up)
	}
	if strings.Join(got, " ") != "analytics/other:SELECT 0; default/first:SELECT 1; default/second:SELECT 2;" {
		t.Errorf("migrations: %v", got)
	}
}

func TestLoadRefusesWhatItCannotRead(t *testing.T) {
	base := map[string]string{"config.yaml": "version: 3\n", "metadata/databases/databases.yaml": "[]\n"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		return m
	}
	for name, tc := range map[string]struct {
		files map[string]string
		err   string
	}{
		"no config":       {map[string]string{"metadata/databases/databases.yaml": "[]"}, "no config.yaml"},
		"config v2":       {with("config.yaml", "version: 2\n"), "only config v3"},
		"no databases":    {map[string]string{"config.yaml": "version: 3\n"}, "no databases/databases.yaml"},
		"include cycle":   {with("metadata/databases/databases.yaml", "\"!include databases.yaml\"\n"), "nested more than"},
		"missing include": {with("metadata/databases/databases.yaml", "- tables: \"!include nope.yaml\"\n"), "nope.yaml"},
		"bad yaml":        {with("metadata/allow_list.yaml", "- [unclosed\n"), "allow_list.yaml"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(project(t, tc.files), "/")
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err %v, want it to mention %q", err, tc.err)
			}
		})
	}
}

func TestRedactHidesURLCredentials(t *testing.T) {
	if got := Redact("cloning https://user:tok3n@git.example.com/r.git failed"); strings.Contains(got, "tok3n") || strings.Contains(got, "user") {
		t.Errorf("Redact: %s", got)
	}
}
