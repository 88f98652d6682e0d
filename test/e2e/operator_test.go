package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/controllers"
	engineclient "github.com/strata-dev/strata/engine/client"
	"github.com/strata-dev/strata/test/pgtest"
)

// shop is one Project with a data database (a product table), its
// Source and its Metadata, created the way `kubectl apply -f` would.
type shop struct {
	ns                        string
	project                   *stratav1alpha1.Project
	source                    *stratav1alpha1.Source
	metadata                  *stratav1alpha1.Metadata
	dataURL                   string
	anonymousColumns, allCols []string
}

func productMetadata(columns ...string) map[string]any {
	return map[string]any{
		"version": 3,
		"sources": []any{map[string]any{
			"name": "default", "kind": "postgres",
			"tables": []any{map[string]any{
				"table": map[string]any{"schema": "public", "name": "product"},
				"select_permissions": []any{map[string]any{
					"role": "anonymous", "permission": map[string]any{"columns": columns, "filter": map[string]any{}},
				}},
			}},
		}},
	}
}

func newShop(t *testing.T, replicas int32, drift stratav1alpha1.DriftPolicy) *shop {
	t.Helper()
	ns := namespace(t)
	metaURL, dataURL := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	conn, err := pgx.Connect(context.Background(), dataURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `CREATE TABLE product (id int PRIMARY KEY, name text NOT NULL, price numeric);
		INSERT INTO product VALUES (1, 'tea', 3.5), (2, 'cake', 4)`); err != nil {
		t.Fatal(err)
	}
	s := &shop{ns: ns, dataURL: dataURL}
	s.project = &stratav1alpha1.Project{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"},
		Spec: stratav1alpha1.ProjectSpec{
			Replicas:         ptr.To(replicas),
			MetadataDatabase: stratav1alpha1.DatabaseRef{URLSecretRef: stratav1alpha1.SecretKeyRef{Name: "shop-db", Key: "metadata"}},
			Env:              []corev1.EnvVar{{Name: "HASURA_GRAPHQL_UNAUTHORIZED_ROLE", Value: "anonymous"}},
		},
	}
	s.source = &stratav1alpha1.Source{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-default"},
		Spec: stratav1alpha1.SourceSpec{ProjectRef: stratav1alpha1.ProjectReference{Name: "shop"}, Name: "default",
			URLSecretRef: stratav1alpha1.SecretKeyRef{Name: "shop-db", Key: "data"},
			PoolSettings: &stratav1alpha1.PoolSettings{MaxConnections: ptr.To[int32](5)}},
	}
	s.metadata = &stratav1alpha1.Metadata{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"},
		Spec: stratav1alpha1.MetadataSpec{ProjectRef: stratav1alpha1.ProjectReference{Name: "shop"},
			DriftPolicy: drift, Metadata: rawJSON(t, productMetadata("id", "name"))},
	}
	// All at once and in the "wrong" order, as kubectl apply -f dir/
	// does: the Secret last, so everything has to wait for something.
	create(t, s.metadata, s.source, s.project, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-db"},
		StringData: map[string]string{"metadata": metaURL, "data": dataURL},
	})
	waitReady(t, s.project)
	waitReady(t, s.source)
	waitReady(t, s.metadata)
	return s
}

func (s *shop) engine(t *testing.T) *engineclient.Client { return engineFor(t, s.ns, "shop") }

// Project + Source + Metadata from creation to Ready, serving a query
// through the Service's engine with the applied metadata; then editing
// the Metadata is applied; then deleting the Source drops it from the
// engine, and the Project owns everything it made.
func TestProjectSourceMetadataServeAQuery(t *testing.T) {
	s := newShop(t, 2, stratav1alpha1.DriftCorrect)
	url := s.engine(t).URL
	if got := graphql(t, url, `{ product(order_by: {id: asc}) { id name } }`); got != `{"data":{"product":[{"id":1,"name":"tea"},{"id":2,"name":"cake"}]}}` {
		t.Fatalf("query through the engine: %s", got)
	}
	if s.project.Status.Endpoint != "http://shop."+s.ns+".svc:8080" || s.project.Status.ReadyReplicas != 2 || s.project.Status.EngineVersion == "" {
		t.Errorf("project status: %+v", s.project.Status)
	}

	// The children, each controlled by the Project (so the garbage
	// collector removes them with it).
	ctx := context.Background()
	var dep appsv1.Deployment
	var svc corev1.Service
	var sec corev1.Secret
	var pdb policyv1.PodDisruptionBudget
	for _, c := range []struct {
		name string
		obj  client.Object
	}{{"shop", &dep}, {"shop", &svc}, {"shop-admin-secret", &sec}, {"shop", &pdb}} {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: c.name}, c.obj); err != nil {
			t.Fatalf("%T %s: %v", c.obj, c.name, err)
		}
		if !metav1.IsControlledBy(c.obj, s.project) {
			t.Errorf("%T %s is not controlled by the Project: %+v", c.obj, c.name, c.obj.GetOwnerReferences())
		}
	}
	ctr := dep.Spec.Template.Spec.Containers[0]
	if ctr.Image != "strata:e2e" || ctr.Args[0] != "serve" || ctr.ReadinessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("engine container: %+v", ctr)
	}
	if len(sec.Data["admin-secret"]) != 64 {
		t.Errorf("generated admin secret has %d bytes", len(sec.Data["admin-secret"]))
	}

	// Editing the Metadata is applied: the price column appears.
	update(t, s.metadata, func(m *stratav1alpha1.Metadata) {
		m.Spec.Metadata = rawJSON(t, productMetadata("id", "name", "price"))
	})
	eventually(t, "edited metadata served", func() (bool, string) {
		got := graphql(t, url, `{ product(where: {id: {_eq: 1}}) { price } }`)
		return got == `{"data":{"product":[{"price":3.5}]}}`, got
	})
	waitReady(t, s.metadata)

	// Scaling to one replica removes the PodDisruptionBudget.
	update(t, s.project, func(p *stratav1alpha1.Project) { p.Spec.Replicas = ptr.To[int32](1) })
	waitReady(t, s.project)
	eventually(t, "PDB removed", func() (bool, string) {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: "shop"}, &policyv1.PodDisruptionBudget{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})

	// Deleting the Source drops it from the engine, then the object goes.
	if err := env.Client.Delete(ctx, s.source); err != nil {
		t.Fatal(err)
	}
	eventually(t, "source dropped", func() (bool, string) {
		exp, err := s.engine(t).ExportMetadata(ctx)
		if err != nil {
			return false, err.Error()
		}
		return !strings.Contains(string(exp.Metadata), `"name":"default"`), string(exp.Metadata)
	})
	eventually(t, "Source object gone", func() (bool, string) {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(s.source), &stratav1alpha1.Source{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	// Without its source the Metadata waits for one rather than applying
	// a document the engine cannot serve.
	waitCondition(t, s.metadata, stratav1alpha1.ConditionReady, metav1.ConditionFalse, "DependencyNotReady")
}

// Someone changes the engine's metadata behind the controller's back:
// with driftPolicy Correct it is put back; with Report it is left and
// reported.
func TestDriftCorrectedOrReported(t *testing.T) {
	s := newShop(t, 1, stratav1alpha1.DriftCorrect)
	ctx := context.Background()
	engine := s.engine(t)
	applied := s.metadata.Status.AppliedResourceVersion

	outsideChange := func(name string) int64 {
		t.Helper()
		exp, err := engine.ExportMetadata(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		_ = json.Unmarshal(exp.Metadata, &doc)
		doc["query_collections"] = []any{map[string]any{"name": name, "definition": map[string]any{"queries": []any{}}}}
		raw, _ := json.Marshal(doc)
		if _, err := engine.ReplaceMetadata(ctx, exp.ResourceVersion, raw, false); err != nil {
			t.Fatal(err)
		}
		return exp.ResourceVersion + 1
	}
	hasCollection := func(name string) (bool, string) {
		exp, err := engine.ExportMetadata(ctx)
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(string(exp.Metadata), `"name":"`+name+`"`), string(exp.Metadata)
	}

	outsideChange("console-edit")
	eventually(t, "drift corrected", func() (bool, string) {
		ok, doc := hasCollection("console-edit")
		return !ok, doc
	})
	// The correction is served a moment before its status is written.
	eventually(t, "correction recorded", func() (bool, string) {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(s.metadata), s.metadata)
		return s.metadata.Status.AppliedResourceVersion > applied, fmt.Sprint(s.metadata.Status.AppliedResourceVersion)
	})
	waitReady(t, s.metadata)

	update(t, s.metadata, func(m *stratav1alpha1.Metadata) { m.Spec.DriftPolicy = stratav1alpha1.DriftReport })
	waitReady(t, s.metadata)
	rv := outsideChange("kept-edit")
	waitCondition(t, s.metadata, stratav1alpha1.ConditionStalled, metav1.ConditionTrue, "DriftDetected")
	wantHealth(t, s.metadata, "Degraded")
	if !s.metadata.Status.Drifted {
		t.Errorf("status.drifted not set: %+v", s.metadata.Status)
	}
	exp, err := engine.ExportMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ok, doc := hasCollection("kept-edit"); !ok || exp.ResourceVersion != rv {
		t.Fatalf("Report changed the engine's metadata: resource_version %d (want %d): %s", exp.ResourceVersion, rv, doc)
	}
}

// Ten writers change the engine's metadata with resource_version while the
// controller runs its drift checks (Report): every write that the engine
// accepted is in the final document, and no two accepted writes were based
// on the same version, so none overwrote another it had not seen.
func TestConcurrentWritersLoseNothing(t *testing.T) {
	s := newShop(t, 1, stratav1alpha1.DriftReport)
	ctx := context.Background()
	engine := s.engine(t)
	const writers, writes = 10, 5

	var mu sync.Mutex
	basedOn := map[int64]string{} // resource_version an accepted write was based on -> writer
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range writes {
				name := fmt.Sprintf("w%d-%d", w, i)
				for {
					exp, err := engine.ExportMetadata(ctx)
					if err != nil {
						errs <- err
						return
					}
					var doc map[string]any
					_ = json.Unmarshal(exp.Metadata, &doc)
					cols, _ := doc["query_collections"].([]any)
					doc["query_collections"] = append(cols, map[string]any{"name": name, "definition": map[string]any{"queries": []any{}}})
					raw, _ := json.Marshal(doc)
					_, err = engine.ReplaceMetadata(ctx, exp.ResourceVersion, raw, false)
					if engineclient.IsConflict(err) {
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					if other, dup := basedOn[exp.ResourceVersion]; dup {
						errs <- fmt.Errorf("%s and %s were both accepted on resource_version %d", other, name, exp.ResourceVersion)
					}
					basedOn[exp.ResourceVersion] = name
					mu.Unlock()
					break
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	exp, err := engine.ExportMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for w := range writers {
		for i := range writes {
			if name := fmt.Sprintf(`"name":"w%d-%d"`, w, i); !strings.Contains(string(exp.Metadata), name) {
				t.Errorf("write %s was lost", name)
			}
		}
	}
	if len(basedOn) != writers*writes {
		t.Errorf("%d accepted writes, want %d", len(basedOn), writers*writes)
	}
	waitCondition(t, s.metadata, stratav1alpha1.ConditionStalled, metav1.ConditionTrue, "DriftDetected")
}

// A reconcile with nothing to do makes no writes: a pass of each reconciler
// over settled objects sends no write request to the API server and no
// change to the engine (the manager keeps running meanwhile, so the
// objects' resourceVersions are not a reliable witness; the requests are).
func TestSettledReconcileWritesNothing(t *testing.T) {
	for _, replicas := range []int32{1, 2} {
		t.Run(fmt.Sprintf("replicas=%d", replicas), func(t *testing.T) { settledWritesNothing(t, replicas) })
	}
}

func settledWritesNothing(t *testing.T, replicas int32) {
	s := newShop(t, replicas, stratav1alpha1.DriftCorrect)
	ctx := context.Background()
	exp, err := s.engine(t).ExportMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if writes := reconcilePass(t, s); len(writes) > 0 {
		t.Errorf("a settled reconcile sent %d writes: %v", len(writes), writes)
	}
	if again, err := s.engine(t).ExportMetadata(ctx); err != nil || again.ResourceVersion != exp.ResourceVersion {
		t.Errorf("a settled reconcile changed the engine's metadata: resource_version %d -> %+v (%v)", exp.ResourceVersion, again, err)
	}
}

// reconcilePass runs each reconciler once over the shop's objects and
// returns the write requests they sent.
func reconcilePass(t *testing.T, s *shop) []string {
	t.Helper()
	ctx := context.Background()
	c := &writeCounter{Client: cached}
	engines := &controllers.Engines{Reader: c, Address: node.Address}
	for _, r := range []reconcile.Reconciler{
		&controllers.ProjectReconciler{Client: c, Engines: engines, Image: "strata:e2e"},
		&controllers.SourceReconciler{Client: c, Engines: engines},
		&controllers.MetadataReconciler{Client: c, Engines: engines},
	} {
		for _, name := range []string{"shop", "shop-default"} {
			if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: s.ns, Name: name}}); err != nil {
				t.Fatalf("%T %s: %v", r, name, err)
			}
		}
	}
	return c.writes
}

// Someone scales the engine by hand and edits its Service: the operator
// puts back what the Project says, without waiting for the Project to
// change. An annotation kubectl rollout restart adds to the pod template
// is not a difference: it causes no write.
func TestChildDriftIsReverted(t *testing.T) {
	s := newShop(t, 1, stratav1alpha1.DriftCorrect)
	ctx := context.Background()
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "shop"}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "shop"}}
	update(t, dep, func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](3) })
	update(t, svc, func(v *corev1.Service) { v.Spec.Ports[0].Port = 9999 })
	eventually(t, "drift reverted", func() (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
			return false, err.Error()
		}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
			return false, err.Error()
		}
		return *dep.Spec.Replicas == 1 && svc.Spec.Ports[0].Port == controllers.EnginePort,
			fmt.Sprintf("replicas %d, port %d", *dep.Spec.Replicas, svc.Spec.Ports[0].Port)
	})

	update(t, dep, func(d *appsv1.Deployment) {
		d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] = "2026-11-23T00:00:00Z"
	})
	// The pass reads through the manager's cache: wait until it has seen
	// the annotation, so the pass below judges the edited object.
	eventually(t, "cache sees the restart", func() (bool, string) {
		var d appsv1.Deployment
		if err := cached.Get(ctx, client.ObjectKeyFromObject(dep), &d); err != nil {
			return false, err.Error()
		}
		return d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] != "", "not yet"
	})
	for _, w := range reconcilePass(t, s) {
		if strings.Contains(w, "Deployment") {
			t.Errorf("a rollout restart was taken for drift: %v", w)
		}
	}
}

// writeCounter is the reconcilers' client, recording every write request
// it passes on (the API server turns an identical update into a no-op, so
// resourceVersions alone would not show a needless write).
type writeCounter struct {
	client.Client
	mu     sync.Mutex
	writes []string
}

func (w *writeCounter) note(verb string, o client.Object) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, fmt.Sprintf("%s %T %s", verb, o, o.GetName()))
}

func (w *writeCounter) Create(ctx context.Context, o client.Object, opts ...client.CreateOption) error {
	w.note("create", o)
	return w.Client.Create(ctx, o, opts...)
}

func (w *writeCounter) Update(ctx context.Context, o client.Object, opts ...client.UpdateOption) error {
	w.note("update", o)
	return w.Client.Update(ctx, o, opts...)
}

func (w *writeCounter) Patch(ctx context.Context, o client.Object, p client.Patch, opts ...client.PatchOption) error {
	w.note("patch", o)
	return w.Client.Patch(ctx, o, p, opts...)
}

func (w *writeCounter) Delete(ctx context.Context, o client.Object, opts ...client.DeleteOption) error {
	w.note("delete", o)
	return w.Client.Delete(ctx, o, opts...)
}

func (w *writeCounter) Status() client.SubResourceWriter {
	return &statusCounter{SubResourceWriter: w.Client.Status(), w: w}
}

type statusCounter struct {
	client.SubResourceWriter
	w *writeCounter
}

func (s *statusCounter) Update(ctx context.Context, o client.Object, opts ...client.SubResourceUpdateOption) error {
	s.w.note("status update", o)
	return s.SubResourceWriter.Update(ctx, o, opts...)
}

func (s *statusCounter) Patch(ctx context.Context, o client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
	s.w.note("status patch", o)
	return s.SubResourceWriter.Patch(ctx, o, p, opts...)
}

// Deleting a Project leaves nothing behind that would block: its children
// are controlled by it (the garbage collector, absent from envtest, removes
// them; checked in TestProjectSourceMetadataServeAQuery), the local node
// stops its engine, and a Source of the deleted Project is released
// without an engine to drop it from.
func TestDeletingAProjectReleasesItsSources(t *testing.T) {
	s := newShop(t, 1, stratav1alpha1.DriftCorrect)
	ctx := context.Background()
	if err := env.Client.Delete(ctx, s.project); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Project gone", func() (bool, string) {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(s.project), &stratav1alpha1.Project{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	if err := env.Client.Delete(ctx, s.source); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Source released", func() (bool, string) {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(s.source), &stratav1alpha1.Source{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	// The Metadata of a Project that is gone waits for it.
	waitCondition(t, s.metadata, stratav1alpha1.ConditionReady, metav1.ConditionFalse, "DependencyNotReady")
}
