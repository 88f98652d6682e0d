package tenantapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/controllers/hasuraproject"
	engineclient "github.com/strata-dev/strata/engine/client"
)

// Jobs report a preview app's deployment as Hasura Cloud does: a job
// with a status (created, running, success, failed, or skipped when a
// newer deployment of the same app supersedes it) and tasks, each started
// when the previous one succeeded, with events (created when it starts,
// then success or failed with an error).
//
// The first two tasks are done by the job itself (ls-remote of the
// branch; fetching and reading the Hasura project); the others read what
// the reconcilers report: the Metadata's appliedRevision and conditions
// (reason MigrationFailed, MetadataRejected, ...), the tenant's
// database (migrations recorded in hdb_catalog.schema_migrations), the
// engine itself (reload_metadata, /healthz) and the Project's Ready.
//
// A job is a ConfigMap in the tenants' namespace (job-<id>, key
// job.json), owned by the tenant's Project, so jobs_by_pk survives an
// operator restart; the job runner (on the leader only) resumes every
// job not finished.

// Job statuses (Hasura Cloud's).
const (
	JobCreated = "created"
	JobRunning = "running"
	JobSuccess = "success"
	JobFailed  = "failed"
	JobSkipped = "skipped"
)

// Task names (Hasura Cloud's), in order.
const (
	TaskValidation      = "gh-validation"
	TaskParse           = "parse-metadata-migration"
	TaskApplyMigration  = "apply-migration"
	TaskApplyMetadata   = "apply-metadata"
	TaskReloadMetadata  = "reload-metadata"
	TaskCheckHealthz    = "check-healthz"
	eventCreated        = "created"
	labelJob            = "strata.dev/job"
	labelJobActive      = "strata.dev/job-active"
	jobKey              = "job.json"
	maxFinishedJobsKept = 10
)

var taskOrder = []string{TaskValidation, TaskParse, TaskApplyMigration, TaskApplyMetadata, TaskReloadMetadata, TaskCheckHealthz}

// Job is a job record.
type Job struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	TenantID  string `json:"tenantId"`
	ProjectID string `json:"projectId"`
	// Project is the Project object's name.
	Project   string `json:"project"`
	Cloud     string `json:"cloud"`
	Region    string `json:"region"`
	RepoURL   string `json:"repoURL"`
	Branch    string `json:"branch"`
	Directory string `json:"directory,omitempty"`
	// Commit is the commit deployed, once known.
	Commit string `json:"commit,omitempty"`
	// Migrations are the versions of the source "default" in Commit.
	Migrations []int64   `json:"migrations,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
	Tasks      []*Task   `json:"tasks"`
}

// Task is one step of a job.
type Task struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Status    string       `json:"status"`
	CreatedAt time.Time    `json:"createdAt"`
	UpdatedAt time.Time    `json:"updatedAt"`
	Events    []*TaskEvent `json:"events"`
}

// TaskEvent is what happened to a task.
type TaskEvent struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Data      map[string]any `json:"data,omitempty"`
	Error     string         `json:"error,omitempty"`
	CreatedAt time.Time      `json:"createdAt"`
}

func (j *Job) finished() bool {
	return j.Status == JobSuccess || j.Status == JobFailed || j.Status == JobSkipped
}

func jobConfigMapName(id string) string { return "job-" + id }

// startPreviewJob records a new job for p's deployment and marks older
// unfinished jobs of the same tenant skipped.
func (s *Server) startPreviewJob(ctx context.Context, p *stratav1alpha1.Project, spec tenantSpec) (*Job, error) {
	now := time.Now().UTC()
	job := &Job{ID: uuid.NewString(), Status: JobCreated, TenantID: p.Labels[LabelTenant], ProjectID: p.Labels[LabelProjectID],
		Project: p.Name, Cloud: spec.cloud, Region: spec.region, RepoURL: spec.git.url, Branch: spec.git.branch,
		Directory: spec.git.directory, CreatedAt: now, UpdatedAt: now, Tasks: []*Task{}}
	if err := s.supersede(ctx, job.TenantID); err != nil {
		return nil, err
	}
	data, err := json.Marshal(job)
	if err != nil {
		return nil, err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: jobConfigMapName(job.ID),
		Labels: map[string]string{labelJob: job.ID, labelJobActive: "true"}}, Data: map[string]string{jobKey: string(data)}}
	if err := s.createChild(ctx, p, cm); err != nil {
		return nil, err
	}
	// A new annotation makes the Metadata reconcile now rather than at
	// its next resync: a redeploy of the same branch fetches it again.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var m stratav1alpha1.Metadata
		if err := s.r.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: p.Name}, &m); err != nil {
			return client.IgnoreNotFound(err)
		}
		if m.Annotations == nil {
			m.Annotations = map[string]string{}
		}
		m.Annotations[annotationDeployJob] = job.ID
		return s.c.Update(ctx, &m)
	})
	return job, err
}

// supersede marks a tenant's unfinished jobs skipped and prunes its
// oldest finished ones.
func (s *Server) supersede(ctx context.Context, tenantID string) error {
	var list corev1.ConfigMapList
	if err := s.r.List(ctx, &list, client.InNamespace(s.cfg.Namespace), client.MatchingLabels{LabelTenant: tenantID}, client.HasLabels{labelJob}); err != nil {
		return err
	}
	var finished []*Job
	for i := range list.Items {
		cm := &list.Items[i]
		job, err := decodeJob(cm)
		if err != nil {
			continue
		}
		if job.finished() {
			finished = append(finished, job)
			continue
		}
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			job.Status = JobSkipped
			for _, t := range job.Tasks {
				if t.Status == JobRunning {
					t.Status = JobSkipped
					t.UpdatedAt = time.Now().UTC()
				}
			}
			err := s.saveJob(ctx, cm, job)
			if apierrors.IsConflict(err) {
				if gerr := s.r.Get(ctx, client.ObjectKeyFromObject(cm), cm); gerr != nil {
					return gerr
				}
				fresh, derr := decodeJob(cm)
				if derr != nil || fresh.finished() {
					return derr
				}
				job = fresh
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	sort.Slice(finished, func(i, j int) bool { return finished[i].CreatedAt.After(finished[j].CreatedAt) })
	for i := maxFinishedJobsKept; i < len(finished); i++ {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: s.cfg.Namespace, Name: jobConfigMapName(finished[i].ID)}}
		if err := client.IgnoreNotFound(s.c.Delete(ctx, cm)); err != nil {
			return err
		}
	}
	return nil
}

func decodeJob(cm *corev1.ConfigMap) (*Job, error) {
	var job Job
	if err := json.Unmarshal([]byte(cm.Data[jobKey]), &job); err != nil {
		return nil, fmt.Errorf("job record %s: %w", cm.Name, err)
	}
	return &job, nil
}

// saveJob writes job into cm with cm's resourceVersion (a conflict means
// someone else wrote it: read again).
func (s *Server) saveJob(ctx context.Context, cm *corev1.ConfigMap, job *Job) error {
	job.UpdatedAt = time.Now().UTC()
	data, err := json.Marshal(job)
	if err != nil {
		return err
	}
	cm.Data = map[string]string{jobKey: string(data)}
	active := "true"
	if job.finished() {
		active = "false"
	}
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	cm.Labels[labelJobActive] = active
	return s.c.Update(ctx, cm)
}

func (s *Server) jobsByPK(ctx context.Context, args map[string]any) (any, error) {
	id, err := checkUUID(args["id"])
	if err != nil {
		return nil, err
	}
	var cm corev1.ConfigMap
	if err := s.r.Get(ctx, types.NamespacedName{Namespace: s.cfg.Namespace, Name: jobConfigMapName(id)}, &cm); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	job, err := decodeJob(&cm)
	if err != nil {
		return nil, err
	}
	return jobObj(job), nil
}

func jobObj(j *Job) obj {
	return obj{"id": j.ID, "status": j.Status, "created_at": ts(j.CreatedAt), "updated_at": ts(j.UpdatedAt),
		"tasks": fieldFunc(func(_ context.Context, args map[string]any) (any, error) {
			items := make([]any, len(j.Tasks))
			for i, t := range j.Tasks {
				items[i] = t
			}
			items = orderAndLimit(items, args, func(v any, field string) string {
				t := v.(*Task)
				switch field {
				case "name":
					return t.Name
				case "created_at":
					return ts(t.CreatedAt)
				}
				return ts(t.UpdatedAt)
			})
			out := make([]any, len(items))
			for i, v := range items {
				out[i] = taskObj(j, v.(*Task))
			}
			return out, nil
		}),
	}
}

func taskObj(j *Job, t *Task) obj {
	return obj{"id": t.ID, "name": t.Name, "status": t.Status, "cloud": j.Cloud, "region": j.Region,
		"created_at": ts(t.CreatedAt), "updated_at": ts(t.UpdatedAt),
		"task_events": fieldFunc(func(_ context.Context, args map[string]any) (any, error) {
			items := make([]any, len(t.Events))
			for i, e := range t.Events {
				items[i] = e
			}
			items = orderAndLimit(items, args, func(v any, _ string) string { return ts(v.(*TaskEvent).CreatedAt) })
			out := make([]any, len(items))
			for i, v := range items {
				e := v.(*TaskEvent)
				var data any
				if e.Data != nil {
					data = e.Data
				}
				out[i] = obj{"id": e.ID, "event_type": e.Type, "public_event_data": data, "error": nilIfEmpty(e.Error),
					"github_detail": nil, "created_at": ts(e.CreatedAt), "updated_at": ts(e.CreatedAt)}
			}
			return out, nil
		}),
	}
}

// orderAndLimit applies Hasura's order_by (a list of {field: direction},
// or one such object) and limit to items, stably.
func orderAndLimit(items []any, args map[string]any, key func(v any, field string) string) []any {
	var orders []map[string]any
	switch o := args["order_by"].(type) {
	case map[string]any:
		orders = append(orders, o)
	case []any:
		for _, e := range o {
			if m, ok := e.(map[string]any); ok {
				orders = append(orders, m)
			}
		}
	}
	type term struct {
		field string
		desc  bool
	}
	var terms []term
	for _, o := range orders {
		for _, f := range sortedKeys(o) {
			terms = append(terms, term{f, strings.HasPrefix(str(o[f]), "desc")})
		}
	}
	if len(terms) > 0 {
		sort.SliceStable(items, func(a, b int) bool {
			for _, t := range terms {
				ka, kb := key(items[a], t.field), key(items[b], t.field)
				if ka == kb {
					continue
				}
				return (ka < kb) != t.desc
			}
			return false
		})
	}
	if n, ok := intArg(args["limit"]); ok && n >= 0 && n < len(items) {
		items = items[:n]
	}
	return items
}

// --- the runner ---

// JobRunner drives unfinished jobs; it runs on the leader only.
func (s *Server) JobRunner() *JobRunner { return &JobRunner{s: s, running: map[string]bool{}} }

// JobRunner is a manager Runnable.
type JobRunner struct {
	s       *Server
	mu      sync.Mutex
	running map[string]bool
	wg      sync.WaitGroup
}

// NeedLeaderElection: one replica drives jobs.
func (r *JobRunner) NeedLeaderElection() bool { return true }

// Start looks for unfinished jobs every JobPoll until ctx ends.
func (r *JobRunner) Start(ctx context.Context) error {
	defer r.wg.Wait()
	t := time.NewTicker(r.s.cfg.JobPoll)
	defer t.Stop()
	for {
		if err := r.scan(ctx); err != nil && ctx.Err() == nil {
			r.s.log.Error(err, "looking for unfinished jobs")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (r *JobRunner) scan(ctx context.Context) error {
	var list corev1.ConfigMapList
	if err := r.s.r.List(ctx, &list, client.InNamespace(r.s.cfg.Namespace), client.MatchingLabels{labelJobActive: "true"}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	for _, cm := range list.Items {
		r.mu.Lock()
		busy := r.running[cm.Name]
		if !busy {
			r.running[cm.Name] = true
		}
		r.mu.Unlock()
		if busy {
			continue
		}
		r.wg.Add(1)
		go func(name string) {
			defer r.wg.Done()
			defer func() {
				r.mu.Lock()
				delete(r.running, name)
				r.mu.Unlock()
			}()
			r.run(ctx, name)
		}(cm.Name)
	}
	return nil
}

// run advances one job until it finishes or ctx ends.
func (r *JobRunner) run(ctx context.Context, name string) {
	s := r.s
	for ctx.Err() == nil {
		var cm corev1.ConfigMap
		if err := s.r.Get(ctx, types.NamespacedName{Namespace: s.cfg.Namespace, Name: name}, &cm); err != nil {
			if !apierrors.IsNotFound(err) && ctx.Err() == nil {
				s.log.Error(err, "reading a job", "job", name)
			}
			return
		}
		job, err := decodeJob(&cm)
		if err != nil {
			s.log.Error(err, "a job record cannot be read; it is left as it is")
			return
		}
		if job.finished() {
			if cm.Labels[labelJobActive] != "false" {
				_ = s.saveJob(ctx, &cm, job)
			}
			return
		}
		changed := s.advance(ctx, job)
		if changed {
			if err := s.saveJob(ctx, &cm, job); err != nil {
				if !apierrors.IsConflict(err) && ctx.Err() == nil {
					s.log.Error(err, "saving a job", "job", job.ID)
				}
			} else if job.finished() {
				s.log.Info("job finished", "job", job.ID, "tenant", job.TenantID, "status", job.Status)
			}
			continue // read it back, go on at once
		}
		select {
		case <-ctx.Done():
		case <-time.After(s.cfg.JobPoll):
		}
	}
}

// advance moves a job one step; it reports whether the job changed.
func (s *Server) advance(ctx context.Context, job *Job) bool {
	now := time.Now().UTC()
	if job.Status == JobCreated {
		job.Status = JobRunning
		return true
	}
	var cur *Task
	if n := len(job.Tasks); n > 0 {
		cur = job.Tasks[n-1]
	}
	if cur == nil || cur.Status == JobSuccess {
		if len(job.Tasks) == len(taskOrder) {
			job.Status = JobSuccess
			return true
		}
		// Record the start before doing the work.
		job.Tasks = append(job.Tasks, &Task{ID: uuid.NewString(), Name: taskOrder[len(job.Tasks)], Status: JobRunning,
			CreatedAt: now, UpdatedAt: now, Events: []*TaskEvent{{ID: uuid.NewString(), Type: eventCreated, CreatedAt: now}}})
		return true
	}
	if cur.Status != JobRunning {
		job.Status = JobFailed
		return true
	}
	var p stratav1alpha1.Project
	err := s.r.Get(ctx, types.NamespacedName{Namespace: s.cfg.Namespace, Name: job.Project}, &p)
	if err != nil || !p.DeletionTimestamp.IsZero() || p.Labels[LabelTenant] != job.TenantID {
		if err != nil && !apierrors.IsNotFound(err) {
			return false // try again
		}
		s.finishTask(job, cur, nil, "the preview app was deleted")
		return true
	}
	token, err := s.gitToken(ctx, &p)
	if err != nil && !apierrors.IsNotFound(err) {
		return false
	}
	out := s.evaluate(ctx, job, cur.Name, &p, token)
	switch {
	case out.done:
		s.finishTask(job, cur, out.data, scrub(out.err, token))
		return true
	case now.Sub(job.CreatedAt) > s.cfg.JobTimeout:
		s.finishTask(job, cur, nil, scrub(fmt.Sprintf("timed out after %v: %s", s.cfg.JobTimeout, out.waiting), token))
		return true
	}
	return false
}

// finishTask ends a task: success without an error, else failed (and the
// job with it).
func (s *Server) finishTask(job *Job, t *Task, data map[string]any, errMsg string) {
	now := time.Now().UTC()
	ev := &TaskEvent{ID: uuid.NewString(), Type: JobSuccess, Data: data, CreatedAt: now}
	t.Status = JobSuccess
	if errMsg != "" {
		ev.Type, ev.Error, t.Status = JobFailed, errMsg, JobFailed
		job.Status = JobFailed
	}
	t.UpdatedAt = now
	t.Events = append(t.Events, ev)
}

// outcome of evaluating a task: done (ok unless err), or waiting (why).
type taskOutcome struct {
	done    bool
	data    map[string]any
	err     string
	waiting string
}

func succeeded(data map[string]any) taskOutcome { return taskOutcome{done: true, data: data} }
func failed(format string, args ...any) taskOutcome {
	return taskOutcome{done: true, err: fmt.Sprintf(format, args...)}
}
func waitFor(format string, args ...any) taskOutcome {
	return taskOutcome{waiting: fmt.Sprintf(format, args...)}
}

func (s *Server) evaluate(ctx context.Context, job *Job, task string, p *stratav1alpha1.Project, token string) taskOutcome {
	switch task {
	case TaskValidation:
		lctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		commit, err := lsRemote(lctx, job.RepoURL, job.Branch, token)
		if err != nil {
			return failed("%s (branch %s of %s): %v", "cannot read the repository", job.Branch, hasuraproject.Redact(job.RepoURL), err)
		}
		job.Commit = commit
		// projectId and githubDeploymentJobID are what Hasura's
		// preview-app action reads from this event; the deployment is
		// this same job.
		return succeeded(map[string]any{"branch": job.Branch, "commit": commit, "projectId": job.ProjectID,
			"tenantId": job.TenantID, "githubDeploymentJobID": job.ID})
	case TaskParse:
		fctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		co, err := hasuraproject.Fetch(fctx, hasuraproject.Repository{URL: job.RepoURL, Branch: job.Branch, Password: token})
		if err != nil {
			return failed("%v", err)
		}
		proj, err := hasuraproject.Load(co.FS, job.Directory)
		if err != nil {
			return failed("commit %s: %v", short(co.Commit), err)
		}
		job.Commit = co.Commit
		job.Migrations = nil
		for _, m := range proj.Migrations {
			if m.Source == "default" {
				job.Migrations = append(job.Migrations, m.Version)
			}
		}
		return succeeded(map[string]any{"commit": co.Commit, "migrations": len(proj.Migrations)})
	}

	var m stratav1alpha1.Metadata
	if err := s.r.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: p.Name}, &m); err != nil {
		return waitFor("reading Metadata %s: %v", p.Name, err)
	}
	stalled := meta.FindStatusCondition(m.Status.Conditions, stratav1alpha1.ConditionStalled)
	if stalled != nil && stalled.Status != metav1.ConditionTrue {
		stalled = nil
	}
	applied := m.Status.AppliedRevision == job.Commit && job.Commit != ""
	why := "waiting for the Metadata to be applied"
	if c := meta.FindStatusCondition(m.Status.Conditions, stratav1alpha1.ConditionReady); c != nil && c.Message != "" {
		why = c.Reason + ": " + c.Message
	}

	switch task {
	case TaskApplyMigration:
		if stalled != nil && stalled.Reason == stratav1alpha1.ReasonMigrationFailed && strings.Contains(stalled.Message, short(job.Commit)) {
			// The condition carries the engine's answer, Postgres' own
			// error included (the operator's client reads the internal
			// detail admins get).
			return failed("%s", stalled.Message)
		}
		if applied {
			return succeeded(map[string]any{"commit": job.Commit, "migrations": len(job.Migrations)})
		}
		ok, err := s.migrationsRecorded(ctx, p, job.Migrations)
		if err != nil {
			return waitFor("%s; reading the applied migrations: %v", why, err)
		}
		if ok {
			return succeeded(map[string]any{"commit": job.Commit, "migrations": len(job.Migrations)})
		}
		return waitFor("%s", why)
	case TaskApplyMetadata:
		if applied {
			return succeeded(map[string]any{"commit": job.Commit, "resourceVersion": m.Status.AppliedResourceVersion})
		}
		if stalled != nil {
			switch stalled.Reason {
			case stratav1alpha1.ReasonMetadataRejected, stratav1alpha1.ReasonInvalidSpec, stratav1alpha1.ReasonConflictingManager:
				return failed("%s", stalled.Message)
			}
		}
		return waitFor("%s", why)
	case TaskReloadMetadata:
		engine, err := s.engine(ctx, p)
		if err != nil {
			return waitFor("%v", err)
		}
		if err := engine.Metadata(ctx, engineclient.Request{Type: "reload_metadata", Args: map[string]any{}}, nil); err != nil {
			return waitFor("reload_metadata: %s", redactURL(err.Error()))
		}
		cons, err := engine.InconsistentMetadata(ctx)
		if err != nil {
			return waitFor("get_inconsistent_metadata: %s", redactURL(err.Error()))
		}
		if n := len(cons.InconsistentObjects); n > 0 {
			var reasons []string
			for i, o := range cons.InconsistentObjects {
				if i == 5 {
					reasons = append(reasons, fmt.Sprintf("and %d more", n-5))
					break
				}
				reasons = append(reasons, fmt.Sprintf("%s %s: %s", o.Type, o.Name, o.Reason))
			}
			return failed("%d metadata objects are inconsistent: %s", n, redactURL(strings.Join(reasons, "; ")))
		}
		return succeeded(map[string]any{"consistent": true})
	case TaskCheckHealthz:
		if !projectReady(p) {
			c := meta.FindStatusCondition(p.Status.Conditions, stratav1alpha1.ConditionReady)
			if c != nil && c.Message != "" {
				return waitFor("the project is not ready: %s", c.Message)
			}
			return waitFor("the project is not ready")
		}
		engine := &engineclient.Client{URL: s.engineURL(p), HTTP: s.http}
		if err := engine.Healthy(ctx); err != nil {
			return waitFor("/healthz: %s", redactURL(err.Error()))
		}
		return succeeded(map[string]any{"endpoint": endpoint(p)})
	}
	return failed("unknown task %q", task)
}

// engine is a client for the tenant's engine with its admin secret.
func (s *Server) engine(ctx context.Context, p *stratav1alpha1.Project) (*engineclient.Client, error) {
	sec, err := s.readEnv(ctx, p)
	if err != nil {
		return nil, err
	}
	return &engineclient.Client{URL: s.engineURL(p), AdminSecret: string(sec.Data[envAdminSecret]), HTTP: s.http}, nil
}

// migrationsRecorded reports whether every version is recorded as applied
// (as the CLI records them) in the tenant's database.
func (s *Server) migrationsRecorded(ctx context.Context, p *stratav1alpha1.Project, versions []int64) (bool, error) {
	if len(versions) == 0 {
		return true, nil
	}
	var sec corev1.Secret
	if err := s.r.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: dbSecretName(p.Name)}, &sec); err != nil {
		return false, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, string(sec.Data[databaseURLKey]))
	if err != nil {
		return false, errors.New(redactURL(err.Error()))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var have []int64
	err = conn.QueryRow(cctx, `SELECT coalesce(array_agg(version), '{}') FROM hdb_catalog.schema_migrations
		WHERE NOT dirty AND version = ANY($1)`, versions).Scan(&have)
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return false, nil // nothing applied yet
		}
		return false, err
	}
	return len(have) == len(versions), nil
}

func short(commit string) string { return commit[:min(len(commit), 12)] }
