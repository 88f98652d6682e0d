package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/jackc/pgx/v5"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/test/pgtest"
)

// gitRepo is a repository on disk holding a Hasura CLI project under
// hasura/, committed to as a developer would push.
type gitRepo struct {
	t    *testing.T
	dir  string
	repo *git.Repository
}

func newGitRepo(t *testing.T) *gitRepo {
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	return &gitRepo{t: t, dir: dir, repo: repo}
}

// commit writes files (path -> content) and commits them.
func (g *gitRepo) commit(files map[string]string) string {
	g.t.Helper()
	wt, err := g.repo.Worktree()
	if err != nil {
		g.t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(g.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			g.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			g.t.Fatal(err)
		}
		if _, err := wt.Add(name); err != nil {
			g.t.Fatal(err)
		}
	}
	h, err := wt.Commit("change", &git.CommitOptions{Author: &object.Signature{Name: "dev", Email: "dev@example.com", When: time.Now()}})
	if err != nil {
		g.t.Fatal(err)
	}
	return h.String()
}

// tablesYAML is the CLI's per-table file of public.book, readable by the
// anonymous role with the given columns.
func bookTable(columns string) string {
	return `table:
  name: book
  schema: public
select_permissions:
  - role: anonymous
    permission:
      columns: [` + columns + `]
      filter: {}
`
}

// A Metadata fromGit applies the migrations of the Project's repository,
// recorded as the CLI records them, then its metadata; a new commit with
// a new migration and metadata is applied in turn.
func TestMetadataFromGitAppliesMigrationsThenMetadata(t *testing.T) {
	ns := namespace(t)
	metaURL, dataURL := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	repo := newGitRepo(t)
	first := repo.commit(map[string]string{
		"hasura/config.yaml":                                        "version: 3\nendpoint: http://localhost:8080\n",
		"hasura/metadata/version.yaml":                              "version: 3\n",
		"hasura/metadata/databases/databases.yaml":                  "- name: default\n  kind: postgres\n  configuration:\n    connection_info:\n      database_url:\n        from_env: HASURA_GRAPHQL_DATABASE_URL\n  tables: \"!include default/tables/tables.yaml\"\n",
		"hasura/metadata/databases/default/tables/tables.yaml":      "- \"!include public_book.yaml\"\n",
		"hasura/metadata/databases/default/tables/public_book.yaml": bookTable("id, title"),
		"hasura/metadata/query_collections.yaml":                    "[]\n",
		"hasura/migrations/default/1700000000000_init/up.sql":       "CREATE TABLE book (id int PRIMARY KEY, title text NOT NULL);\nINSERT INTO book VALUES (1, 'Dune');\n-- a trailing comment, no newline",
		"hasura/migrations/default/1700000000000_init/down.sql":     "DROP TABLE book;",
	})

	create(t,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}, StringData: map[string]string{"metadata": metaURL, "data": dataURL}},
		&stratav1alpha1.Project{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "books"}, Spec: stratav1alpha1.ProjectSpec{
			Replicas:         ptr.To[int32](1),
			MetadataDatabase: stratav1alpha1.DatabaseRef{URLSecretRef: stratav1alpha1.SecretKeyRef{Name: "db", Key: "metadata"}},
			Env:              []corev1.EnvVar{{Name: "HASURA_GRAPHQL_UNAUTHORIZED_ROLE", Value: "anonymous"}},
			Git:              &stratav1alpha1.GitSource{URL: "file://" + repo.dir, Directory: "hasura"},
		}},
		&stratav1alpha1.Source{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "books-default"}, Spec: stratav1alpha1.SourceSpec{
			ProjectRef: stratav1alpha1.ProjectReference{Name: "books"}, Name: "default",
			URLSecretRef: stratav1alpha1.SecretKeyRef{Name: "db", Key: "data"}}},
	)
	md := &stratav1alpha1.Metadata{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "books"}, Spec: stratav1alpha1.MetadataSpec{
		ProjectRef: stratav1alpha1.ProjectReference{Name: "books"}, FromGit: true}}
	create(t, md)
	waitReady(t, md)
	if md.Status.AppliedRevision != first {
		t.Errorf("appliedRevision %q, want %q", md.Status.AppliedRevision, first)
	}
	url := engineFor(t, ns, "books").URL
	if got := graphql(t, url, `{ book { id title } }`); got != `{"data":{"book":[{"id":1,"title":"Dune"}]}}` {
		t.Fatalf("query after the first commit: %s", got)
	}

	second := repo.commit(map[string]string{
		"hasura/migrations/default/1700000000001_author/up.sql":     "ALTER TABLE book ADD COLUMN author text;\nUPDATE book SET author = 'Herbert';",
		"hasura/metadata/databases/default/tables/public_book.yaml": bookTable("id, title, author"),
	})
	eventually(t, "second commit served", func() (bool, string) {
		got := graphql(t, url, `{ book { author } }`)
		return got == `{"data":{"book":[{"author":"Herbert"}]}}`, got
	})
	// The engine serves the new metadata a moment before the status that
	// records it is written: wait for that too.
	appliedRevision(t, md, second)
	waitReady(t, md)

	// A broken migration stalls the Metadata with Postgres' own error; a
	// fix pushed to the branch (nothing changed in Kubernetes) is picked
	// up by the poll and applied.
	repo.commit(map[string]string{"hasura/migrations/default/1700000000002_bad/up.sql": "ALTER TABLE nope ADD COLUMN x int;"})
	waitCondition(t, md, stratav1alpha1.ConditionStalled, metav1.ConditionTrue, "MigrationFailed")
	if c := meta.FindStatusCondition(md.Status.Conditions, stratav1alpha1.ConditionStalled); !strings.Contains(c.Message, `relation \"nope\" does not exist`) && !strings.Contains(c.Message, `relation "nope" does not exist`) {
		t.Errorf("the failed migration's condition lacks the Postgres error: %s", c.Message)
	}
	wantHealth(t, md, "Degraded")
	fixed := repo.commit(map[string]string{"hasura/migrations/default/1700000000002_bad/up.sql": "ALTER TABLE book ADD COLUMN x int;"})
	appliedRevision(t, md, fixed)
	waitReady(t, md)

	// Each migration ran once and is recorded as the CLI records it.
	conn, err := pgx.Connect(context.Background(), dataURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var versions []int64
	rows, _ := conn.Query(context.Background(), "SELECT version FROM hdb_catalog.schema_migrations WHERE NOT dirty ORDER BY version")
	versions, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(versions) != 3 || versions[0] != 1700000000000 || versions[1] != 1700000000001 || versions[2] != 1700000000002 {
		t.Errorf("schema_migrations: %v (%v)", versions, err)
	}
}

// appliedRevision waits until the Metadata records commit as applied.
func appliedRevision(t *testing.T, md *stratav1alpha1.Metadata, commit string) {
	t.Helper()
	eventually(t, "commit "+commit[:8]+" applied", func() (bool, string) {
		_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(md), md)
		return md.Status.AppliedRevision == commit, md.Status.AppliedRevision
	})
}
