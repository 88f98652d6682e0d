package controllers_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/strata-dev/strata/controllers"
	"github.com/strata-dev/strata/test/kubetest"
)

var env *kubetest.Env

func TestMain(m *testing.M) { kubetest.Main(m, &env) }

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// The manager starts against a real API server, wins its leader election
// Lease, serves its probes, and stops cleanly when its context ends.
func TestManagerStartsElectsAndServesProbes(t *testing.T) {
	probe := freeAddr(t)
	mgr, err := controllers.NewManager(env.Config, controllers.Options{
		MetricsAddr:             "0",
		ProbeAddr:               probe,
		LeaderElection:          true,
		LeaderElectionNamespace: "default",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager stopped with %v", err)
		}
	}()

	select {
	case <-mgr.Elected():
	case err := <-done:
		t.Fatalf("manager exited before winning the election: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("manager did not win leader election")
	}
	var lease coordinationv1.Lease
	key := client.ObjectKey{Namespace: "default", Name: controllers.LeaderElectionID}
	if err := env.Client.Get(context.Background(), key, &lease); err != nil {
		t.Fatalf("leader election Lease: %v", err)
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Error("Lease has no holder")
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		var status int
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			resp, err := http.Get("http://" + probe + path)
			if err == nil {
				status = resp.StatusCode
				resp.Body.Close()
				if status == 200 {
					break
				}
			}
		}
		if status != 200 {
			t.Errorf("GET %s = %d, want 200", path, status)
		}
	}
}
