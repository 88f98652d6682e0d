// Package controllers holds the operator: one reconciler per CRD kind and
// the controller manager that runs them. It talks to engines only over HTTP
// (the metadata API), never through engine internals.
package controllers

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
)

// Scheme knows the built-in kinds and Strata's.
var Scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(Scheme))
	utilruntime.Must(stratav1alpha1.AddToScheme(Scheme))
}

// Options configure the manager; the zero value serves metrics and probes
// on kubebuilder's usual ports without leader election.
type Options struct {
	MetricsAddr             string // "0" disables metrics
	ProbeAddr               string
	LeaderElection          bool
	LeaderElectionNamespace string
}

// LeaderElectionID is the Lease every replica of the operator competes for.
const LeaderElectionID = "strata-operator.strata.dev"

// NewManager builds a controller manager with health and readiness probes
// and every reconciler registered.
func NewManager(cfg *rest.Config, opts Options) (ctrl.Manager, error) {
	if opts.MetricsAddr == "" {
		opts.MetricsAddr = ":8080"
	}
	if opts.ProbeAddr == "" {
		opts.ProbeAddr = ":8081"
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  Scheme,
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:  opts.ProbeAddr,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        LeaderElectionID,
		LeaderElectionNamespace: opts.LeaderElectionNamespace,
		// Release the lease on shutdown so a rolling update hands over at
		// once instead of after the lease expires.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot create manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return nil, err
	}
	for _, r := range []interface{ SetupWithManager(ctrl.Manager) error }{
		observe[stratav1alpha1.Project](mgr.GetClient(), "project"),
		observe[stratav1alpha1.Source](mgr.GetClient(), "source"),
		observe[stratav1alpha1.Metadata](mgr.GetClient(), "metadata"),
	} {
		if err := r.SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("cannot set up controller: %w", err)
		}
	}
	return mgr, nil
}
