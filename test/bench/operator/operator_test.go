// Package operator measures the operator at fleet scale on a real API
// server (envtest): how long until 500 Projects have their children and a
// current observedGeneration, and how many reconciles that took.
//
// There is no kubelet, so no engine runs: the Projects settle at
// Reconciling (waiting for their rollout), which is exactly the state
// whose cost we measure. A second figure re-reconciles every settled
// Project through a spec change to show updates are as cheap.
package operator

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/controllers"
	"github.com/strata-dev/strata/test/kubetest"
)

var env *kubetest.Env

func TestMain(m *testing.M) { kubetest.Main(m, &env) }

const projects = 500

func BenchmarkProjects500(b *testing.B) {
	if b.N > 1 {
		b.Skip("one fleet per run")
	}
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	ctx := context.Background()
	mgr, err := controllers.NewManager(env.Config, controllers.Options{MetricsAddr: "0", ProbeAddr: "0", EngineImage: "strata:bench"})
	if err != nil {
		b.Fatal(err)
	}
	mctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	defer func() { stop(); <-done }()

	ns := fmt.Sprintf("fleet-%d", time.Now().UnixNano())
	c := env.Client
	must(b, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	must(b, c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"},
		StringData: map[string]string{"url": "postgres://fleet/db"}}))

	b.ResetTimer()
	start := time.Now()
	for i := range projects {
		must(b, c.Create(ctx, &stratav1alpha1.Project{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("p%03d", i)},
			Spec: stratav1alpha1.ProjectSpec{MetadataDatabase: stratav1alpha1.DatabaseRef{
				URLSecretRef: stratav1alpha1.SecretKeyRef{Name: "db", Key: "url"}}},
		}))
	}
	created := time.Since(start)
	waitFleet(b, ns, 1)
	settled := time.Since(start)
	reconciles := reconcileCount(b)
	b.StopTimer()
	b.ReportMetric(settled.Seconds(), "s-to-settle")
	b.ReportMetric(reconciles/projects, "reconciles/project")
	fmt.Fprintf(os.Stderr, "created %d Projects in %v; all with children and observedGeneration current after %v; %.2f reconciles per Project\n",
		projects, created.Round(time.Millisecond), settled.Round(time.Millisecond), reconciles/projects)

	// A spec change on every Project: the Deployment follows (generation 2).
	before := reconciles
	start = time.Now()
	for i := range projects {
		p := &stratav1alpha1.Project{}
		must(b, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("p%03d", i)}, p))
		p.Spec.Env = []corev1.EnvVar{{Name: "HASURA_GRAPHQL_LOG_LEVEL", Value: "warn"}}
		must(b, c.Update(ctx, p))
	}
	waitFleet(b, ns, 2)
	updated := time.Since(start)
	again := reconcileCount(b) - before
	fmt.Fprintf(os.Stderr, "updated %d Projects: all settled %v after the first update; %.2f reconciles per Project\n",
		projects, updated.Round(time.Millisecond), again/projects)
	b.ReportMetric(again/projects, "reconciles/project-update")
}

// waitFleet waits until every Project has observedGeneration == gen and its
// Deployment carries that generation's template.
func waitFleet(b *testing.B, ns string, gen int64) {
	start := time.Now()
	last := start
	ctx := context.Background()
	for {
		var ps stratav1alpha1.ProjectList
		var ds appsv1.DeploymentList
		must(b, env.Client.List(ctx, &ps, client.InNamespace(ns)))
		must(b, env.Client.List(ctx, &ds, client.InNamespace(ns)))
		ok := len(ps.Items) == projects && len(ds.Items) == projects
		for _, p := range ps.Items {
			ok = ok && p.Generation == gen && p.Status.ObservedGeneration == gen
		}
		for _, d := range ds.Items {
			ok = ok && d.Generation == gen
		}
		if ok {
			return
		}
		if time.Since(last) > 5*time.Second {
			last = time.Now()
			n := 0
			for _, p := range ps.Items {
				if p.Status.ObservedGeneration == gen {
					n++
				}
			}
			fmt.Fprintf(os.Stderr, "progress: %d projects, %d deployments, %d observed\n", len(ps.Items), len(ds.Items), n)
		}
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("the fleet did not settle at generation %d in 10 minutes", gen)
		}
		// Listing the whole fleet costs the API server too: not too often.
		time.Sleep(500 * time.Millisecond)
	}
}

// reconcileCount reads controller-runtime's reconcile counter of the
// project controller.
func reconcileCount(b *testing.B) float64 {
	families, err := metrics.Registry.Gather()
	must(b, err)
	var n float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if label(m, "controller") == "project" {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
