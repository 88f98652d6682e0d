package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/jackc/pgx/v5"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/controllers"
	"github.com/strata-dev/strata/controllers/tenantapi"
	"github.com/strata-dev/strata/test/pgtest"
)

// The tenant API end to end: the real API server, the real manager
// serving the API on a real port, real engines on the local node, real
// Postgres databases made per tenant, real git repositories.

const (
	tenantNamespace = "strata-tenants"
	tokenNamespace  = "strata-e2e-operator"
)

var (
	tenantAPIURL  string
	tenantGitRoot string // the preview apps' "GitHub": file://<root>/<owner>/<repo>.git
	tenantDBs     = &lazyDatabases{}
)

// tenantAPIConfig is the tenant API's configuration for TestMain, and
// what to run when the tests are done.
func tenantAPIConfig() (tenantapi.Config, func()) {
	root, err := os.MkdirTemp("", "strata-e2e-git-")
	if err != nil {
		panic(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	tenantAPIURL, tenantGitRoot = "http://"+addr+"/v1/graphql", root
	return tenantapi.Config{
		BindAddress:    addr,
		Namespace:      tenantNamespace,
		TokenNamespace: tokenNamespace,
		Regions:        []tenantapi.Region{{Cloud: "aws", Region: "us-east-2"}, {Cloud: "gcp", Region: "europe-west1"}},
		Databases:      tenantDBs,
		GitBaseURL:     "file://" + root,
		JobPoll:        200 * time.Millisecond,
		JobTimeout:     3 * time.Minute,
	}, func() { _ = os.RemoveAll(root) }
}

// lazyDatabases is tenantapi.Postgres on the package's Postgres server,
// which starts on first use (pgtest needs a test to start it).
type lazyDatabases struct {
	mu    sync.Mutex
	admin string
}

func (l *lazyDatabases) use(t *testing.T) string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.admin == "" {
		l.admin = pgtest.Server(t).URL("postgres")
	}
	return l.admin
}

func (l *lazyDatabases) pg() (tenantapi.Postgres, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.admin == "" {
		return tenantapi.Postgres{}, fmt.Errorf("no Postgres server started yet")
	}
	return tenantapi.Postgres{AdminURL: l.admin}, nil
}

func (l *lazyDatabases) Create(ctx context.Context, name string) (string, error) {
	p, err := l.pg()
	if err != nil {
		return "", err
	}
	return p.Create(ctx, name)
}

func (l *lazyDatabases) Drop(ctx context.Context, name string) error {
	p, err := l.pg()
	if err != nil {
		return err
	}
	return p.Drop(ctx, name)
}

func randomSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// apiToken creates a token (as `strata token create` does) and revokes
// it when the test ends.
func apiToken(t *testing.T) (token, name string) {
	t.Helper()
	ctx := context.Background()
	err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tokenNamespace}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	name = "e2e-" + randomSuffix()
	token, err = tenantapi.CreateToken(ctx, env.Client, tokenNamespace, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tenantapi.RevokeToken(context.Background(), env.Client, tokenNamespace, name) })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	return token, name
}

type apiResponse struct {
	Data   map[string]any `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
	raw string
}

func (r apiResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// tenantCall posts an operation to the tenant API with `Authorization:
// <auth>` (none when empty).
func tenantCall(t *testing.T, auth, query string, vars map[string]any) apiResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	var r apiResponse
	eventuallyQuiet(t, "the tenant API answers", 30*time.Second, func() (bool, string) {
		req, _ := http.NewRequest(http.MethodPost, tenantAPIURL, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error() // the server starts with the manager
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		r = apiResponse{raw: string(b)}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("response %d %q: %v", resp.StatusCode, b, err)
		}
		return true, ""
	})
	return r
}

func tenantOK(t *testing.T, token, query string, vars map[string]any) map[string]any {
	t.Helper()
	r := tenantCall(t, "pat "+token, query, vars)
	if len(r.Errors) > 0 || r.Data == nil {
		t.Fatalf("%s\n-> %s", query, r.raw)
	}
	return r.Data
}

// eventuallyQuiet is eventually without the log line, with a timeout.
func eventuallyQuiet(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	start := time.Now()
	var last string
	for time.Since(start) < timeout {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: still not after %v: %s", what, timeout, last)
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// engineAt maps a project's in-cluster endpoint to its engine on the
// local node.
func engineAt(t *testing.T, endpoint string) string {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(u.Hostname(), ".")
	if len(parts) != 3 || parts[2] != "svc" || u.Port() != fmt.Sprint(controllers.EnginePort) || u.Path != "/v1/graphql" {
		t.Fatalf("endpoint %q is not http://<project>.<namespace>.svc:8080/v1/graphql", endpoint)
	}
	return node.Address(parts[1], parts[0], controllers.EnginePort)
}

func adminGraphQL(t *testing.T, engineURL, adminSecret, query string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequest(http.MethodPost, engineURL+"/v1/graphql", bytes.NewReader(body))
	req.Header.Set("X-Hasura-Admin-Secret", adminSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func envOf(t *testing.T, token, tenantID string) (hash string, vars map[string]string) {
	t.Helper()
	got := tenantOK(t, token, `query($id: uuid!) { getTenantEnv(tenantId: $id) { hash envVars } }`, map[string]any{"id": tenantID})
	vars = map[string]string{}
	for _, kv := range dig(got, "getTenantEnv", "envVars").([]any) {
		vars[dig(kv, "key").(string)] = dig(kv, "value").(string)
	}
	return dig(got, "getTenantEnv", "hash").(string), vars
}

// cleanupTenant deletes a tenant through the API at the end of a test,
// and the engine Deployment the garbage collector (absent from envtest)
// would remove.
func cleanupTenant(t *testing.T, token, tenantID, project string) {
	t.Cleanup(func() {
		r := tenantCall(t, "pat "+token, `mutation($id: uuid!) { deleteTenant(tenantId: $id) { status } }`, map[string]any{"id": tenantID})
		if len(r.Errors) > 0 && r.code() != tenantapi.CodeNotFound {
			t.Errorf("cleanup deleteTenant: %s", r.raw)
		}
		_ = env.Client.Delete(context.Background(), &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: tenantNamespace, Name: project}})
	})
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), tenantDBs.use(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// Every operation refuses a request without a token, with a wrong one and
// with a revoked one, with an error code and no data, and changes nothing.
func TestTenantAPIRefusesMissingWrongAndRevokedTokens(t *testing.T) {
	token, _ := apiToken(t)
	revoked, revokedName := apiToken(t)
	if r := tenantCall(t, "pat "+revoked, `{ tenant_by_pk(id: "7a79cf94-0e53-4520-a560-1b02bf522f08") { id } }`, nil); len(r.Errors) > 0 {
		t.Fatalf("before revoking: %s", r.raw)
	}
	if err := tenantapi.RevokeToken(context.Background(), env.Client, tokenNamespace, revokedName); err != nil {
		t.Fatal(err)
	}
	id := "7a79cf94-0e53-4520-a560-1b02bf522f08"
	ops := map[string]string{
		"projects_by_pk":  `{ projects_by_pk(id: "` + id + `") { id } }`,
		"tenant_by_pk":    `{ tenant_by_pk(id: "` + id + `") { id } }`,
		"getTenantEnv":    `{ getTenantEnv(tenantId: "` + id + `") { hash } }`,
		"jobs_by_pk":      `{ jobs_by_pk(id: "` + id + `") { id } }`,
		"createTenant":    `mutation { createTenant(cloud: "aws", region: "us-east-2", name: "refused") { id } }`,
		"deleteTenant":    `mutation { deleteTenant(tenantId: "` + id + `") { status } }`,
		"updateTenantEnv": `mutation { updateTenantEnv(tenantId: "` + id + `", currentHash: "x", envs: [{key: "A", value: "b"}]) { hash } }`,
		"deleteTenantEnv": `mutation { deleteTenantEnv(tenantId: "` + id + `", currentHash: "x", deleteEnvs: ["A"]) { hash } }`,
		"createGitHubPreviewApp": `mutation { createGitHubPreviewApp(payload: {githubPersonalAccessToken: "t",
			githubRepoDetails: {branch: "main", owner: "o", repo: "r", directory: ""},
			projectOptions: {cloud: "aws", region: "us-east-2", name: "refused"}}) { githubPreviewAppJobID } }`,
	}
	for op, query := range ops {
		for what, auth := range map[string]string{
			"no token":      "",
			"not pat":       "Bearer " + token,
			"wrong token":   "pat " + token[:len(token)-2] + "xx",
			"unknown token": "pat strata_pat_" + strings.Repeat("A", 43),
			"revoked token": "pat " + revoked,
		} {
			r := tenantCall(t, auth, query, nil)
			want := tenantapi.CodeInvalidToken
			if what == "no token" || what == "not pat" {
				want = tenantapi.CodeInvalidHeaders
			}
			if r.code() != want || r.Data != nil || !strings.HasPrefix(r.raw, `{"errors":[{"message":`) {
				t.Errorf("%s with %s: %s, want only an error with code %s", op, what, r.raw, want)
			}
		}
	}
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: tenantNamespace, Name: "refused"}, &stratav1alpha1.Project{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("a refused createTenant made a Project: %v", err)
	}
	// The valid token is served.
	if got := tenantOK(t, token, ops["tenant_by_pk"], nil); got["tenant_by_pk"] != nil {
		t.Errorf("an unknown tenant: %v", got)
	}
}

// createTenant makes a Project with its own database that becomes Ready
// and answers at its endpoint; the env is compare-and-swap (a right hash
// changes it and rolls the engine, a stale one is refused and changes
// nothing, of two concurrent changes one wins); deleteTenant removes the
// objects and drops the database.
func TestTenantLifecycleWithCompareAndSwapEnv(t *testing.T) {
	tenantDBs.use(t)
	token, _ := apiToken(t)
	ctx := context.Background()
	name := "e2e-shop-" + randomSuffix()

	r := tenantCall(t, "pat "+token, `mutation { createTenant(cloud: "aws", region: "eu-north-1") { id } }`, nil)
	if r.code() != tenantapi.CodeValidation || !strings.Contains(r.raw, "aws/us-east-2, gcp/europe-west1") {
		t.Errorf("an unlisted region: %s", r.raw)
	}
	created := tenantOK(t, token, `mutation($name: String, $envs: [UpdateEnvsObject]) {
		createTenant(cloud: "gcp", region: "europe-west1", name: $name, envs: $envs) { id name project { id endpoint } } }`,
		map[string]any{"name": name, "envs": []any{map[string]any{"key": "MY_VAR", "value": "one"}}})
	tenantID := dig(created, "createTenant", "id").(string)
	projectID := dig(created, "createTenant", "project", "id").(string)
	ep := dig(created, "createTenant", "project", "endpoint").(string)
	cleanupTenant(t, token, tenantID, name)
	if dig(created, "createTenant", "name") != name || ep != "http://"+name+"."+tenantNamespace+".svc:8080/v1/graphql" {
		t.Errorf("createTenant: %v", created)
	}

	project := &stratav1alpha1.Project{ObjectMeta: metav1.ObjectMeta{Namespace: tenantNamespace, Name: name}}
	waitReady(t, project)
	if project.Labels[tenantapi.LabelTenant] != tenantID || project.Annotations[tenantapi.AnnotationCloud] != "gcp" ||
		project.Annotations[tenantapi.AnnotationRegion] != "europe-west1" {
		t.Errorf("project labels/annotations: %v %v", project.Labels, project.Annotations)
	}
	waitReady(t, &stratav1alpha1.Source{ObjectMeta: metav1.ObjectMeta{Namespace: tenantNamespace, Name: name + "-default"}})

	got := tenantOK(t, token, `query($p: uuid!, $t: uuid!) {
		projects_by_pk(id: $p) { id name endpoint ready tenant { id } }
		tenant_by_pk(id: $t) { id slug project { id endpoint } } }`, map[string]any{"p": projectID, "t": tenantID})
	if dig(got, "projects_by_pk", "tenant", "id") != tenantID || dig(got, "projects_by_pk", "ready") != true ||
		dig(got, "tenant_by_pk", "project", "id") != projectID || dig(got, "tenant_by_pk", "project", "endpoint") != ep ||
		dig(got, "tenant_by_pk", "slug") != name {
		t.Errorf("lookups: %v", got)
	}

	// The endpoint answers, with the admin secret the env holds.
	hash1, vars := envOf(t, token, tenantID)
	admin := vars["HASURA_GRAPHQL_ADMIN_SECRET"]
	if len(admin) < 32 || vars["MY_VAR"] != "one" {
		t.Fatalf("env: %v", vars)
	}
	engineURL := engineAt(t, ep)
	if got := adminGraphQL(t, engineURL, admin, `{ __typename }`); !strings.Contains(got, `"data"`) {
		t.Errorf("the endpoint: %s", got)
	}
	// Its data lives in the tenant's own database, which only its own
	// role may open.
	var dbSecret corev1.Secret
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: tenantNamespace, Name: name + "-db"}, &dbSecret); err != nil {
		t.Fatal(err)
	}
	dbURL, _ := url.Parse(string(dbSecret.Data["url"]))
	dbName := strings.TrimPrefix(dbURL.Path, "/")
	if want := "tenant_" + strings.ReplaceAll(tenantID, "-", ""); dbName != want || dbURL.User.Username() != want || !databaseExists(t, dbName) {
		t.Errorf("tenant database %q (user %q)", dbName, dbURL.User.Username())
	}

	configHash := func() string {
		var d appsv1.Deployment
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: tenantNamespace, Name: name}, &d); err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Annotations["strata.dev/config-hash"]
	}
	envSecret := func() *corev1.Secret {
		var s corev1.Secret
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: tenantNamespace, Name: name + "-env"}, &s); err != nil {
			t.Fatal(err)
		}
		return &s
	}
	hashBefore := configHash()

	update := `mutation($id: uuid!, $hash: String!, $envs: [UpdateEnvsObject]!) {
		updateTenantEnv(tenantId: $id, currentHash: $hash, envs: $envs) { hash envVars } }`
	kv := func(k, v string) map[string]any { return map[string]any{"key": k, "value": v} }

	// The right hash: the env changes and the engine's pods roll.
	got = tenantOK(t, token, update, map[string]any{"id": tenantID, "hash": hash1, "envs": []any{kv("MY_VAR", "two"), kv("NEW_VAR", "x")}})
	hash2 := dig(got, "updateTenantEnv", "hash").(string)
	if hash2 == hash1 {
		t.Error("the hash did not change")
	}
	if s := envSecret(); string(s.Data["MY_VAR"]) != "two" || string(s.Data["NEW_VAR"]) != "x" {
		t.Errorf("env Secret after the update: %v", s.Data)
	}
	eventually(t, "the pod template's config hash changes", func() (bool, string) {
		h := configHash()
		return h != hashBefore && h != "", h
	})
	waitReady(t, project)
	var dep appsv1.Deployment
	_ = env.Client.Get(ctx, client.ObjectKey{Namespace: tenantNamespace, Name: name}, &dep)
	var envNames []string
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		envNames = append(envNames, e.Name)
	}
	if !strings.Contains(strings.Join(envNames, ","), "NEW_VAR") {
		t.Errorf("the engine's env lacks NEW_VAR: %v", envNames)
	}
	if h, _ := envOf(t, token, tenantID); h != hash2 {
		t.Errorf("getTenantEnv hash %s, updateTenantEnv said %s", h, hash2)
	}

	// A stale hash is refused and nothing changes.
	before, hashAfterUpdate := envSecret(), configHash()
	r = tenantCall(t, "pat "+token, update, map[string]any{"id": tenantID, "hash": hash1, "envs": []any{kv("MY_VAR", "three")}})
	if r.code() != tenantapi.CodeConflict || r.Data != nil || !strings.Contains(r.Errors[0].Message, "getTenantEnv") {
		t.Errorf("a stale hash: %s", r.raw)
	}
	if after := envSecret(); after.ResourceVersion != before.ResourceVersion || string(after.Data["MY_VAR"]) != "two" {
		t.Errorf("a refused update wrote the env: %v", after.Data)
	}
	waitReady(t, project)
	if h := configHash(); h != hashAfterUpdate {
		t.Errorf("a refused update rolled the engine: %s -> %s", hashAfterUpdate, h)
	}

	// Two changes from the same hash at once: exactly one wins.
	var wg sync.WaitGroup
	results := make([]apiResponse, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = tenantCall(t, "pat "+token, update, map[string]any{"id": tenantID, "hash": hash2,
				"envs": []any{kv("RACE", fmt.Sprint(i))}})
		}()
	}
	wg.Wait()
	won := 0
	for _, r := range results {
		switch {
		case len(r.Errors) == 0:
			won++
		case r.code() != tenantapi.CodeConflict:
			t.Errorf("the losing update: %s", r.raw)
		}
	}
	if won != 1 {
		t.Errorf("%d of two concurrent updates from one hash won: %s / %s", won, results[0].raw, results[1].raw)
	}

	// deleteTenantEnv is compare-and-swap too.
	hash3, _ := envOf(t, token, tenantID)
	del := `mutation($id: uuid!, $hash: String!, $keys: [String]!) { deleteTenantEnv(tenantId: $id, currentHash: $hash, deleteEnvs: $keys) { hash envVars } }`
	if r := tenantCall(t, "pat "+token, del, map[string]any{"id": tenantID, "hash": hash2, "keys": []any{"NEW_VAR"}}); r.code() != tenantapi.CodeConflict {
		t.Errorf("deleteTenantEnv with a stale hash: %s", r.raw)
	}
	tenantOK(t, token, del, map[string]any{"id": tenantID, "hash": hash3, "keys": []any{"NEW_VAR"}})
	if _, vars := envOf(t, token, tenantID); vars["NEW_VAR"] != "" || vars["MY_VAR"] != "two" {
		t.Errorf("env after deleteTenantEnv: %v", vars)
	}
	eventually(t, "NEW_VAR unwired from the Project", func() (bool, string) {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(project), project)
		for _, e := range project.Spec.Env {
			if e.Name == "NEW_VAR" {
				return false, fmt.Sprint(project.Spec.Env)
			}
		}
		return true, ""
	})

	// deleteTenant: the objects go and the database is dropped.
	got = tenantOK(t, token, `mutation($id: uuid!) { deleteTenant(tenantId: $id) { status } }`, map[string]any{"id": tenantID})
	if dig(got, "deleteTenant", "status") != "deleted" {
		t.Errorf("deleteTenant: %v", got)
	}
	if databaseExists(t, dbName) {
		t.Error("the tenant database was not dropped")
	}
	for _, o := range []client.Object{project, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tenantNamespace, Name: name + "-env"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tenantNamespace, Name: name + "-db"}}} {
		eventually(t, fmt.Sprintf("%T %s deleted", o, o.GetName()), func() (bool, string) {
			err := env.Client.Get(ctx, client.ObjectKeyFromObject(o), o)
			return apierrors.IsNotFound(err), fmt.Sprint(err)
		})
	}
	eventually(t, "Source released", func() (bool, string) {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: tenantNamespace, Name: name + "-default"}, &stratav1alpha1.Source{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	if got := tenantOK(t, token, `query($t: uuid!) { tenant_by_pk(id: $t) { id } }`, map[string]any{"t": tenantID}); got["tenant_by_pk"] != nil {
		t.Errorf("a deleted tenant: %v", got)
	}
}

// previewRepo makes <root>/<owner>/shop.git with a Hasura CLI project
// under hasura/ whose first migration is up.
func previewRepo(t *testing.T, up string) (owner string, repo *gitRepo) {
	t.Helper()
	owner = "acme-" + randomSuffix()
	dir := filepath.Join(tenantGitRoot, owner, "shop.git")
	r, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	repo = &gitRepo{t: t, dir: dir, repo: r}
	repo.commit(map[string]string{
		"hasura/config.yaml":                                        "version: 3\nendpoint: http://localhost:8080\n",
		"hasura/metadata/version.yaml":                              "version: 3\n",
		"hasura/metadata/databases/databases.yaml":                  "- name: default\n  kind: postgres\n  configuration:\n    connection_info:\n      database_url:\n        from_env: HASURA_GRAPHQL_DATABASE_URL\n  tables: \"!include default/tables/tables.yaml\"\n",
		"hasura/metadata/databases/default/tables/tables.yaml":      "- \"!include public_book.yaml\"\n",
		"hasura/metadata/databases/default/tables/public_book.yaml": bookTable("id, title"),
		"hasura/migrations/default/1700000000000_init/up.sql":       up,
		"hasura/migrations/default/1700000000000_init/down.sql":     "DROP TABLE book;",
	})
	return owner, repo
}

const createPreviewApp = `mutation createPreviewApp($githubPAT: String!, $appName: String!, $githubRepoOwner: String!,
	$githubRepo: String!, $githubBranch: String!, $githubDir: String!, $region: String!, $cloud: String!,
	$plan: String!, $env: [UpdateEnvsObject]) {
  createGitHubPreviewApp(payload: {
    githubPersonalAccessToken: $githubPAT,
    githubRepoDetails: {branch: $githubBranch, owner: $githubRepoOwner, repo: $githubRepo, directory: $githubDir},
    projectOptions: {cloud: $cloud, region: $region, plan: $plan, name: $appName, envVars: $env}
  }) { githubPreviewAppJobID }
}`

// previewVars are the variables the hasura-cloud-preview-apps action sends.
func previewVars(ghToken, name, owner string) map[string]any {
	return map[string]any{"githubPAT": ghToken, "appName": name, "githubRepoOwner": owner, "githubRepo": "shop",
		"githubBranch": "master", "githubDir": "hasura", "region": "us-east-2", "cloud": "aws", "plan": "cloud_free",
		"env": []any{map[string]any{"key": "HASURA_GRAPHQL_UNAUTHORIZED_ROLE", "value": "anonymous"}}}
}

type jobView struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Tasks  []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
		Cloud  string `json:"cloud"`
		Region string `json:"region"`
		Events []struct {
			Type  string         `json:"event_type"`
			Data  map[string]any `json:"public_event_data"`
			Error string         `json:"error"`
		} `json:"task_events"`
	} `json:"tasks"`
}

// waitJob polls jobs_by_pk until the job finishes.
func waitJob(t *testing.T, token, id string) jobView {
	t.Helper()
	var job jobView
	start := time.Now()
	eventuallyQuiet(t, "job "+id+" finished", 3*time.Minute, func() (bool, string) {
		got := tenantOK(t, token, `query getJobStatus($jobId: uuid!) { jobs_by_pk(id: $jobId) { id status
			tasks(order_by: {created_at: asc}) { name status cloud region
				task_events(order_by: {created_at: asc}) { event_type public_event_data error } } } }`, map[string]any{"jobId": id})
		b, _ := json.Marshal(got["jobs_by_pk"])
		job = jobView{}
		_ = json.Unmarshal(b, &job)
		return job.Status == tenantapi.JobSuccess || job.Status == tenantapi.JobFailed || job.Status == tenantapi.JobSkipped, string(b)
	})
	t.Logf("job %s %s after %v", id, job.Status, time.Since(start).Round(10*time.Millisecond))
	return job
}

func taskSummary(j jobView) string {
	var s []string
	for _, task := range j.Tasks {
		s = append(s, task.Name+"="+task.Status)
	}
	return strings.Join(s, ",")
}

// A preview app from a repository: the job runs every task to success,
// the preview serves the migrated tables through its metadata, and the
// GitHub token is in its Secret and nowhere else.
func TestPreviewAppDeploysMigrationsAndMetadataFromGit(t *testing.T) {
	tenantDBs.use(t)
	token, _ := apiToken(t)
	ctx := context.Background()
	owner, _ := previewRepo(t, "CREATE TABLE book (id int PRIMARY KEY, title text NOT NULL);\nINSERT INTO book VALUES (1, 'Dune');")
	ghToken := "ghp_" + randomSuffix() + randomSuffix() + "e2esecret"
	name := "pr_" + randomSuffix()
	objName := strings.ReplaceAll(name, "_", "-")

	created := tenantOK(t, token, createPreviewApp, previewVars(ghToken, name, owner))
	jobID := dig(created, "createGitHubPreviewApp", "githubPreviewAppJobID").(string)
	// As the preview-app action finds it again: projects by name.
	found := tenantOK(t, token, `query getTenantId($projectName: String!) { projects(where: {name: {_eq: $projectName}}) { id endpoint tenant { id } } }`,
		map[string]any{"projectName": name})
	projects := found["projects"].([]any)
	if len(projects) != 1 {
		t.Fatalf("projects named %s: %v", name, found)
	}
	tenantID := dig(projects[0], "tenant", "id").(string)
	cleanupTenant(t, token, tenantID, objName)

	job := waitJob(t, token, jobID)
	want := "gh-validation=success,parse-metadata-migration=success,apply-migration=success,apply-metadata=success,reload-metadata=success,check-healthz=success"
	if job.Status != tenantapi.JobSuccess || taskSummary(job) != want {
		b, _ := json.Marshal(job)
		t.Fatalf("job: %s", b)
	}
	for _, task := range job.Tasks {
		if len(task.Events) != 2 || task.Events[0].Type != "created" || task.Events[1].Type != "success" || task.Cloud != "aws" || task.Region != "us-east-2" {
			t.Errorf("task %s: %+v", task.Name, task)
		}
	}
	if ev := job.Tasks[0].Events[1].Data; ev["projectId"] != dig(projects[0], "id") || ev["githubDeploymentJobID"] != jobID || len(fmt.Sprint(ev["commit"])) != 40 {
		t.Errorf("gh-validation's success event: %v", ev)
	}

	url := engineAt(t, dig(projects[0], "endpoint").(string))
	if got := graphql(t, url, `{ book { id title } }`); got != `{"data":{"book":[{"id":1,"title":"Dune"}]}}` {
		t.Errorf("the preview's GraphQL: %s", got)
	}

	// The token is in the preview's git Secret, and nowhere else: no other
	// Secret, ConfigMap (job records), Project, Metadata, Source, Event,
	// nor the operator's and engines' logs.
	var gitSecret corev1.Secret
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: tenantNamespace, Name: objName + "-git"}, &gitSecret); err != nil ||
		string(gitSecret.Data["password"]) != ghToken {
		t.Fatalf("the git Secret: %v", err)
	}
	leaks := func(what string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, form := range []string{ghToken, base64.StdEncoding.EncodeToString([]byte(ghToken))} {
			if bytes.Contains(b, []byte(form)) {
				t.Errorf("the GitHub token is in %s", what)
			}
		}
	}
	var secrets corev1.SecretList
	var cms corev1.ConfigMapList
	var projs stratav1alpha1.ProjectList
	var mds stratav1alpha1.MetadataList
	var srcs stratav1alpha1.SourceList
	var events corev1.EventList
	var events2 eventsv1.EventList
	for _, l := range []client.ObjectList{&secrets, &cms, &projs, &mds, &srcs, &events, &events2} {
		if err := env.Client.List(ctx, l, client.InNamespace(tenantNamespace)); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range secrets.Items {
		if s.Name != gitSecret.Name {
			leaks("Secret "+s.Name, s)
		}
	}
	if len(cms.Items) == 0 || len(events2.Items)+len(events.Items) == 0 || len(mds.Items) == 0 {
		t.Errorf("nothing to search: %d ConfigMaps, %d+%d Events, %d Metadata", len(cms.Items), len(events.Items), len(events2.Items), len(mds.Items))
	}
	leaks("a ConfigMap", cms.Items)
	leaks("a Project", projs.Items)
	leaks("a Metadata", mds.Items)
	leaks("a Source", srcs.Items)
	leaks("an Event", events.Items)
	leaks("an Event", events2.Items)
	leaks("the logs", logs.String())
	if !strings.Contains(logs.String(), "tenant API request") {
		t.Error("the operator's logs were not captured")
	}
}

// A migration Postgres refuses fails the job at apply-migration with
// Postgres's error; the next tasks do not run. Deploying the same name
// again after a fix is the same tenant, and succeeds.
func TestPreviewAppWithABrokenMigrationFailsAtApplyMigration(t *testing.T) {
	tenantDBs.use(t)
	token, _ := apiToken(t)
	owner, repo := previewRepo(t, "CREATE TABLE book (id int PRIMARY KEY, title text NOT NULL);\nINSERT INTO no_such_table VALUES (1);")
	name := "broken-" + randomSuffix()
	vars := previewVars("ghp_"+randomSuffix(), name, owner)

	jobID := dig(tenantOK(t, token, createPreviewApp, vars), "createGitHubPreviewApp", "githubPreviewAppJobID").(string)
	found := tenantOK(t, token, `query($n: String!) { projects(where: {name: {_eq: $n}}) { id tenant { id } } }`, map[string]any{"n": name})
	tenantID := dig(found["projects"].([]any)[0], "tenant", "id").(string)
	cleanupTenant(t, token, tenantID, name)

	job := waitJob(t, token, jobID)
	if job.Status != tenantapi.JobFailed || taskSummary(job) != "gh-validation=success,parse-metadata-migration=success,apply-migration=failed" {
		b, _ := json.Marshal(job)
		t.Fatalf("job: %s", b)
	}
	last := job.Tasks[2].Events[len(job.Tasks[2].Events)-1]
	if last.Type != "failed" || !strings.Contains(last.Error, `relation "no_such_table" does not exist`) {
		t.Errorf("apply-migration's failure: %+v", last)
	}

	// Fixed on the branch, deployed again under the same name.
	repo.commit(map[string]string{
		"hasura/migrations/default/1700000000000_init/up.sql": "CREATE TABLE book (id int PRIMARY KEY, title text NOT NULL);\nINSERT INTO book VALUES (2, 'Emma');",
	})
	jobID2 := dig(tenantOK(t, token, createPreviewApp, vars), "createGitHubPreviewApp", "githubPreviewAppJobID").(string)
	if job := waitJob(t, token, jobID2); job.Status != tenantapi.JobSuccess {
		b, _ := json.Marshal(job)
		t.Fatalf("the redeploy's job: %s", b)
	}
	found = tenantOK(t, token, `query($n: String!) { projects(where: {name: {_eq: $n}}) { endpoint tenant { id } } }`, map[string]any{"n": name})
	if ps := found["projects"].([]any); len(ps) != 1 || dig(ps[0], "tenant", "id") != tenantID {
		t.Fatalf("after the redeploy: %v", found)
	}
	url := engineAt(t, dig(found["projects"].([]any)[0], "endpoint").(string))
	if got := graphql(t, url, `{ book { id title } }`); got != `{"data":{"book":[{"id":2,"title":"Emma"}]}}` {
		t.Errorf("the fixed preview: %s", got)
	}
	if job := waitJob(t, token, jobID); job.Status != tenantapi.JobFailed {
		t.Errorf("the first job became %s", job.Status)
	}
}
