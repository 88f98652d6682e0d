package controllers

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
)

// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services;secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete

// ProjectReconciler turns a Project into a running engine: its admin
// Secret, Deployment, Service and (with more than one replica) a
// PodDisruptionBudget, all owned by the Project so deleting it removes
// them.
type ProjectReconciler struct {
	client.Client
	Engines  *Engines
	Recorder events.EventRecorder
	// Image runs the engine when the Project names none: the operator's
	// own image, which holds the same strata binary.
	Image string
}

// Field index names: which Projects read a Secret or ConfigMap.
const (
	indexProjectSecrets    = "strata.dev/project-secrets"
	indexProjectConfigMaps = "strata.dev/project-configmaps"
)

func (r *ProjectReconciler) SetupWithManager(mgr ctrl.Manager) error {
	ctx := context.Background()
	names := func(refs []keyRef) []string {
		out := make([]string, 0, len(refs))
		for _, k := range refs {
			out = append(out, k.ref.Name)
		}
		return out
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &stratav1alpha1.Project{}, indexProjectSecrets, func(o client.Object) []string {
		return names(secretRefs(o.(*stratav1alpha1.Project)))
	}); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &stratav1alpha1.Project{}, indexProjectConfigMaps, func(o client.Object) []string {
		return names(configMapRefs(o.(*stratav1alpha1.Project)))
	}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&stratav1alpha1.Project{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Owns(&corev1.Secret{}).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(enqueueByIndex[*stratav1alpha1.ProjectList](mgr.GetClient(), indexProjectSecrets))).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(enqueueByIndex[*stratav1alpha1.ProjectList](mgr.GetClient(), indexProjectConfigMaps))).
		Named("project").
		// Each pass mostly waits on the API server: a few at once.
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Complete(r)
}

func (r *ProjectReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var p stratav1alpha1.Project
	if err := r.Get(ctx, req.NamespacedName, &p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !p.DeletionTimestamp.IsZero() {
		// Owner references hand the children to the garbage collector.
		return ctrl.Result{}, nil
	}
	before := p.DeepCopy()
	o, err := r.reconcile(ctx, &p)
	o, err = conclude(ctx, r.Client, r.Recorder, before, &p, func(p *stratav1alpha1.Project) kstatus {
		// observedGeneration moves in reconcile, once the children match.
		return kstatus{conditions: &p.Status.Conditions, all: p.Status}
	}, o, err, before.Status.ReadyReplicas != p.Status.ReadyReplicas)
	return o.result(), err
}

// reconcile runs the steps in order; the first that cannot finish decides
// the outcome.
func (r *ProjectReconciler) reconcile(ctx context.Context, p *stratav1alpha1.Project) (outcome, error) {
	image := p.Spec.Image
	if image == "" {
		image = r.Image
	}
	if image == "" {
		return stalled(stratav1alpha1.ReasonInvalidSpec, "no engine image: set spec.image or run the operator with --engine-image"), nil
	}
	if p.Spec.AdminSecretRef == nil {
		if err := r.ensureAdminSecret(ctx, p); err != nil {
			return outcome{}, err
		}
	}
	configHash, missing, err := r.configHash(ctx, p)
	if err != nil {
		return outcome{}, err
	}
	if missing != "" {
		// A Secret created later re-queues us through the Secret watch.
		return waiting(stratav1alpha1.ReasonSecretNotFound, 0, "waiting for %s", missing), nil
	}

	dep := desiredDeployment(p, image, configHash)
	if err := r.apply(ctx, p, dep); err != nil {
		return outcome{}, err
	}
	if err := r.apply(ctx, p, desiredService(p)); err != nil {
		return outcome{}, err
	}
	if replicas(p) > 1 {
		err = r.apply(ctx, p, desiredPDB(p))
	} else {
		err = r.remove(ctx, p, &policyv1.PodDisruptionBudget{ObjectMeta: childMeta(p, p.Name)})
	}
	if err != nil {
		return outcome{}, err
	}
	// Every child now matches this generation of the spec.
	p.Status.ObservedGeneration = p.Generation
	p.Status.Endpoint = r.Engines.ServiceURL(p)

	var live appsv1.Deployment
	if err := r.Get(ctx, client.ObjectKeyFromObject(dep), &live); err != nil {
		return outcome{}, err
	}
	p.Status.ReadyReplicas = live.Status.ReadyReplicas
	return r.rollout(ctx, p, &live), nil
}

// rollout reads how far the Deployment is, and once it is done asks the
// engine itself for its version: a Project is Ready when its engine
// answers, not merely when pods run.
func (r *ProjectReconciler) rollout(ctx context.Context, p *stratav1alpha1.Project, d *appsv1.Deployment) outcome {
	want := replicas(p)
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			return stalled("RolloutFailed", "the engine Deployment did not progress: %s", c.Message)
		}
	}
	if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas < want ||
		d.Status.AvailableReplicas < want || d.Status.Replicas > want {
		return waiting(stratav1alpha1.ReasonProgressing, 0, "rolling out: %d of %d engine replicas updated and available",
			min(d.Status.UpdatedReplicas, d.Status.AvailableReplicas), want)
	}
	if want == 0 {
		p.Status.EngineVersion = ""
		return done("scaled to zero")
	}
	engine, err := r.Engines.For(ctx, p)
	if err == nil {
		var v string
		vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		v, err = engine.Version(vctx)
		cancel()
		if err == nil {
			p.Status.EngineVersion = v
			return done(fmt.Sprintf("%d engine replicas serve %s", want, p.Status.Endpoint))
		}
	}
	return waiting(stratav1alpha1.ReasonEngineUnreachable, 10*time.Second, "the engine does not answer: %v", err)
}

// ensureAdminSecret creates the generated admin secret once; it is never
// rewritten, so the engine's secret does not change under its clients.
func (r *ProjectReconciler) ensureAdminSecret(ctx context.Context, p *stratav1alpha1.Project) error {
	var s corev1.Secret
	err := r.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: generatedSecretName(p)}, &s)
	if !apierrors.IsNotFound(err) {
		return err
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	s = corev1.Secret{ObjectMeta: childMeta(p, generatedSecretName(p)), Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{adminSecretKey: []byte(hex.EncodeToString(raw))}}
	if err := controllerutil.SetControllerReference(p, &s, r.Scheme()); err != nil {
		return err
	}
	if err := r.Create(ctx, &s); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// configHash digests the values of every Secret and ConfigMap key the
// engine reads. missing names the first required one that does not exist.
func (r *ProjectReconciler) configHash(ctx context.Context, p *stratav1alpha1.Project) (hash, missing string, err error) {
	h := sha256.New()
	read := func(kind string, refs []keyRef, get func(name string) (map[string][]byte, error)) error {
		for _, k := range refs {
			data, err := get(k.ref.Name)
			if apierrors.IsNotFound(err) {
				data, err = nil, nil
			}
			if err != nil {
				return err
			}
			v, ok := data[k.ref.Key]
			if !ok && !k.optional && missing == "" {
				missing = fmt.Sprintf("key %q of %s %q", k.ref.Key, kind, k.ref.Name)
			}
			fmt.Fprintf(h, "%s/%s/%s=%d:", kind, k.ref.Name, k.ref.Key, len(v))
			h.Write(v)
		}
		return nil
	}
	key := func(name string) types.NamespacedName {
		return types.NamespacedName{Namespace: p.Namespace, Name: name}
	}
	if err := read("Secret", secretRefs(p), func(name string) (map[string][]byte, error) {
		var s corev1.Secret
		err := r.Get(ctx, key(name), &s)
		return s.Data, err
	}); err != nil {
		return "", "", err
	}
	if err := read("ConfigMap", configMapRefs(p), func(name string) (map[string][]byte, error) {
		var c corev1.ConfigMap
		err := r.Get(ctx, key(name), &c)
		data := map[string][]byte{}
		for k, v := range c.Data {
			data[k] = []byte(v)
		}
		for k, v := range c.BinaryData {
			data[k] = v
		}
		return data, err
	}); err != nil {
		return "", "", err
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), missing, nil
}

// apply creates or updates one child. The digest of what we write is kept
// in an annotation: when it is unchanged and nobody changed what we wrote
// (drifted), the pass makes no write, and the fields the API server
// defaults never look like a difference.
func (r *ProjectReconciler) apply(ctx context.Context, p *stratav1alpha1.Project, obj client.Object) error {
	hash := specHash(obj)
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[annotationSpecHash] = hash
	obj.SetAnnotations(ann)
	if err := controllerutil.SetControllerReference(p, obj, r.Scheme()); err != nil {
		return err
	}
	live := obj.DeepCopyObject().(client.Object)
	err := r.Get(ctx, client.ObjectKeyFromObject(obj), live)
	switch {
	case apierrors.IsNotFound(err):
		// AlreadyExists means our cache has not seen an object an earlier
		// pass created; its watch event brings us back to check it.
		if err := r.Create(ctx, obj); !apierrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	case err != nil:
		return err
	case live.GetAnnotations()[annotationSpecHash] == hash && !drifted(obj, live):
		return nil
	}
	if !metav1.IsControlledBy(live, p) {
		return fmt.Errorf("%T %q exists and is not owned by this Project", obj, obj.GetName())
	}
	obj.SetResourceVersion(live.GetResourceVersion())
	if svc, ok := obj.(*corev1.Service); ok {
		// The cluster IP is allocated once and immutable.
		l := live.(*corev1.Service)
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = l.Spec.ClusterIP, l.Spec.ClusterIPs
	}
	return r.Update(ctx, obj)
}

// drifted reports whether someone changed what the operator wrote to a
// child (kubectl edit or scale, another controller): desired and live
// are compared on the fields the operator sets, those it leaves unset
// aside (the API server's defaults, an annotation kubectl rollout restart
// adds, a container a webhook injects). Numbers are compared even when
// zero, so a desired object spells out every number the server would
// default otherwise (a probe's successThreshold);
// TestSettledReconcileWritesNothing catches one that does not.
func drifted(desired, live client.Object) bool {
	if !equality.Semantic.DeepDerivative(desired.GetLabels(), live.GetLabels()) {
		return true
	}
	switch d := desired.(type) {
	case *appsv1.Deployment:
		return !equality.Semantic.DeepDerivative(d.Spec, live.(*appsv1.Deployment).Spec)
	case *corev1.Service:
		return !equality.Semantic.DeepDerivative(d.Spec, live.(*corev1.Service).Spec)
	case *policyv1.PodDisruptionBudget:
		return !equality.Semantic.DeepDerivative(d.Spec, live.(*policyv1.PodDisruptionBudget).Spec)
	}
	return false
}

// remove deletes a child the spec no longer asks for, if it exists (read
// from the cache first, so a settled pass sends no delete).
func (r *ProjectReconciler) remove(ctx context.Context, p *stratav1alpha1.Project, obj client.Object) error {
	err := r.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !metav1.IsControlledBy(obj, p) {
		return nil // not ours to delete
	}
	return client.IgnoreNotFound(r.Delete(ctx, obj))
}
