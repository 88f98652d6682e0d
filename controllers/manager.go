// Package controllers holds the operator: one reconciler per CRD kind and
// the controller manager that runs them. It talks to engines only over HTTP
// (the metadata API), never through engine internals.
package controllers

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/controllers/tenantapi"
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
	// EngineImage runs a Project's engine when its spec names no image:
	// the operator's own image, which holds the same binary.
	EngineImage string
	// EngineAddress, when set, maps a Project's Service to the URL the
	// operator dials (tests, or an operator running outside the cluster).
	EngineAddress func(namespace, service string, port int32) string
	// Resync is how often settled Sources and Metadata are checked against
	// their engine (health, drift); zero means a minute.
	Resync time.Duration
	// TenantAPI serves the cloud-style tenant API (/v1/graphql) when its
	// BindAddress is set and not "0"; it reaches engines through
	// EngineAddress unless it names its own.
	TenantAPI tenantapi.Config
}

// The operator's permissions on its own kinds; the reconcilers carry the
// markers for the children they create.
// +kubebuilder:rbac:groups=strata.dev,resources=projects;sources;metadata,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=strata.dev,resources=projects/status;sources/status;metadata/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=strata.dev,resources=projects/finalizers;sources/finalizers;metadata/finalizers,verbs=update
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

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
		// One process may build more than one manager (tests do, and
		// `go test -count=N` does it again): controller names are unique
		// per manager, and that is what counts.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
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
	engines := NewEngines(mgr.GetClient())
	engines.Address = opts.EngineAddress
	for _, r := range []interface{ SetupWithManager(ctrl.Manager) error }{
		&ProjectReconciler{Client: mgr.GetClient(), Engines: engines, Image: opts.EngineImage,
			Recorder: mgr.GetEventRecorder("strata-project")},
		&SourceReconciler{Client: mgr.GetClient(), Engines: engines, Resync: opts.Resync,
			Recorder: mgr.GetEventRecorder("strata-source")},
		&MetadataReconciler{Client: mgr.GetClient(), Engines: engines, Resync: opts.Resync,
			Recorder: mgr.GetEventRecorder("strata-metadata")},
	} {
		if err := r.SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("cannot set up controller: %w", err)
		}
	}
	if opts.TenantAPI.EngineAddress == nil {
		opts.TenantAPI.EngineAddress = opts.EngineAddress
	}
	if err := tenantapi.Setup(mgr, opts.TenantAPI); err != nil {
		return nil, fmt.Errorf("cannot set up the tenant API: %w", err)
	}
	return mgr, nil
}
