package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
	engineclient "github.com/strata-dev/strata/engine/client"
)

// SourceFinalizer lets the operator drop the source from the engine
// before the Source object goes.
const SourceFinalizer = "strata.dev/source"

// How often a settled Source or Metadata is looked at again although
// nothing we watch changed: the engine and its databases live outside
// Kubernetes, so their health and drift can only be polled.
const defaultResync = 60 * time.Second

// SourceReconciler attaches a database to a Project's engine with
// pg_add_source / pg_update_source and detaches it with pg_drop_source.
type SourceReconciler struct {
	client.Client
	Engines  *Engines
	Recorder events.EventRecorder
	Resync   time.Duration
}

const (
	indexByProject     = "strata.dev/project"
	indexSourceSecrets = "strata.dev/source-secrets"
)

func (r *SourceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	ctx := context.Background()
	fi := mgr.GetFieldIndexer()
	if err := fi.IndexField(ctx, &stratav1alpha1.Source{}, indexByProject, func(o client.Object) []string {
		return []string{o.(*stratav1alpha1.Source).Spec.ProjectRef.Name}
	}); err != nil {
		return err
	}
	if err := fi.IndexField(ctx, &stratav1alpha1.Source{}, indexSourceSecrets, func(o client.Object) []string {
		return []string{o.(*stratav1alpha1.Source).Spec.URLSecretRef.Name}
	}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&stratav1alpha1.Source{}).
		Watches(&stratav1alpha1.Project{}, handler.EnqueueRequestsFromMapFunc(enqueueByIndex[*stratav1alpha1.SourceList](mgr.GetClient(), indexByProject))).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(enqueueByIndex[*stratav1alpha1.SourceList](mgr.GetClient(), indexSourceSecrets))).
		Named("source").
		Complete(r)
}

// enqueueByIndex maps an object to the objects of list type L in its
// namespace whose index field names it.
func enqueueByIndex[L client.ObjectList](c client.Client, index string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		list := reflect.New(reflect.TypeFor[L]().Elem()).Interface().(L)
		if err := c.List(ctx, list, client.InNamespace(o.GetNamespace()), client.MatchingFields{index: o.GetName()}); err != nil {
			return nil
		}
		var reqs []reconcile.Request
		_ = meta.EachListItem(list, func(obj runtime.Object) error {
			m := obj.(client.Object)
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(m)})
			return nil
		})
		return reqs
	}
}

func (r *SourceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var s stratav1alpha1.Source
	if err := r.Get(ctx, req.NamespacedName, &s); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !s.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, &s)
	}
	if controllerutil.AddFinalizer(&s, SourceFinalizer) {
		// Before touching the engine, so a delete that races the first
		// reconcile still drops what we add.
		if err := r.Update(ctx, &s); err != nil {
			return ctrl.Result{}, err
		}
	}
	before := s.DeepCopy()
	o, err := r.reconcile(ctx, &s)
	o, err = conclude(ctx, r.Client, r.Recorder, before, &s, func(s *stratav1alpha1.Source) kstatus {
		return kstatus{conditions: &s.Status.Conditions, observedGeneration: &s.Status.ObservedGeneration, all: s.Status}
	}, o, err, false)
	if o.ready && o.requeue == 0 {
		o.requeue = resync(r.Resync)
	}
	return o.result(), err
}

func resync(d time.Duration) time.Duration {
	if d == 0 {
		return defaultResync
	}
	return d
}

func sourceName(s *stratav1alpha1.Source) string {
	if s.Spec.Name != "" {
		return s.Spec.Name
	}
	return s.Name
}

// engineOf returns a client for the engine of the Project obj names, or
// why it cannot be reached yet.
func engineOf(ctx context.Context, c client.Reader, engines *Engines, ns string, ref stratav1alpha1.ProjectReference) (*engineclient.Client, *stratav1alpha1.Project, *outcome, error) {
	var p stratav1alpha1.Project
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, &p); err != nil {
		if apierrors.IsNotFound(err) {
			o := waiting(stratav1alpha1.ReasonDependencyNotReady, 0, "waiting for Project %q", ref.Name)
			return nil, nil, &o, nil
		}
		return nil, nil, nil, err
	}
	if !projectReady(&p) {
		// The Project watch brings us back when it becomes Ready.
		o := waiting(stratav1alpha1.ReasonDependencyNotReady, 0, "waiting for Project %q to be Ready", ref.Name)
		return nil, &p, &o, nil
	}
	e, err := engines.For(ctx, &p)
	if err != nil {
		return nil, &p, nil, err
	}
	return e, &p, nil, nil
}

func (r *SourceReconciler) reconcile(ctx context.Context, s *stratav1alpha1.Source) (outcome, error) {
	engine, _, wait, err := engineOf(ctx, r.Client, r.Engines, s.Namespace, s.Spec.ProjectRef)
	if wait != nil || err != nil {
		return deref(wait), err
	}
	var secret corev1.Secret
	ref := s.Spec.URLSecretRef
	if err := r.Get(ctx, types.NamespacedName{Namespace: s.Namespace, Name: ref.Name}, &secret); client.IgnoreNotFound(err) != nil {
		return outcome{}, err
	}
	dbURL, ok := secret.Data[ref.Key]
	if !ok {
		return waiting(stratav1alpha1.ReasonSecretNotFound, 0, "waiting for key %q of Secret %q", ref.Key, ref.Name), nil
	}
	want := sourceConfig(s, string(dbURL))
	name := sourceName(s)

	live, err := engine.ExportMetadata(ctx)
	if err != nil {
		return waiting(stratav1alpha1.ReasonEngineUnreachable, 10*time.Second, "exporting metadata: %s", redact(err.Error())), nil
	}
	current, exists, err := liveSourceConfig(live.Metadata, name)
	if err != nil {
		return outcome{}, err
	}
	switch {
	case !exists:
		err = engine.AddSource(ctx, &live.ResourceVersion, name, want)
	case !sameJSON(current, want):
		err = engine.UpdateSource(ctx, &live.ResourceVersion, name, want)
	}
	if engineclient.IsConflict(err) {
		// Someone changed the metadata since our export: read again.
		return waiting(stratav1alpha1.ReasonProgressing, time.Second, "the engine's metadata changed while applying; retrying"), nil
	}
	if err != nil {
		return waiting(stratav1alpha1.ReasonConnectionFail, 30*time.Second, "the engine refused source %q: %s", name, redact(err.Error())), nil
	}

	cons, err := engine.InconsistentMetadata(ctx)
	if err != nil {
		return waiting(stratav1alpha1.ReasonEngineUnreachable, 10*time.Second, "reading inconsistencies: %s", redact(err.Error())), nil
	}
	s.Status.InconsistentObjects = 0
	for _, obj := range cons.InconsistentObjects {
		if !belongsTo(obj, name) {
			continue
		}
		if obj.Type == "source" {
			return waiting(stratav1alpha1.ReasonConnectionFail, 30*time.Second, "%s", redact(obj.Reason)), nil
		}
		s.Status.InconsistentObjects++
	}
	if s.Status.InconsistentObjects > 0 {
		return done(fmt.Sprintf("source %q connected; %d metadata objects do not fit its database", name, s.Status.InconsistentObjects)), nil
	}
	return done(fmt.Sprintf("source %q connected", name)), nil
}

// finalize drops the source from the engine, then lets the object go.
// With the Project gone or going there is no engine to tell.
func (r *SourceReconciler) finalize(ctx context.Context, s *stratav1alpha1.Source) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(s, SourceFinalizer) {
		return ctrl.Result{}, nil
	}
	var p stratav1alpha1.Project
	err := r.Get(ctx, types.NamespacedName{Namespace: s.Namespace, Name: s.Spec.ProjectRef.Name}, &p)
	switch {
	case apierrors.IsNotFound(err) || (err == nil && !p.DeletionTimestamp.IsZero()):
	case err != nil:
		return ctrl.Result{}, err
	case !projectReady(&p):
		// The engine may come back; deleting the Project releases us.
		return ctrl.Result{RequeueAfter: 10 * time.Second}, nil
	default:
		engine, err := r.Engines.For(ctx, &p)
		if err != nil {
			return ctrl.Result{}, err
		}
		if err := engine.DropSource(ctx, sourceName(s)); err != nil && !engineclient.IsCode(err, "not-exists") {
			return ctrl.Result{RequeueAfter: 10 * time.Second}, nil
		}
	}
	controllerutil.RemoveFinalizer(s, SourceFinalizer)
	return ctrl.Result{}, r.Update(ctx, s)
}

func sourceConfig(s *stratav1alpha1.Source, dbURL string) engineclient.SourceConfig {
	ci := engineclient.ConnectionInfo{DatabaseURL: dbURL, IsolationLevel: s.Spec.IsolationLevel}
	if ps := s.Spec.PoolSettings; ps != nil {
		ci.PoolSettings = &engineclient.PoolSettings{MaxConnections: ps.MaxConnections, IdleTimeout: ps.IdleTimeout,
			ConnectionLifetime: ps.ConnectionLifetime, PoolTimeout: ps.PoolTimeout}
	}
	return engineclient.SourceConfig{ConnectionInfo: ci}
}

// liveSourceConfig finds a source's configuration in an exported document.
func liveSourceConfig(doc json.RawMessage, name string) (json.RawMessage, bool, error) {
	var md struct {
		Sources []struct {
			Name          string          `json:"name"`
			Configuration json.RawMessage `json:"configuration"`
		} `json:"sources"`
	}
	if err := json.Unmarshal(doc, &md); err != nil {
		return nil, false, fmt.Errorf("decoding the engine's metadata: %w", err)
	}
	for _, s := range md.Sources {
		if s.Name == name {
			return s.Configuration, true, nil
		}
	}
	return nil, false, nil
}

// sameJSON compares two JSON values ignoring formatting and key order.
func sameJSON(a json.RawMessage, b any) bool {
	var x, y any
	bb, err := json.Marshal(b)
	if err != nil || json.Unmarshal(a, &x) != nil || json.Unmarshal(bb, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// belongsTo reports whether an inconsistent object is of source name: the
// source itself, or an object whose definition names it.
func belongsTo(o engineclient.InconsistentObject, name string) bool {
	if o.Type == "source" {
		return o.Name == "source "+name
	}
	var def struct {
		Source string `json:"source"`
	}
	_ = json.Unmarshal(o.Definition, &def)
	return def.Source == name || strings.HasSuffix(o.Name, " in source "+name)
}

var (
	urlInText      = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"']+`)
	passwordInText = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|[^\s&]+)`)
)

// redact removes the credentials of any URL or key=value connection
// string in a message before it reaches a condition, an event or a log.
func redact(s string) string {
	s = passwordInText.ReplaceAllString(s, "${1}redacted")
	return urlInText.ReplaceAllStringFunc(s, func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil || u.User == nil {
			return raw
		}
		u.User = url.User("redacted")
		return u.String()
	})
}

func deref(o *outcome) outcome {
	if o == nil {
		return outcome{}
	}
	return *o
}
