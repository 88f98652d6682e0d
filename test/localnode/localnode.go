// Package localnode stands in for the kubelet in end-to-end tests: envtest
// runs an API server but no nodes, so nothing would ever run the engine
// Deployments the operator creates. A Node watches those Deployments and,
// for each, runs a real engine (the same code `strata serve` runs, in this
// process) with the environment the pod would get, resolved from the
// Deployment's env, Secrets and ConfigMaps; then it reports the Deployment
// rolled out, as the Deployment controller would once the pods pass their
// readiness probe on /healthz.
//
// One engine stands for all replicas of a Deployment; a changed pod
// template (new generation) restarts it, as a rollout replaces pods.
// Address resolves a Service to its engine (a Service is found by the
// Deployment of the same name, which is how the operator names them).
package localnode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/strata-dev/strata/engine"
	"github.com/strata-dev/strata/engine/config"
)

// Node runs the engines of the operator's Deployments.
type Node struct {
	c       client.Client
	log     io.Writer
	mu      sync.Mutex
	engines map[types.NamespacedName]*instance
	stop    func()
}

type instance struct {
	generation int64
	url        string
	stop       func()
	err        error     // why it could not start
	tried      time.Time // when it last tried
}

// Start runs a node until Stop. Engine logs go to log (nil: discarded).
func Start(c client.Client, log io.Writer) *Node {
	if log == nil {
		log = io.Discard
	}
	n := &Node{c: c, log: log, engines: map[types.NamespacedName]*instance{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	n.stop = func() {
		cancel()
		<-done
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, in := range n.engines {
			if in.stop != nil {
				in.stop()
			}
		}
	}
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := n.sync(ctx); err != nil && ctx.Err() == nil {
				fmt.Fprintf(log, "localnode: %v\n", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return n
}

// Stop stops the node and every engine it runs.
func (n *Node) Stop() { n.stop() }

// Address is the URL of the engine behind a Service, for the operator's
// EngineAddress option. It is empty until the engine runs.
func (n *Node) Address(namespace, service string, _ int32) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if in, ok := n.engines[types.NamespacedName{Namespace: namespace, Name: service}]; ok {
		return in.url
	}
	return "http://127.0.0.1:1" // nothing listens: the operator sees the engine down
}

// Running reports how many engines run.
func (n *Node) Running() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := 0
	for _, in := range n.engines {
		if in.stop != nil {
			k++
		}
	}
	return k
}

func (n *Node) sync(ctx context.Context) error {
	var list appsv1.DeploymentList
	if err := n.c.List(ctx, &list, client.MatchingLabels{"app.kubernetes.io/managed-by": "strata-operator"}); err != nil {
		return err
	}
	seen := map[types.NamespacedName]bool{}
	for i := range list.Items {
		d := &list.Items[i]
		key := client.ObjectKeyFromObject(d)
		seen[key] = true
		n.mu.Lock()
		in := n.engines[key]
		n.mu.Unlock()
		if in != nil && in.generation == d.Generation && (in.err == nil || time.Since(in.tried) < 2*time.Second) {
			continue
		}
		if in != nil && in.stop != nil {
			in.stop()
		}
		in = &instance{generation: d.Generation, tried: time.Now()}
		if d.Spec.Replicas == nil || *d.Spec.Replicas > 0 {
			in.url, in.stop, in.err = n.run(ctx, d)
		}
		n.mu.Lock()
		n.engines[key] = in
		n.mu.Unlock()
		if in.err != nil {
			fmt.Fprintf(n.log, "localnode: %s: %v\n", key, in.err)
			continue
		}
		if err := n.report(ctx, d); err != nil {
			return err
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for key, in := range n.engines {
		if !seen[key] {
			if in.stop != nil {
				in.stop()
			}
			delete(n.engines, key)
		}
	}
	return nil
}

// run starts the engine of d's first container with its resolved env.
func (n *Node) run(ctx context.Context, d *appsv1.Deployment) (string, func(), error) {
	env := map[string]string{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		v, err := n.value(ctx, d.Namespace, e)
		if err != nil {
			return "", nil, err
		}
		env[e.Name] = v
	}
	cfg, err := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		return "", nil, err
	}
	cfg.ServerHost = "127.0.0.1"
	ectx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	log := slog.New(slog.NewJSONHandler(n.log, &slog.HandlerOptions{Level: slog.LevelWarn})).With("deployment", d.Name)
	e, err := engine.New(ectx, cfg, log)
	if err != nil {
		cancel()
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		e.Close()
		return "", nil, err
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := e.Serve(ectx, ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(n.log, "localnode: %s: serve: %v\n", d.Name, err)
		}
	}()
	return "http://" + ln.Addr().String(), func() { cancel(); <-served; e.Close() }, nil
}

// value resolves one env var as the kubelet would.
func (n *Node) value(ctx context.Context, ns string, e corev1.EnvVar) (string, error) {
	if e.ValueFrom == nil {
		return e.Value, nil
	}
	switch {
	case e.ValueFrom.SecretKeyRef != nil:
		var s corev1.Secret
		ref := e.ValueFrom.SecretKeyRef
		if err := n.c.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, &s); err != nil {
			return "", err
		}
		if v, ok := s.Data[ref.Key]; ok {
			return string(v), nil
		}
		return "", fmt.Errorf("secret %s has no key %s", ref.Name, ref.Key)
	case e.ValueFrom.ConfigMapKeyRef != nil:
		var c corev1.ConfigMap
		ref := e.ValueFrom.ConfigMapKeyRef
		if err := n.c.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, &c); err != nil {
			return "", err
		}
		if v, ok := c.Data[ref.Key]; ok {
			return v, nil
		}
		return "", fmt.Errorf("configmap %s has no key %s", ref.Name, ref.Key)
	}
	return "", fmt.Errorf("env %s: only value, secretKeyRef and configMapKeyRef are supported", e.Name)
}

// report marks d rolled out, as the Deployment controller would.
func (n *Node) report(ctx context.Context, d *appsv1.Deployment) error {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	d.Status.ObservedGeneration = d.Generation
	d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = want, want, want, want
	return n.c.Status().Update(ctx, d)
}
