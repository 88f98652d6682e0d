package controllers

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The operator's permissions on its own kinds. Child objects (Deployments,
// Services, Secrets, PDBs) get their markers with the reconcilers that
// create them.
// +kubebuilder:rbac:groups=strata.dev,resources=projects;sources;metadata,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=strata.dev,resources=projects/status;sources/status;metadata/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=strata.dev,resources=projects/finalizers;sources/finalizers;metadata/finalizers,verbs=update
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// observer is the placeholder reconciler of a kind whose real controller is
// not written yet: it reads the object and logs what it saw, so the kind is
// watched, cached and visible in the manager's metrics from day one.
type observer[T any, PT interface {
	*T
	client.Object
}] struct {
	client.Client
	name string
}

func (r *observer[T, PT]) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := PT(new(T))
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("observed", "kind", r.name, "generation", obj.GetGeneration())
	return ctrl.Result{}, nil
}

func (r *observer[T, PT]) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).For(PT(new(T))).Named(r.name).Complete(r)
}

// observe builds an observer; PT is inferred from T.
func observe[T any, PT interface {
	*T
	client.Object
}](c client.Client, name string) *observer[T, PT] {
	return &observer[T, PT]{Client: c, name: name}
}
