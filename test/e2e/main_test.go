// Package e2e tests the operator end to end: a real API server (envtest),
// the real controller manager, and a local node (test/localnode) that runs
// a real engine against a real Postgres for every Deployment the operator
// creates, so a Project really becomes Ready by its engine answering.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/controllers"
	engineclient "github.com/strata-dev/strata/engine/client"
	"github.com/strata-dev/strata/test/argocd"
	"github.com/strata-dev/strata/test/kubetest"
	"github.com/strata-dev/strata/test/localnode"
	"github.com/strata-dev/strata/test/pgtest"

	"github.com/strata-dev/strata/test/testlog"
)

var (
	env  *kubetest.Env
	node *localnode.Node
	// cached is the manager's client: the reconcilers' view, with its
	// field indexes.
	cached client.Client
	logs   testlog.Buffer // operator and engine logs, printed when a test fails
)

func TestMain(m *testing.M) {
	os.Exit(pgtest.Run(func() int {
		return kubetest.Run(&env, func() int {
			node = localnode.Start(env.Client, &logs)
			defer node.Stop()
			// The operator's own logs go to logs too: tests read them
			// (tenant_test.go checks no secret reaches them).
			ctrl.SetLogger(logr.FromSlogHandler(slog.NewJSONHandler(&logs, nil)))
			tenantAPI, stopTenantAPI := tenantAPIConfig()
			defer stopTenantAPI()
			mgr, err := controllers.NewManager(env.Config, controllers.Options{
				MetricsAddr:   "0",
				ProbeAddr:     "0",
				EngineImage:   "strata:e2e",
				EngineAddress: node.Address,
				// Drift is polled; a second keeps the tests short.
				Resync:    time.Second,
				TenantAPI: tenantAPI,
			})
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			cached = mgr.GetClient()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- mgr.Start(ctx) }()
			code := m.Run()
			cancel()
			if err := <-done; err != nil {
				fmt.Fprintln(os.Stderr, "manager:", err)
			}
			return code
		})
	}))
}

// namespace gives a test its own namespace.
func namespace(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "e2e-" + hex.EncodeToString(b)
	if err := env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	return name
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

// eventually polls cond until it holds; the wait is generous because the
// machine may be busy, and the time it took is logged, not asserted.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	start := time.Now()
	var last string
	for time.Since(start) < 90*time.Second {
		ok, why := cond()
		if ok {
			t.Logf("%s after %v", what, time.Since(start).Round(10*time.Millisecond))
			return
		}
		last = why
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: still not after %v: %s", what, time.Since(start).Round(time.Second), last)
}

// conditioned is any of our kinds: it has conditions and a generation.
type conditioned interface {
	client.Object
}

func conditionsOf(o client.Object) ([]metav1.Condition, int64) {
	switch v := o.(type) {
	case *stratav1alpha1.Project:
		return v.Status.Conditions, v.Status.ObservedGeneration
	case *stratav1alpha1.Source:
		return v.Status.Conditions, v.Status.ObservedGeneration
	case *stratav1alpha1.Metadata:
		return v.Status.Conditions, v.Status.ObservedGeneration
	}
	panic(fmt.Sprintf("no conditions on %T", o))
}

// waitReady waits for Ready=True at the object's current generation and
// checks the kstatus contract on the way out: Reconciling and Stalled
// absent, observedGeneration current.
func waitReady(t *testing.T, o conditioned) {
	t.Helper()
	waitCondition(t, o, stratav1alpha1.ConditionReady, metav1.ConditionTrue, "")
	conds, observed := conditionsOf(o)
	if observed != o.GetGeneration() {
		t.Errorf("%T %s: observedGeneration %d, generation %d", o, o.GetName(), observed, o.GetGeneration())
	}
	for _, c := range []string{stratav1alpha1.ConditionReconciling, stratav1alpha1.ConditionStalled} {
		if meta.FindStatusCondition(conds, c) != nil {
			t.Errorf("%T %s: Ready but %s is present: %+v", o, o.GetName(), c, conds)
		}
	}
	wantHealth(t, o, "Healthy")
}

// wantHealth checks what Argo CD's health check (config/argocd/health.lua)
// makes of the object as the operator left it.
func wantHealth(t *testing.T, o client.Object, want string) {
	t.Helper()
	if status, msg, err := argocd.Health(o); err != nil || status != want {
		t.Errorf("%T %s: Argo CD health %s (%s), err %v; want %s", o, o.GetName(), status, msg, err, want)
	}
}

// waitCondition waits until condition typ has status (and reason, if
// given) for the object's current generation.
func waitCondition(t *testing.T, o conditioned, typ string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%T %s %s=%s %s", o, o.GetName(), typ, status, reason), func() (bool, string) {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(o), o); err != nil {
			return false, err.Error()
		}
		conds, _ := conditionsOf(o)
		c := meta.FindStatusCondition(conds, typ)
		if c == nil {
			return false, fmt.Sprintf("no %s condition yet: %+v", typ, conds)
		}
		ok := c.Status == status && c.ObservedGeneration == o.GetGeneration() && (reason == "" || c.Reason == reason)
		return ok, fmt.Sprintf("%s=%s reason %s: %s", typ, c.Status, c.Reason, c.Message)
	})
}

// engineFor is a client for a Project's engine, as the operator reaches it.
func engineFor(t *testing.T, ns, project string) *engineclient.Client {
	t.Helper()
	var s corev1.Secret
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: project + "-admin-secret"}, &s); err != nil {
		t.Fatal(err)
	}
	return &engineclient.Client{URL: node.Address(ns, project, controllers.EnginePort), AdminSecret: string(s.Data["admin-secret"])}
}

// graphql posts a query to the engine without credentials (the
// unauthorized role) and returns the response body, re-encoded compactly
// so tests compare it as a string.
func graphql(t *testing.T, url, query string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	resp, err := http.Post(url+"/v1/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var compact bytes.Buffer
	if json.Compact(&compact, b) != nil {
		return string(b)
	}
	return compact.String()
}

func rawJSON(t *testing.T, v any) *runtime.RawExtension {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return &runtime.RawExtension{Raw: b}
}

// update re-reads o, applies change and writes it, retrying on conflicts
// with the controller's own writes.
func update[T client.Object](t *testing.T, o T, change func(T)) {
	t.Helper()
	for range 10 {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(o), o); err != nil {
			t.Fatal(err)
		}
		change(o)
		err := env.Client.Update(context.Background(), o)
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "the object has been modified") {
			t.Fatal(err)
		}
	}
	t.Fatalf("update %s: kept conflicting", o.GetName())
}
