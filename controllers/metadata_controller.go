package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/controllers/hasuraproject"
	engineclient "github.com/strata-dev/strata/engine/client"
)

// MetadataReconciler applies a Project's desired metadata to its engine,
// conflict-safely: every write is replace_metadata carrying the
// resource_version of the export it was decided on, so the engine refuses
// it if anyone changed the metadata in between, and the controller then
// reads again and decides again. It never overwrites a change it has not
// seen.
//
// Two digests in status say what is going on (see digest): AppliedHash is
// the desired document last applied, LiveHash the engine's document right
// after that apply. A new desired digest means the spec changed: apply. An
// unchanged desired digest with a new live digest means someone changed
// the engine's metadata: drift, corrected or reported per spec.driftPolicy.
type MetadataReconciler struct {
	client.Client
	Engines  *Engines
	Recorder events.EventRecorder
	// Resync is how often a settled Metadata is checked for drift.
	Resync time.Duration

	// parsed keeps, per Metadata, the project last read from git, so a
	// poll whose branch has not moved asks the remote for its head and
	// clones nothing. Per Metadata, so no object ever reads what another
	// fetched with other credentials.
	parsed sync.Map // gitKey -> *gitProject
}

// gitKey names what a gitProject was read from, and for which Metadata.
type gitKey struct {
	metadata                 types.NamespacedName
	url, dir, branch, commit string
}

// maxApplyAttempts bounds the export-decide-apply rounds of one pass when
// the engine keeps answering 409; the next pass starts over.
const maxApplyAttempts = 5

const indexMetadataConfigMaps = "strata.dev/metadata-configmaps"

func (r *MetadataReconciler) SetupWithManager(mgr ctrl.Manager) error {
	ctx := context.Background()
	fi := mgr.GetFieldIndexer()
	if err := fi.IndexField(ctx, &stratav1alpha1.Metadata{}, indexByProject, func(o client.Object) []string {
		return []string{o.(*stratav1alpha1.Metadata).Spec.ProjectRef.Name}
	}); err != nil {
		return err
	}
	if err := fi.IndexField(ctx, &stratav1alpha1.Metadata{}, indexMetadataConfigMaps, func(o client.Object) []string {
		var names []string
		for _, ref := range o.(*stratav1alpha1.Metadata).Spec.ConfigMapRefs {
			names = append(names, ref.Name)
		}
		return names
	}); err != nil {
		return err
	}
	byProject := enqueueByIndex[*stratav1alpha1.MetadataList](mgr.GetClient(), indexByProject)
	return ctrl.NewControllerManagedBy(mgr).
		For(&stratav1alpha1.Metadata{}).
		Watches(&stratav1alpha1.Project{}, handler.EnqueueRequestsFromMapFunc(byProject)).
		// A Source attached or changed can complete the document.
		Watches(&stratav1alpha1.Source{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []ctrl.Request {
			s := o.(*stratav1alpha1.Source)
			return byProject(ctx, &stratav1alpha1.Project{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Spec.ProjectRef.Name}})
		})).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(enqueueByIndex[*stratav1alpha1.MetadataList](mgr.GetClient(), indexMetadataConfigMaps))).
		Named("metadata").
		Complete(r)
}

func (r *MetadataReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var m stratav1alpha1.Metadata
	if err := r.Get(ctx, req.NamespacedName, &m); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !m.DeletionTimestamp.IsZero() {
		// Deleting a Metadata leaves the engine's metadata as it is: the
		// engine keeps serving; there is nothing to undo.
		return ctrl.Result{}, nil
	}
	before := m.DeepCopy()
	o, err := r.reconcile(ctx, &m)
	o, err = conclude(ctx, r.Client, r.Recorder, before, &m, func(m *stratav1alpha1.Metadata) kstatus {
		return kstatus{conditions: &m.Status.Conditions, observedGeneration: &m.Status.ObservedGeneration, all: m.Status}
	}, o, err, before.Status.AppliedResourceVersion != m.Status.AppliedResourceVersion || before.Status.Drifted != m.Status.Drifted)
	if o.requeue == 0 && !m.Spec.Suspend && (o.ready || m.Spec.FromGit || o.reason == stratav1alpha1.ReasonDriftDetected || o.reason == stratav1alpha1.ReasonInconsistent) {
		// Drift, the engine's consistency and a branch's new commits
		// (which may fix a failed migration) can only be polled.
		o.requeue = resync(r.Resync)
	}
	return o.result(), err
}

func (r *MetadataReconciler) reconcile(ctx context.Context, m *stratav1alpha1.Metadata) (outcome, error) {
	if m.Spec.Suspend {
		return done("suspended: the engine's metadata is left alone"), nil
	}
	if other, err := r.olderManager(ctx, m); err != nil || other != "" {
		if err != nil {
			return outcome{}, err
		}
		return stalled(stratav1alpha1.ReasonConflictingManager, "Metadata %q already manages Project %q", other, m.Spec.ProjectRef.Name), nil
	}
	engine, project, wait, err := engineOf(ctx, r.Client, r.Engines, m.Namespace, m.Spec.ProjectRef)
	if wait != nil || err != nil {
		return deref(wait), err
	}
	desired, git, wait, err := r.desired(ctx, m, project)
	if wait != nil || err != nil {
		return deref(wait), err
	}
	if git != nil && git.Commit != m.Status.AppliedRevision {
		// A new commit: its migrations first, so the metadata finds the
		// tables it tracks.
		if missing, err := unattachedSource(ctx, engine, git.Migrations); err != nil || missing != "" {
			if err != nil {
				return waiting(stratav1alpha1.ReasonEngineUnreachable, 10*time.Second, "exporting metadata: %s", redact(err.Error())), nil
			}
			return waiting(stratav1alpha1.ReasonDependencyNotReady, 10*time.Second, "migrations of commit %s are for source %q, which is not attached: create a Source for it", short(git.Commit), missing), nil
		}
		n, err := applyMigrations(ctx, engine, git.Migrations)
		if err != nil {
			return stalled(stratav1alpha1.ReasonMigrationFailed, "commit %s: %v", short(git.Commit), err), nil
		}
		if n > 0 {
			r.record(m, corev1.EventTypeNormal, "MigrationsApplied", "applied %d migrations of commit %s", n, short(git.Commit))
		}
	}
	o := r.apply(ctx, m, engine, desired)
	if git != nil && (o.ready || o.reason == stratav1alpha1.ReasonInconsistent) {
		m.Status.AppliedRevision = git.Commit
	}
	return o, nil
}

// apply runs export-decide-apply rounds until one is not refused for a
// conflict, or gives up for this pass.
func (r *MetadataReconciler) apply(ctx context.Context, m *stratav1alpha1.Metadata, engine *engineclient.Client, desired json.RawMessage) outcome {
	for attempt := 0; attempt < maxApplyAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return waiting(stratav1alpha1.ReasonProgressing, time.Second, "interrupted")
			case <-time.After(time.Duration(50<<attempt) * time.Millisecond):
			}
		}
		o, retry := r.sync(ctx, m, engine, desired)
		if !retry {
			return o
		}
	}
	return waiting(stratav1alpha1.ReasonConflict, 2*time.Second, "the engine's metadata kept changing while applying; retrying")
}

// sync is one export-decide-apply round; retry is true when the engine
// refused the apply because its metadata moved on since the export.
func (r *MetadataReconciler) sync(ctx context.Context, m *stratav1alpha1.Metadata, engine *engineclient.Client, desired json.RawMessage) (outcome, bool) {
	live, err := engine.ExportMetadata(ctx)
	if err != nil {
		return waiting(stratav1alpha1.ReasonEngineUnreachable, 10*time.Second, "exporting metadata: %s", redact(err.Error())), false
	}
	doc, missing, err := withLiveSources(desired, live.Metadata)
	if err != nil {
		return stalled(stratav1alpha1.ReasonInvalidSpec, "%v", err), false
	}
	if missing != "" {
		return waiting(stratav1alpha1.ReasonDependencyNotReady, 10*time.Second,
			"source %q is not attached to the engine and the metadata does not configure it: create a Source for it", missing), false
	}
	desiredHash, err := digest(doc)
	if err != nil {
		return stalled(stratav1alpha1.ReasonInvalidSpec, "%v", err), false
	}
	liveHash, err := digest(live.Metadata)
	if err != nil {
		return waiting(stratav1alpha1.ReasonEngineUnreachable, 10*time.Second, "decoding the engine's metadata: %v", err), false
	}
	st := &m.Status
	if desiredHash == st.AppliedHash {
		if liveHash == st.LiveHash {
			st.Drifted = false
			return r.consistency(ctx, m, engine), false
		}
		if m.Spec.DriftPolicy == stratav1alpha1.DriftReport {
			st.Drifted = true
			return stalled(stratav1alpha1.ReasonDriftDetected, "the engine's metadata (resource_version %d) was changed outside this Metadata; driftPolicy Report leaves it", live.ResourceVersion), false
		}
	}

	cons, err := engine.ReplaceMetadata(ctx, live.ResourceVersion, doc, m.Spec.AllowInconsistentMetadata)
	if engineclient.IsConflict(err) {
		return outcome{}, true
	}
	if err != nil {
		var e *engineclient.Error
		if errors.As(err, &e) && e.Status < 500 {
			// The engine judged the document: only a new spec (or a
			// changed database) fixes it.
			return stalled(stratav1alpha1.ReasonMetadataRejected, "the engine refused the metadata: %s", redact(e.Text)), false
		}
		return waiting(stratav1alpha1.ReasonEngineUnreachable, 10*time.Second, "applying metadata: %s", redact(err.Error())), false
	}
	after, err := engine.ExportMetadata(ctx)
	if err != nil {
		return waiting(stratav1alpha1.ReasonEngineUnreachable, 10*time.Second, "exporting metadata: %s", redact(err.Error())), false
	}
	st.AppliedHash, st.AppliedResourceVersion, st.Drifted = desiredHash, after.ResourceVersion, false
	st.LastAppliedTime = &metav1.Time{Time: time.Now()}
	st.LiveHash = ""
	if after.ResourceVersion == live.ResourceVersion+1 {
		// Nobody wrote between our apply and this export, so this is
		// exactly what we applied. Otherwise the next pass sees drift.
		st.LiveHash, _ = digest(after.Metadata)
	}
	return r.report(m, cons, fmt.Sprintf("applied at resource_version %d", after.ResourceVersion)), false
}

// consistency re-reads the engine's inconsistencies of a settled Metadata:
// a database changed under the engine shows here. Its message is the
// apply's, word for word: a different one would rewrite the status on the
// first pass after every apply.
func (r *MetadataReconciler) consistency(ctx context.Context, m *stratav1alpha1.Metadata, engine *engineclient.Client) outcome {
	cons, err := engine.InconsistentMetadata(ctx)
	if err != nil {
		return waiting(stratav1alpha1.ReasonEngineUnreachable, 10*time.Second, "reading inconsistencies: %s", redact(err.Error()))
	}
	return r.report(m, cons, fmt.Sprintf("applied at resource_version %d", m.Status.AppliedResourceVersion))
}

func (r *MetadataReconciler) report(m *stratav1alpha1.Metadata, cons *engineclient.Consistency, message string) outcome {
	m.Status.InconsistentObjects = nil
	for _, o := range cons.InconsistentObjects {
		m.Status.InconsistentObjects = append(m.Status.InconsistentObjects,
			stratav1alpha1.InconsistentObject{Type: o.Type, Name: o.Name, Reason: redact(o.Reason)})
	}
	if n := len(m.Status.InconsistentObjects); n > 0 {
		return stalled(stratav1alpha1.ReasonInconsistent, "%s; %d metadata objects do not fit the database (status.inconsistentObjects)", message, n)
	}
	return done(message)
}

// desired reads the desired document from the spec, its ConfigMaps, or
// the Project's git repository (then with the commit's migrations).
func (r *MetadataReconciler) desired(ctx context.Context, m *stratav1alpha1.Metadata, p *stratav1alpha1.Project) (json.RawMessage, *gitProject, *outcome, error) {
	wait := func(o outcome) (json.RawMessage, *gitProject, *outcome, error) { return nil, nil, &o, nil }
	switch {
	case m.Spec.Metadata != nil:
		return m.Spec.Metadata.Raw, nil, nil, nil
	case len(m.Spec.ConfigMapRefs) > 0:
		cms := make([]corev1.ConfigMap, len(m.Spec.ConfigMapRefs))
		for i, ref := range m.Spec.ConfigMapRefs {
			err := r.Get(ctx, types.NamespacedName{Namespace: m.Namespace, Name: ref.Name}, &cms[i])
			if apierrors.IsNotFound(err) {
				return wait(waiting(stratav1alpha1.ReasonDependencyNotReady, 0, "waiting for ConfigMap %q", ref.Name))
			}
			if err != nil {
				return nil, nil, nil, err
			}
		}
		doc, err := mergeDocuments(cms)
		if err != nil {
			return wait(stalled(stratav1alpha1.ReasonInvalidSpec, "%v", err))
		}
		return doc, nil, nil, nil
	default:
		g, o, err := r.fromGit(ctx, client.ObjectKeyFromObject(m), p)
		if o != nil || err != nil {
			return nil, nil, o, err
		}
		return g.Metadata, g, nil, nil
	}
}

// gitProject is one commit of a Project's Hasura CLI project.
type gitProject struct {
	Commit string
	*hasuraproject.Project
}

// fromGit fetches the Project's repository and reads the project in it.
func (r *MetadataReconciler) fromGit(ctx context.Context, m types.NamespacedName, p *stratav1alpha1.Project) (*gitProject, *outcome, error) {
	g := p.Spec.Git
	if g == nil {
		o := stalled(stratav1alpha1.ReasonInvalidSpec, "fromGit is set but Project %q has no spec.git", p.Name)
		return nil, &o, nil
	}
	repo := hasuraproject.Repository{URL: g.URL, Branch: g.Branch, Revision: g.Revision}
	if ref := g.CredentialsSecretRef; ref != nil {
		var s corev1.Secret
		if err := r.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: ref.Name}, &s); err != nil {
			if apierrors.IsNotFound(err) {
				o := waiting(stratav1alpha1.ReasonSecretNotFound, 0, "waiting for Secret %q with the git credentials", ref.Name)
				return nil, &o, nil
			}
			return nil, nil, err
		}
		repo.Username, repo.Password = string(s.Data["username"]), string(s.Data["password"])
		if tok, ok := s.Data["token"]; ok {
			repo.Password = string(tok)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	gitFailed := func(err error) (*gitProject, *outcome, error) {
		o := waiting(stratav1alpha1.ReasonGitFailed, 30*time.Second, "%v", err)
		return nil, &o, nil
	}
	commit := g.Revision
	if commit == "" {
		head, err := hasuraproject.Head(fctx, repo)
		if err != nil {
			return gitFailed(err)
		}
		commit = head
	}
	key := gitKey{m, g.URL, g.Directory, g.Branch, commit}
	if known, ok := r.parsed.Load(key); ok {
		return known.(*gitProject), nil, nil
	}
	co, err := hasuraproject.Fetch(fctx, repo)
	if err != nil {
		return gitFailed(err)
	}
	proj, err := hasuraproject.Load(co.FS, g.Directory)
	if err != nil {
		o := stalled(stratav1alpha1.ReasonInvalidSpec, "commit %s: %v", short(co.Commit), err)
		return nil, &o, nil
	}
	gp := &gitProject{Commit: co.Commit, Project: proj}
	// One entry per Metadata: the commit this one replaces (or a source
	// the spec no longer names) is not asked for again.
	r.forget(m)
	r.parsed.Store(key, gp)
	return gp, nil, nil
}

// forget drops what was read from git for a Metadata.
func (r *MetadataReconciler) forget(m types.NamespacedName) {
	r.parsed.Range(func(k, _ any) bool {
		if k.(gitKey).metadata == m {
			r.parsed.Delete(k)
		}
		return true
	})
}

func short(commit string) string { return commit[:min(len(commit), 12)] }

func (r *MetadataReconciler) record(m *stratav1alpha1.Metadata, kind, reason, format string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(m, nil, kind, reason, "Apply", format, args...)
	}
}

// olderManager names another Metadata of the same Project created before
// m (ties broken by name): only the oldest manages the engine, the others
// say so instead of fighting over it.
func (r *MetadataReconciler) olderManager(ctx context.Context, m *stratav1alpha1.Metadata) (string, error) {
	var list stratav1alpha1.MetadataList
	if err := r.List(ctx, &list, client.InNamespace(m.Namespace), client.MatchingFields{indexByProject: m.Spec.ProjectRef.Name}); err != nil {
		return "", err
	}
	for _, o := range list.Items {
		if o.Name == m.Name || !o.DeletionTimestamp.IsZero() {
			continue
		}
		if o.CreationTimestamp.Before(&m.CreationTimestamp) ||
			(o.CreationTimestamp.Equal(&m.CreationTimestamp) && o.Name < m.Name) {
			return o.Name, nil
		}
	}
	return "", nil
}
