package tenantapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
)

// Labels and annotations of tenant objects.
const (
	// LabelTenant is on every object of a tenant: its tenant id.
	LabelTenant = "strata.dev/tenant"
	// LabelProjectID is on the tenant's Project: the project id (Hasura
	// Cloud's project and tenant ids differ).
	LabelProjectID = "strata.dev/project-id"
	// LabelPreviewApp marks a tenant made by createGitHubPreviewApp.
	LabelPreviewApp = "strata.dev/preview-app"

	AnnotationName      = "strata.dev/tenant-name"
	AnnotationCloud     = "strata.dev/cloud"
	AnnotationRegion    = "strata.dev/region"
	AnnotationPlan      = "strata.dev/plan"
	AnnotationDatabase  = "strata.dev/database"
	AnnotationCreatedBy = "strata.dev/created-by"
	// annotationDeployJob on a preview app's Metadata names the job that
	// last deployed it: changing it makes the Metadata reconcile at once.
	annotationDeployJob = "strata.dev/deploy-job"

	labelManagedBy = "app.kubernetes.io/managed-by"
	managedBy      = "strata-tenant-api"

	// enginePort is controllers.EnginePort.
	enginePort = 8080
	// databaseURLKey is the key of the database Secret.
	databaseURLKey = "url"
)

func envSecretName(project string) string { return project + "-env" }
func dbSecretName(project string) string  { return project + "-db" }
func gitSecretName(project string) string { return project + "-git" }
func sourceObjName(project string) string { return project + "-default" }

// Names: Hasura Cloud project names are lowercase letters, digits,
// hyphens (and, in its examples, underscores). The Project object's name
// is the name with '_' as '-' (a Service name), so "a_b" and "a-b" are
// the same project.
var nameRE = regexp.MustCompile(`^[a-z]([a-z0-9_-]{0,46}[a-z0-9])?$`)

func objectName(name string) (string, error) {
	if !nameRE.MatchString(name) {
		return "", errorf(CodeValidation, "invalid project name %q: use lowercase letters, digits, '-' and '_', starting with a letter, at most 48", name)
	}
	return strings.ReplaceAll(name, "_", "-"), nil
}

var planRE = regexp.MustCompile(`^[a-z0-9_-]{0,40}$`)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func checkUUID(v any) (string, error) {
	s, _ := v.(string)
	s = strings.ToLower(s)
	if !uuidRE.MatchString(s) {
		return "", errorf(CodeValidation, "invalid input syntax for type uuid: %q", s)
	}
	return s, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// --- lookups ---

// findProject returns the tenant Project with the given labels, or nil.
func (s *Server) findProject(ctx context.Context, labels client.MatchingLabels) (*stratav1alpha1.Project, error) {
	var list stratav1alpha1.ProjectList
	if err := s.r.List(ctx, &list, client.InNamespace(s.cfg.Namespace), labels); err != nil {
		return nil, err
	}
	for i := range list.Items {
		if list.Items[i].DeletionTimestamp.IsZero() {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}

func (s *Server) tenant(ctx context.Context, idArg any) (*stratav1alpha1.Project, error) {
	id, err := checkUUID(idArg)
	if err != nil {
		return nil, err
	}
	p, err := s.findProject(ctx, client.MatchingLabels{LabelTenant: id})
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errorf(CodeNotFound, "no tenant %s", id)
	}
	return p, nil
}

func displayName(p *stratav1alpha1.Project) string {
	if n := p.Annotations[AnnotationName]; n != "" {
		return n
	}
	return p.Name
}

func projectReady(p *stratav1alpha1.Project) bool {
	c := meta.FindStatusCondition(p.Status.Conditions, stratav1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && p.Status.ObservedGeneration == p.Generation
}

// endpoint is the project's GraphQL URL (in-cluster).
func endpoint(p *stratav1alpha1.Project) string {
	base := p.Status.Endpoint
	if base == "" {
		base = fmt.Sprintf("http://%s.%s.svc:%d", p.Name, p.Namespace, enginePort)
	}
	return base + "/v1/graphql"
}

// engineURL is where the operator reaches the project's engine.
func (s *Server) engineURL(p *stratav1alpha1.Project) string {
	if s.cfg.EngineAddress != nil {
		return s.cfg.EngineAddress(p.Namespace, p.Name, enginePort)
	}
	return fmt.Sprintf("http://%s.%s.svc:%d", p.Name, p.Namespace, enginePort)
}

func (s *Server) tenantObj(p *stratav1alpha1.Project) obj {
	return obj{
		"id":         p.Labels[LabelTenant],
		"slug":       p.Name,
		"name":       displayName(p),
		"cloud":      p.Annotations[AnnotationCloud],
		"region":     p.Annotations[AnnotationRegion],
		"plan":       nilIfEmpty(p.Annotations[AnnotationPlan]),
		"created_at": ts(p.CreationTimestamp.Time),
		"project":    fieldFunc(func(context.Context, map[string]any) (any, error) { return s.projectObj(p), nil }),
	}
}

func (s *Server) projectObj(p *stratav1alpha1.Project) obj {
	return obj{
		"id":         p.Labels[LabelProjectID],
		"name":       displayName(p),
		"endpoint":   endpoint(p),
		"ready":      projectReady(p),
		"created_at": ts(p.CreationTimestamp.Time),
		"tenant":     fieldFunc(func(context.Context, map[string]any) (any, error) { return s.tenantObj(p), nil }),
	}
}

// --- queries ---

func (s *Server) tenantByPK(ctx context.Context, args map[string]any) (any, error) {
	id, err := checkUUID(args["id"])
	if err != nil {
		return nil, err
	}
	p, err := s.findProject(ctx, client.MatchingLabels{LabelTenant: id})
	if err != nil || p == nil {
		return nil, err
	}
	return s.tenantObj(p), nil
}

func (s *Server) projectsByPK(ctx context.Context, args map[string]any) (any, error) {
	id, err := checkUUID(args["id"])
	if err != nil {
		return nil, err
	}
	p, err := s.findProject(ctx, client.MatchingLabels{LabelProjectID: id})
	if err != nil || p == nil {
		return nil, err
	}
	return s.projectObj(p), nil
}

func (s *Server) projects(ctx context.Context, args map[string]any) (any, error) {
	var list stratav1alpha1.ProjectList
	if err := s.r.List(ctx, &list, client.InNamespace(s.cfg.Namespace), client.HasLabels{LabelTenant}); err != nil {
		return nil, err
	}
	where, _ := args["where"].(map[string]any)
	eq := func(field string) (string, bool) {
		m, _ := where[field].(map[string]any)
		v, ok := m["_eq"]
		return str(v), ok
	}
	idEq, byID := eq("id")
	nameEq, byName := eq("name")
	sort.Slice(list.Items, func(i, j int) bool {
		a, b := list.Items[i].CreationTimestamp, list.Items[j].CreationTimestamp
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return list.Items[i].Name < list.Items[j].Name
	})
	out := []any{}
	for i := range list.Items {
		p := &list.Items[i]
		if !p.DeletionTimestamp.IsZero() || (byID && p.Labels[LabelProjectID] != strings.ToLower(idEq)) ||
			(byName && displayName(p) != nameEq && p.Name != nameEq) {
			continue
		}
		out = append(out, s.projectObj(p))
	}
	if n, ok := intArg(args["limit"]); ok && n >= 0 && n < len(out) {
		out = out[:n]
	}
	return out, nil
}

func intArg(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), true
	case interface{ Int64() (int64, error) }:
		i, err := n.Int64()
		return int(i), err == nil
	}
	return 0, false
}

// --- createTenant / deleteTenant ---

// tenantSpec is what a new tenant is made of.
type tenantSpec struct {
	name, cloud, region, plan string
	env                       map[string]string
	git                       *gitSpec
	createdBy                 string
}

func (s *Server) createTenant(ctx context.Context, args map[string]any) (any, error) {
	spec := tenantSpec{cloud: str(args["cloud"]), region: str(args["region"]), name: str(args["name"]),
		plan: str(args["plan"]), createdBy: callerOf(ctx)}
	if err := checkRegion(s.cfg.Regions, spec.cloud, spec.region); err != nil {
		return nil, err
	}
	if !planRE.MatchString(spec.plan) {
		return nil, errorf(CodeValidation, "invalid plan %q", spec.plan)
	}
	env, err := envArg(args["envs"])
	if err != nil {
		return nil, err
	}
	spec.env = env
	p, err := s.provision(ctx, spec)
	if err != nil {
		return nil, err
	}
	return obj{"id": p.Labels[LabelTenant], "name": displayName(p),
		"tenant":  fieldFunc(func(context.Context, map[string]any) (any, error) { return s.tenantObj(p), nil }),
		"project": fieldFunc(func(context.Context, map[string]any) (any, error) { return s.projectObj(p), nil }),
	}, nil
}

// provision creates a tenant: its Project first (so its name is taken),
// then its database, Secrets, Source and, for a preview app, the git
// credentials and a Metadata fromGit. A failure undoes what was done.
func (s *Server) provision(ctx context.Context, spec tenantSpec) (*stratav1alpha1.Project, error) {
	if s.cfg.Databases == nil {
		return nil, errorf(CodeNotSupported, "this operator has no database server for tenants: run it with --tenant-database-url")
	}
	if err := s.ensureNamespace(ctx); err != nil {
		return nil, err
	}
	tenantID, projectID := uuid.NewString(), uuid.NewString()
	if spec.name == "" {
		spec.name = "project-" + tenantID[:8]
	}
	name, err := objectName(spec.name)
	if err != nil {
		return nil, err
	}
	env := map[string][]byte{}
	for k, v := range spec.env {
		env[k] = []byte(v)
	}
	if _, ok := env[envAdminSecret]; !ok {
		raw := make([]byte, 24)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		env[envAdminSecret] = []byte(hex.EncodeToString(raw))
	}
	db := databaseName(tenantID)
	labels := map[string]string{LabelTenant: tenantID, labelManagedBy: managedBy}
	p := &stratav1alpha1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.cfg.Namespace,
			Labels: withLabels(labels, LabelProjectID, projectID),
			Annotations: map[string]string{AnnotationName: spec.name, AnnotationCloud: spec.cloud, AnnotationRegion: spec.region,
				AnnotationDatabase: db, AnnotationCreatedBy: spec.createdBy}},
		Spec: stratav1alpha1.ProjectSpec{
			Replicas:         ptr.To[int32](1),
			MetadataDatabase: stratav1alpha1.DatabaseRef{URLSecretRef: stratav1alpha1.SecretKeyRef{Name: dbSecretName(name), Key: databaseURLKey}},
			AdminSecretRef:   &stratav1alpha1.SecretKeyRef{Name: envSecretName(name), Key: envAdminSecret},
			Env:              projectEnv(name, env),
		},
	}
	if spec.plan != "" {
		p.Annotations[AnnotationPlan] = spec.plan
	}
	if spec.git != nil {
		p.Labels[LabelPreviewApp] = "true"
		p.Spec.Git = spec.git.source(name)
	}
	if err := s.c.Create(ctx, p); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil, errorf(CodeAlreadyExists, "%s", errTakenMessage(spec.name))
		}
		return nil, err
	}
	undo := func(cause error) error {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := s.deleteObjects(uctx, tenantID); err != nil {
			s.log.Error(err, "undoing a failed createTenant", "tenant", tenantID)
		}
		if err := s.cfg.Databases.Drop(uctx, db); err != nil {
			s.log.Error(err, "undoing a failed createTenant", "tenant", tenantID)
		}
		return cause
	}
	dbURL, err := s.cfg.Databases.Create(ctx, db)
	if err != nil {
		s.log.Error(err, "creating a tenant database", "tenant", tenantID, "database", db)
		return nil, undo(errorf(CodeDatabase, "cannot create the tenant's database: %s", redactURL(err.Error())))
	}
	children := []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: dbSecretName(name)}, Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{databaseURLKey: []byte(dbURL)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: envSecretName(name)}, Type: corev1.SecretTypeOpaque, Data: env},
		&stratav1alpha1.Source{ObjectMeta: metav1.ObjectMeta{Name: sourceObjName(name)}, Spec: stratav1alpha1.SourceSpec{
			ProjectRef: stratav1alpha1.ProjectReference{Name: name}, Name: "default",
			URLSecretRef: stratav1alpha1.SecretKeyRef{Name: dbSecretName(name), Key: databaseURLKey}}},
	}
	if spec.git != nil {
		if spec.git.token != "" {
			children = append(children, spec.git.secret(name))
		}
		children = append(children, &stratav1alpha1.Metadata{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: stratav1alpha1.MetadataSpec{ProjectRef: stratav1alpha1.ProjectReference{Name: name}, FromGit: true}})
	}
	for _, o := range children {
		if err := s.createChild(ctx, p, o); err != nil {
			return nil, undo(err)
		}
	}
	return p, nil
}

func errTakenMessage(name string) string { return fmt.Sprintf("a project named %q exists", name) }

// createChild creates an object of the tenant, owned by its Project (the
// garbage collector removes it with the Project).
func (s *Server) createChild(ctx context.Context, p *stratav1alpha1.Project, o client.Object) error {
	o.SetNamespace(p.Namespace)
	l := o.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	l[LabelTenant] = p.Labels[LabelTenant]
	l[labelManagedBy] = managedBy
	o.SetLabels(l)
	if err := controllerutil.SetOwnerReference(p, o, s.scheme); err != nil {
		return err
	}
	return s.c.Create(ctx, o)
}

func withLabels(m map[string]string, kv ...string) map[string]string {
	out := maps.Clone(m)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func (s *Server) deleteTenant(ctx context.Context, args map[string]any) (any, error) {
	p, err := s.tenant(ctx, args["tenantId"])
	if err != nil {
		return nil, err
	}
	id := p.Labels[LabelTenant]
	if err := s.deleteObjects(ctx, id); err != nil {
		return nil, err
	}
	db := p.Annotations[AnnotationDatabase]
	if db == "" {
		db = databaseName(id)
	}
	if s.cfg.Databases != nil {
		if err := s.cfg.Databases.Drop(ctx, db); err != nil {
			s.log.Error(err, "dropping a tenant database", "tenant", id, "database", db)
			return nil, errorf(CodeDatabase, "the tenant's objects are deleted but its database %s is not: %s", db, redactURL(err.Error()))
		}
	}
	s.log.Info("tenant deleted", "tenant", id, "project", p.Name, "token", callerOf(ctx))
	return obj{"status": "deleted"}, nil
}

// deleteObjects deletes every object labelled with the tenant: Metadata
// and Sources first, then the Project, its Secrets and job records. The
// Project's own children (Deployment, Service...) go with it through
// their owner references.
func (s *Server) deleteObjects(ctx context.Context, tenantID string) error {
	sel := []client.ListOption{client.InNamespace(s.cfg.Namespace), client.MatchingLabels{LabelTenant: tenantID}}
	lists := []client.ObjectList{&stratav1alpha1.MetadataList{}, &stratav1alpha1.SourceList{}, &stratav1alpha1.ProjectList{},
		&corev1.SecretList{}, &corev1.ConfigMapList{}}
	for _, list := range lists {
		if err := s.r.List(ctx, list, sel...); err != nil {
			return err
		}
		if err := meta.EachListItem(list, func(o runtime.Object) error {
			err := s.c.Delete(ctx, o.(client.Object), client.PropagationPolicy(metav1.DeletePropagationBackground))
			return client.IgnoreNotFound(err)
		}); err != nil {
			return err
		}
	}
	return nil
}

// --- env ---

// projectEnv is the Project's env for a tenant env: every variable from
// the env Secret (optional, so deleting one never blocks the engine), but
// the admin secret, which is the Project's adminSecretRef.
func projectEnv(project string, env map[string][]byte) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, k := range sortedKeys(env) {
		if k == envAdminSecret {
			continue
		}
		out = append(out, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: envSecretName(project)}, Key: k, Optional: ptr.To(true)}}})
	}
	return out
}

func (s *Server) readEnv(ctx context.Context, p *stratav1alpha1.Project) (*corev1.Secret, error) {
	var sec corev1.Secret
	if err := s.r.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: envSecretName(p.Name)}, &sec); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, errorf(CodeNotFound, "tenant %s has no env Secret %s", p.Labels[LabelTenant], envSecretName(p.Name))
		}
		return nil, err
	}
	if sec.Data == nil {
		sec.Data = map[string][]byte{}
	}
	return &sec, nil
}

func envObj(env map[string][]byte) obj {
	return obj{"hash": envHash(env), "envVars": envVars(env)}
}

func (s *Server) getTenantEnv(ctx context.Context, args map[string]any) (any, error) {
	p, err := s.tenant(ctx, args["tenantId"])
	if err != nil {
		return nil, err
	}
	sec, err := s.readEnv(ctx, p)
	if err != nil {
		return nil, err
	}
	return envObj(sec.Data), nil
}

func (s *Server) updateTenantEnv(ctx context.Context, args map[string]any) (any, error) {
	set, err := envArg(args["envs"])
	if err != nil {
		return nil, err
	}
	return s.changeEnv(ctx, args, func(env map[string][]byte) error {
		for k, v := range set {
			env[k] = []byte(v)
		}
		return nil
	})
}

func (s *Server) deleteTenantEnv(ctx context.Context, args map[string]any) (any, error) {
	var keys []string
	list, _ := args["deleteEnvs"].([]any)
	if v, ok := args["deleteEnvs"].(string); ok {
		list = []any{v}
	}
	for _, v := range list {
		k, ok := v.(string)
		if !ok {
			continue
		}
		if err := checkEnvKey(k); err != nil {
			return nil, err
		}
		if k == envAdminSecret {
			return nil, errorf(CodeValidation, "%s cannot be deleted: the engine would be open to anyone; set a new value to rotate it", envAdminSecret)
		}
		keys = append(keys, k)
	}
	return s.changeEnv(ctx, args, func(env map[string][]byte) error {
		for _, k := range keys {
			delete(env, k)
		}
		return nil
	})
}

// changeEnv is compare-and-swap on a tenant's env: the change applies
// only if the env still digests to currentHash, and the Secret is written
// with the resourceVersion it was read at, so of two changes made from
// the same hash only one is written. The Project's env entries follow
// the Secret's keys (variables leaving are unwired before the Secret
// loses them, new ones wired after it has them).
func (s *Server) changeEnv(ctx context.Context, args map[string]any, change func(map[string][]byte) error) (any, error) {
	p, err := s.tenant(ctx, args["tenantId"])
	if err != nil {
		return nil, err
	}
	current := str(args["currentHash"])
	sec, err := s.readEnv(ctx, p)
	if err != nil {
		return nil, err
	}
	if envHash(sec.Data) != current {
		return nil, errorf(CodeConflict, "the tenant's env has changed since hash %q was read: read it again with getTenantEnv and retry; nothing was changed", current)
	}
	next := maps.Clone(sec.Data)
	if err := change(next); err != nil {
		return nil, err
	}
	if maps.EqualFunc(next, sec.Data, func(a, b []byte) bool { return string(a) == string(b) }) {
		return envObj(next), nil
	}
	// Unwire removed variables first (kept: those in both).
	both := map[string][]byte{}
	for k, v := range next {
		if _, ok := sec.Data[k]; ok {
			both[k] = v
		}
	}
	if err := s.syncProjectEnv(ctx, p.Name, both); err != nil {
		return nil, err
	}
	sec.Data = next
	if err := s.c.Update(ctx, sec); err != nil {
		// Rewire what the Secret still holds.
		if serr := s.syncEnvFromSecret(ctx, p); serr != nil {
			s.log.Error(serr, "restoring a tenant's env entries", "tenant", p.Labels[LabelTenant])
		}
		if apierrors.IsConflict(err) {
			return nil, errorf(CodeConflict, "the tenant's env was changed concurrently: read it again with getTenantEnv and retry; nothing was changed")
		}
		return nil, err
	}
	if err := s.syncProjectEnv(ctx, p.Name, next); err != nil {
		return nil, err
	}
	s.log.Info("tenant env changed", "tenant", p.Labels[LabelTenant], "token", callerOf(ctx), "keys", len(next))
	return envObj(next), nil
}

func (s *Server) syncEnvFromSecret(ctx context.Context, p *stratav1alpha1.Project) error {
	sec, err := s.readEnv(ctx, p)
	if err != nil {
		return err
	}
	return s.syncProjectEnv(ctx, p.Name, sec.Data)
}

// syncProjectEnv makes the Project's env entries those of env's keys.
func (s *Server) syncProjectEnv(ctx context.Context, name string, env map[string][]byte) error {
	want := projectEnv(name, env)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var p stratav1alpha1.Project
		if err := s.r.Get(ctx, types.NamespacedName{Namespace: s.cfg.Namespace, Name: name}, &p); err != nil {
			return err
		}
		if equality.Semantic.DeepEqual(p.Spec.Env, want) || (len(p.Spec.Env) == 0 && len(want) == 0) {
			return nil
		}
		p.Spec.Env = want
		return s.c.Update(ctx, &p)
	})
}

// upsertEnv sets variables without a hash (a preview app's redeploy).
func (s *Server) upsertEnv(ctx context.Context, p *stratav1alpha1.Project, set map[string]string) error {
	if len(set) == 0 {
		return nil
	}
	var data map[string][]byte
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sec, err := s.readEnv(ctx, p)
		if err != nil {
			return err
		}
		for k, v := range set {
			sec.Data[k] = []byte(v)
		}
		data = sec.Data
		return s.c.Update(ctx, sec)
	})
	if err != nil {
		return err
	}
	return s.syncProjectEnv(ctx, p.Name, data)
}
