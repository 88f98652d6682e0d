package tenantapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
)

func testScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(stratav1alpha1.AddToScheme(s))
	return s
}

func fakeClient(t *testing.T, funcs ...interceptor.Funcs) client.WithWatch {
	t.Helper()
	b := fake.NewClientBuilder().WithScheme(testScheme())
	if len(funcs) > 0 {
		b = b.WithInterceptorFuncs(funcs[0])
	}
	return b.Build()
}

func discardLog() logr.Logger { return logr.Discard() }

// fakeDatabases records what it was asked.
type fakeDatabases struct {
	mu      sync.Mutex
	created map[string]bool
	fail    error
}

func (f *fakeDatabases) Create(_ context.Context, name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return "", f.fail
	}
	if f.created == nil {
		f.created = map[string]bool{}
	}
	f.created[name] = true
	return "postgres://" + name + ":pw@db:5432/" + name, nil
}

func (f *fakeDatabases) Drop(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.created, name)
	return nil
}

type harness struct {
	t     *testing.T
	c     client.WithWatch
	s     *Server
	dbs   *fakeDatabases
	token string
}

func newHarness(t *testing.T, cfg Config, funcs ...interceptor.Funcs) *harness {
	t.Helper()
	c := fakeClient(t, funcs...)
	dbs := &fakeDatabases{}
	cfg.Databases = dbs
	cfg.TokenNamespace = "ops"
	s, err := New(c, c, testScheme(), cfg, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := CreateToken(context.Background(), c, "ops", "test")
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, c: c, s: s, dbs: dbs, token: tok}
}

type gqlResponse struct {
	Data   map[string]any
	Errors []struct {
		Message    string
		Extensions map[string]any
	}
	raw string
}

func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

func (h *harness) call(auth, query string, vars map[string]any) gqlResponse {
	h.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/v1/graphql", bytes.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.s.ServeHTTP(w, req)
	var r gqlResponse
	r.raw = w.Body.String()
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
		h.t.Fatalf("response %q: %v", r.raw, err)
	}
	return r
}

func (h *harness) ok(query string, vars map[string]any) map[string]any {
	h.t.Helper()
	r := h.call("pat "+h.token, query, vars)
	if len(r.Errors) > 0 || r.Data == nil {
		h.t.Fatalf("%s: %s", query, r.raw)
	}
	return r.Data
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

func TestEveryRequestNeedsAValidToken(t *testing.T) {
	h := newHarness(t, Config{})
	q := `{ tenant_by_pk(id: "7a79cf94-0e53-4520-a560-1b02bf522f08") { id } }`
	for auth, code := range map[string]string{
		"":                       CodeInvalidHeaders,
		"Bearer " + h.token:      CodeInvalidHeaders,
		"pat":                    CodeInvalidHeaders,
		"pat " + h.token + "x":   CodeInvalidToken,
		"pat strata_pat_abcdefg": CodeInvalidToken,
	} {
		if r := h.call(auth, q, nil); r.code() != code || r.Data != nil {
			t.Errorf("Authorization %q: %s, want %s", auth, r.raw, code)
		}
	}
	if r := h.call("PAT "+h.token, q, nil); len(r.Errors) > 0 {
		t.Errorf("a valid token: %s", r.raw)
	}
	if err := RevokeToken(context.Background(), h.c, "ops", "test"); err != nil {
		t.Fatal(err)
	}
	if r := h.call("pat "+h.token, q, nil); r.code() != CodeInvalidToken {
		t.Errorf("a revoked token: %s", r.raw)
	}
	// Not even a malformed query is looked at without a token.
	if r := h.call("", "{", nil); r.code() != CodeInvalidHeaders {
		t.Errorf("unauthenticated garbage: %s", r.raw)
	}
}

const createTenantMutation = `mutation($envs: [UpdateEnvsObject]) {
	createTenant(cloud: "aws", region: "us-east-2", name: "shop", envs: $envs) { id name project { id endpoint } }
}`

func TestCreateTenantMakesProjectDatabaseSecretsAndSource(t *testing.T) {
	h := newHarness(t, Config{Regions: []Region{{"aws", "us-east-2"}}})
	if r := h.call("pat "+h.token, `mutation { createTenant(cloud: "gcp", region: "us-east-2") { id } }`, nil); r.code() != CodeValidation ||
		!strings.Contains(r.raw, "aws/us-east-2") {
		t.Errorf("an unlisted region: %s", r.raw)
	}
	data := h.ok(createTenantMutation, map[string]any{"envs": []any{map[string]any{"key": "MY_VAR", "value": "v1"}}})
	id := dig(data, "createTenant", "id").(string)
	if dig(data, "createTenant", "name") != "shop" || dig(data, "createTenant", "project", "endpoint") != "http://shop.strata-tenants.svc:8080/v1/graphql" {
		t.Errorf("createTenant: %v", data)
	}
	var p stratav1alpha1.Project
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: "strata-tenants", Name: "shop"}, &p); err != nil {
		t.Fatal(err)
	}
	if p.Labels[LabelTenant] != id || p.Annotations[AnnotationCloud] != "aws" || p.Annotations[AnnotationRegion] != "us-east-2" ||
		p.Annotations[AnnotationCreatedBy] != "test" || p.Spec.AdminSecretRef.Name != "shop-env" ||
		p.Spec.MetadataDatabase.URLSecretRef.Name != "shop-db" || len(p.Spec.Env) != 1 || p.Spec.Env[0].ValueFrom.SecretKeyRef.Key != "MY_VAR" {
		t.Errorf("project: %+v", p)
	}
	if !h.dbs.created[databaseName(id)] {
		t.Errorf("databases: %v", h.dbs.created)
	}
	var src stratav1alpha1.Source
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: "strata-tenants", Name: "shop-default"}, &src); err != nil ||
		src.Spec.Name != "default" || src.Spec.URLSecretRef.Name != "shop-db" || src.OwnerReferences[0].Name != "shop" {
		t.Errorf("source: %+v %v", src, err)
	}
	projectID := dig(data, "createTenant", "project", "id").(string)
	got := h.ok(`query($p: uuid!, $t: uuid!) { projects_by_pk(id: $p) { id name tenant { id } }
		tenant_by_pk(id: $t) { id slug cloud region project { id endpoint } } }`, map[string]any{"p": projectID, "t": id})
	if dig(got, "projects_by_pk", "tenant", "id") != id || dig(got, "tenant_by_pk", "project", "id") != projectID ||
		dig(got, "tenant_by_pk", "slug") != "shop" {
		t.Errorf("lookups: %v", got)
	}
	if r := h.call("pat "+h.token, createTenantMutation, nil); r.code() != CodeAlreadyExists {
		t.Errorf("the same name again: %s", r.raw)
	}

	if got := h.ok(`mutation($id: uuid!) { deleteTenant(tenantId: $id) { status } }`, map[string]any{"id": id}); dig(got, "deleteTenant", "status") != "deleted" {
		t.Errorf("deleteTenant: %v", got)
	}
	if len(h.dbs.created) != 0 {
		t.Errorf("database not dropped: %v", h.dbs.created)
	}
	var secrets corev1.SecretList
	_ = h.c.List(context.Background(), &secrets, client.InNamespace("strata-tenants"))
	if err := h.c.Get(context.Background(), client.ObjectKeyFromObject(&p), &p); !apierrors.IsNotFound(err) || len(secrets.Items) != 0 {
		t.Errorf("after deleteTenant: project %v, %d secrets", err, len(secrets.Items))
	}
	if got := h.ok(`query($t: uuid!) { tenant_by_pk(id: $t) { id } }`, map[string]any{"t": id}); got["tenant_by_pk"] != nil {
		t.Errorf("deleted tenant still found: %v", got)
	}
}

func TestCreateTenantUndoesWhatItDidWhenTheDatabaseFails(t *testing.T) {
	h := newHarness(t, Config{})
	h.dbs.fail = os.ErrPermission
	if r := h.call("pat "+h.token, createTenantMutation, nil); r.code() != CodeDatabase {
		t.Fatalf("createTenant: %s", r.raw)
	}
	var list stratav1alpha1.ProjectList
	if err := h.c.List(context.Background(), &list); err != nil || len(list.Items) != 0 {
		t.Errorf("projects left: %d %v", len(list.Items), err)
	}
}

func TestTenantEnvIsCompareAndSwap(t *testing.T) {
	var interfere func()
	h := newHarness(t, Config{}, interceptor.Funcs{Update: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.UpdateOption) error {
		if s, ok := o.(*corev1.Secret); ok && strings.HasSuffix(s.Name, "-env") && interfere != nil {
			f := interfere
			interfere = nil
			f()
		}
		return c.Update(ctx, o, opts...)
	}})
	id := dig(h.ok(createTenantMutation, map[string]any{"envs": []any{map[string]any{"key": "A", "value": "1"}}}), "createTenant", "id")
	env := h.ok(`query($id: uuid!) { getTenantEnv(tenantId: $id) { hash envVars } }`, map[string]any{"id": id})
	hash := dig(env, "getTenantEnv", "hash").(string)
	vars := dig(env, "getTenantEnv", "envVars").([]any)
	if len(vars) != 2 || dig(vars[0], "key") != "A" || dig(vars[1], "key") != envAdminSecret {
		t.Errorf("envVars: %v", vars)
	}

	update := `mutation($id: uuid!, $hash: String!, $envs: [UpdateEnvsObject]!) {
		updateTenantEnv(tenantId: $id, currentHash: $hash, envs: $envs) { hash envVars } }`
	set := func(k, v string) []any { return []any{map[string]any{"key": k, "value": v}} }
	r := h.call("pat "+h.token, update, map[string]any{"id": id, "hash": "0000", "envs": set("B", "2")})
	if r.code() != CodeConflict {
		t.Errorf("a stale hash: %s", r.raw)
	}
	got := h.ok(update, map[string]any{"id": id, "hash": hash, "envs": set("B", "2")})
	newHash := dig(got, "updateTenantEnv", "hash").(string)
	if newHash == hash || len(dig(got, "updateTenantEnv", "envVars").([]any)) != 3 {
		t.Errorf("update: %v", got)
	}
	var p stratav1alpha1.Project
	_ = h.c.Get(context.Background(), client.ObjectKey{Namespace: "strata-tenants", Name: "shop"}, &p)
	if len(p.Spec.Env) != 2 || p.Spec.Env[1].Name != "B" {
		t.Errorf("project env after the update: %+v", p.Spec.Env)
	}
	// The old hash is stale now.
	if r := h.call("pat "+h.token, update, map[string]any{"id": id, "hash": hash, "envs": set("C", "3")}); r.code() != CodeConflict {
		t.Errorf("reusing a hash: %s", r.raw)
	}

	// Someone writes the Secret between our read and our write: the
	// resourceVersion refuses ours and nothing of it is kept.
	interfere = func() {
		var s corev1.Secret
		_ = h.c.Get(context.Background(), client.ObjectKey{Namespace: "strata-tenants", Name: "shop-env"}, &s)
		s.Data["OTHER"] = []byte("x")
		if err := h.c.Update(context.Background(), &s); err != nil {
			t.Error(err)
		}
	}
	if r := h.call("pat "+h.token, update, map[string]any{"id": id, "hash": newHash, "envs": set("C", "3")}); r.code() != CodeConflict {
		t.Errorf("a concurrent write: %s", r.raw)
	}
	var s corev1.Secret
	_ = h.c.Get(context.Background(), client.ObjectKey{Namespace: "strata-tenants", Name: "shop-env"}, &s)
	if _, ok := s.Data["C"]; ok || string(s.Data["OTHER"]) != "x" {
		t.Errorf("after the refused write: %v", keysOf(s.Data))
	}
	_ = h.c.Get(context.Background(), client.ObjectKey{Namespace: "strata-tenants", Name: "shop"}, &p)
	if names := envNames(p.Spec.Env); names != "A,B,OTHER" {
		t.Errorf("project env after the refused write: %s", names)
	}

	env = h.ok(`query($id: uuid!) { getTenantEnv(tenantId: $id) { hash } }`, map[string]any{"id": id})
	del := `mutation($id: uuid!, $hash: String!, $keys: [String]!) { deleteTenantEnv(tenantId: $id, currentHash: $hash, deleteEnvs: $keys) { hash envVars } }`
	if r := h.call("pat "+h.token, del, map[string]any{"id": id, "hash": dig(env, "getTenantEnv", "hash"), "keys": []any{envAdminSecret}}); r.code() != CodeValidation {
		t.Errorf("deleting the admin secret: %s", r.raw)
	}
	got = h.ok(del, map[string]any{"id": id, "hash": dig(env, "getTenantEnv", "hash"), "keys": []any{"A", "OTHER"}})
	if n := len(dig(got, "deleteTenantEnv", "envVars").([]any)); n != 2 {
		t.Errorf("after delete: %v", got)
	}
	_ = h.c.Get(context.Background(), client.ObjectKey{Namespace: "strata-tenants", Name: "shop"}, &p)
	if names := envNames(p.Spec.Env); names != "B" {
		t.Errorf("project env after delete: %s", names)
	}
}

func keysOf(m map[string][]byte) []string { return sortedKeys(m) }

func envNames(env []corev1.EnvVar) string {
	var n []string
	for _, e := range env {
		n = append(n, e.Name)
	}
	return strings.Join(n, ",")
}

// newRepo makes dir/owner/repo.git holding a Hasura CLI project.
func newRepo(t *testing.T, root, owner, repo string, files map[string]string) {
	t.Helper()
	dir := filepath.Join(root, owner, repo+".git")
	r, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := r.Worktree()
	for name, content := range files {
		p := filepath.Join(dir, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := wt.Commit("init", &git.CommitOptions{Author: &object.Signature{Name: "dev", Email: "dev@example.com", When: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	// go-git names the first branch master.
}

const previewMutation = `mutation($token: String!, $branch: String!, $name: String!, $env: [UpdateEnvsObject]) {
	createGitHubPreviewApp(payload: {
		githubPersonalAccessToken: $token,
		githubRepoDetails: {branch: $branch, owner: "acme", repo: "shop", directory: "hasura"},
		projectOptions: {cloud: "aws", region: "us-east-2", plan: "cloud_free", name: $name, envVars: $env}
	}) { githubPreviewAppJobID }
}`

func TestPreviewAppJobValidatesAndParsesTheBranch(t *testing.T) {
	root := t.TempDir()
	newRepo(t, root, "acme", "shop", map[string]string{
		"hasura/config.yaml":                       "version: 3\n",
		"hasura/metadata/version.yaml":             "version: 3\n",
		"hasura/metadata/databases/databases.yaml": "- name: default\n  kind: postgres\n  configuration:\n    connection_info:\n      database_url:\n        from_env: HASURA_GRAPHQL_DATABASE_URL\n  tables: []\n",
		"hasura/migrations/default/1_init/up.sql":  "CREATE TABLE t (id int);",
		"hasura/migrations/default/2_more/up.sql":  "ALTER TABLE t ADD COLUMN x int;",
	})
	h := newHarness(t, Config{GitBaseURL: "file://" + root})
	const ghToken = "ghp_secretsecretsecret"
	vars := map[string]any{"token": ghToken, "branch": "master", "name": "pr_7",
		"env": []any{map[string]any{"key": "HASURA_GRAPHQL_UNAUTHORIZED_ROLE", "value": "anonymous"}}}
	jobID := dig(h.ok(previewMutation, vars), "createGitHubPreviewApp", "githubPreviewAppJobID").(string)

	var p stratav1alpha1.Project
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: "strata-tenants", Name: "pr-7"}, &p); err != nil {
		t.Fatal(err)
	}
	if g := p.Spec.Git; g == nil || g.URL != "file://"+root+"/acme/shop.git" || g.Branch != "master" || g.Directory != "hasura" ||
		g.CredentialsSecretRef == nil || g.CredentialsSecretRef.Name != "pr-7-git" {
		t.Errorf("spec.git: %+v", p.Spec.Git)
	}
	var m stratav1alpha1.Metadata
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: "strata-tenants", Name: "pr-7"}, &m); err != nil || !m.Spec.FromGit ||
		m.Annotations[annotationDeployJob] != jobID {
		t.Errorf("metadata: %+v %v", m, err)
	}

	// Run the job until it waits for the reconcilers.
	job := h.job(jobID)
	for i := 0; i < 10 && (len(job.Tasks) < 3); i++ {
		h.s.advance(context.Background(), job)
	}
	if job.Status != JobRunning || len(job.Tasks) != 3 || job.Tasks[0].Status != JobSuccess || job.Tasks[1].Status != JobSuccess ||
		job.Tasks[2].Name != TaskApplyMigration || len(job.Migrations) != 2 || len(job.Commit) != 40 {
		t.Fatalf("job: %s", mustJSON(t, job))
	}
	ev := job.Tasks[0].Events[1]
	if ev.Type != JobSuccess || ev.Data["projectId"] != p.Labels[LabelProjectID] || ev.Data["githubDeploymentJobID"] != jobID {
		t.Errorf("gh-validation's success event: %+v", ev)
	}
	if b := mustJSON(t, job); strings.Contains(string(b), ghToken) {
		t.Errorf("the job holds the token: %s", b)
	}

	// A redeploy of the same name is the same tenant, with a new job; the
	// old one is skipped.
	vars["branch"] = "nope"
	jobID2 := dig(h.ok(previewMutation, vars), "createGitHubPreviewApp", "githubPreviewAppJobID").(string)
	if jobID2 == jobID || h.job(jobID).Status != JobSkipped {
		t.Errorf("redeploy: %s, old job %s", jobID2, h.job(jobID).Status)
	}
	job2 := h.job(jobID2)
	for i := 0; i < 5 && !job2.finished(); i++ {
		h.s.advance(context.Background(), job2)
	}
	if job2.Status != JobFailed || len(job2.Tasks) != 1 || !strings.Contains(job2.Tasks[0].Events[1].Error, `branch "nope" not found`) {
		t.Errorf("a missing branch: %s", mustJSON(t, job2))
	}
	var list stratav1alpha1.ProjectList
	_ = h.c.List(context.Background(), &list)
	if len(list.Items) != 1 {
		t.Errorf("%d projects after a redeploy", len(list.Items))
	}

	// jobs_by_pk shapes the record as Hasura Cloud does; order_by and
	// limit as the preview-app action sends them.
	h.save(job)
	got := h.ok(`query($id: uuid!) { jobs_by_pk(id: $id) { id status
		tasks(order_by: {updated_at: asc}) { name status cloud region task_events(order_by: {updated_at: desc}, limit: 1) { event_type public_event_data error } } } }`,
		map[string]any{"id": jobID})
	tasks := dig(got, "jobs_by_pk", "tasks").([]any)
	if len(tasks) != 3 || dig(tasks[0], "name") != TaskValidation || dig(tasks[0], "cloud") != "aws" ||
		len(dig(tasks[2], "task_events").([]any)) != 1 || dig(dig(tasks[2], "task_events").([]any)[0], "event_type") != eventCreated {
		t.Errorf("jobs_by_pk: %v", got)
	}
	if got := h.ok(`{ jobs_by_pk(id: "00000000-0000-0000-0000-000000000000") { id } }`, nil); got["jobs_by_pk"] != nil {
		t.Errorf("an unknown job: %v", got)
	}

	// The token is in the git Secret and nowhere else.
	var secrets corev1.SecretList
	var cms corev1.ConfigMapList
	_ = h.c.List(context.Background(), &secrets, client.InNamespace("strata-tenants"))
	_ = h.c.List(context.Background(), &cms, client.InNamespace("strata-tenants"))
	count := func(v any) int {
		b := mustJSON(t, v)
		return strings.Count(string(b), ghToken) + strings.Count(string(b), b64(ghToken))
	}
	if n := count(secrets.Items); n != 1 {
		t.Errorf("the token is in %d Secrets, want 1 (its own)", n)
	}
	if count(cms.Items) != 0 || count(list.Items) != 0 {
		t.Error("the token is in a ConfigMap or a Project")
	}
}

func b64(s string) string {
	b, _ := json.Marshal([]byte(s))
	return strings.Trim(string(b), `"`)
}

func (h *harness) job(id string) *Job {
	h.t.Helper()
	var cm corev1.ConfigMap
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: "strata-tenants", Name: jobConfigMapName(id)}, &cm); err != nil {
		h.t.Fatal(err)
	}
	j, err := decodeJob(&cm)
	if err != nil {
		h.t.Fatal(err)
	}
	return j
}

func (h *harness) save(j *Job) {
	h.t.Helper()
	var cm corev1.ConfigMap
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: "strata-tenants", Name: jobConfigMapName(j.ID)}, &cm); err != nil {
		h.t.Fatal(err)
	}
	if err := h.s.saveJob(context.Background(), &cm, j); err != nil {
		h.t.Fatal(err)
	}
}

func TestPreviewAppInputsAreValidated(t *testing.T) {
	h := newHarness(t, Config{GitBaseURL: "file:///nonexistent"})
	for name, payload := range map[string]string{
		"owner with a slash":  `githubRepoDetails: {branch: "main", owner: "a/b", repo: "r", directory: ""}, projectOptions: {cloud: "aws", region: "x", name: "ok"}`,
		"repo dot-dot":        `githubRepoDetails: {branch: "main", owner: "a", repo: "..", directory: ""}, projectOptions: {cloud: "aws", region: "x", name: "ok"}`,
		"directory escapes":   `githubRepoDetails: {branch: "main", owner: "a", repo: "r", directory: "../x"}, projectOptions: {cloud: "aws", region: "x", name: "ok"}`,
		"bad branch":          `githubRepoDetails: {branch: "a..b", owner: "a", repo: "r", directory: ""}, projectOptions: {cloud: "aws", region: "x", name: "ok"}`,
		"bad name":            `githubRepoDetails: {branch: "main", owner: "a", repo: "r", directory: ""}, projectOptions: {cloud: "aws", region: "x", name: "Not OK"}`,
		"reserved env":        `githubRepoDetails: {branch: "main", owner: "a", repo: "r", directory: ""}, projectOptions: {cloud: "aws", region: "x", name: "ok", envVars: [{key: "HASURA_GRAPHQL_SERVER_PORT", value: "1"}]}`,
		"project not preview": `githubRepoDetails: {branch: "main", owner: "a", repo: "r", directory: ""}, projectOptions: {cloud: "aws", region: "us-east-2", name: "shop"}`,
	} {
		if name == "project not preview" {
			h.ok(createTenantMutation, nil)
		}
		r := h.call("pat "+h.token, `mutation { createGitHubPreviewApp(payload: {githubPersonalAccessToken: "t", `+payload+`}) { githubPreviewAppJobID } }`, nil)
		if r.code() != CodeValidation && !(name == "project not preview" && r.code() == CodeAlreadyExists) {
			t.Errorf("%s: %s", name, r.raw)
		}
	}
	var list stratav1alpha1.ProjectList
	_ = h.c.List(context.Background(), &list)
	if len(list.Items) != 1 {
		t.Errorf("%d projects", len(list.Items))
	}
}

// The job runner finds unfinished jobs by their label, so a job written
// by another replica, or left running by an operator that stopped, is
// taken up and finished.
func TestJobRunnerResumesUnfinishedJobs(t *testing.T) {
	h := newHarness(t, Config{JobPoll: 10 * time.Millisecond})
	now := time.Now().UTC()
	job := &Job{ID: "0b7d6c1e-3c55-4b59-9d0c-2f1d8e6f2a10", Status: JobRunning, TenantID: "t", Project: "gone",
		CreatedAt: now, UpdatedAt: now, Tasks: []*Task{}}
	cm := &corev1.ConfigMap{}
	cm.Namespace, cm.Name = "strata-tenants", jobConfigMapName(job.ID)
	cm.Labels = map[string]string{labelJob: job.ID, labelJobActive: "true", LabelTenant: "t"}
	cm.Data = map[string]string{jobKey: string(mustJSON(t, job))}
	if err := h.c.Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.s.JobRunner().Start(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !h.job(job.ID).finished() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := h.job(job.ID)
	if got.Status != JobFailed || len(got.Tasks) != 1 || got.Tasks[0].Name != TaskValidation ||
		got.Tasks[0].Events[len(got.Tasks[0].Events)-1].Error != "the preview app was deleted" {
		t.Errorf("job: %s", mustJSON(t, got))
	}
	_ = h.c.Get(context.Background(), client.ObjectKeyFromObject(cm), cm)
	if cm.Labels[labelJobActive] != "false" {
		t.Errorf("a finished job is still labelled active")
	}
}
