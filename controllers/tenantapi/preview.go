package tenantapi

import (
	"context"
	"errors"
	"path"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/controllers/hasuraproject"
)

// Preview apps: createGitHubPreviewApp makes (or, for a name it already
// made, redeploys) a tenant whose Project follows a branch of a
// repository, with a Metadata applying the repository's Hasura CLI
// project, and starts a job whose tasks report the deployment.
//
// The GitHub token lives only in the tenant's git Secret (key
// `password`): the Project names that Secret, the job record keeps no
// copy, and every message from git is stripped of it.

// gitSpec is the repository of a preview app.
type gitSpec struct {
	owner, repo, branch, directory string
	url                            string
	token                          string
}

func (g *gitSpec) source(project string) *stratav1alpha1.GitSource {
	src := &stratav1alpha1.GitSource{URL: g.url, Branch: g.branch, Directory: g.directory}
	if g.token != "" {
		src.CredentialsSecretRef = &corev1.LocalObjectReference{Name: gitSecretName(project)}
	}
	return src
}

func (g *gitSpec) secret(project string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: gitSecretName(project)}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"password": []byte(g.token)}}
}

var (
	ownerRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_.-]{0,99})$`)
	repoRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)
)

// parseGitSpec checks githubRepoDetails; the URL is GitBaseURL/owner/repo.git.
func (s *Server) parseGitSpec(details map[string]any, token string) (*gitSpec, error) {
	g := &gitSpec{owner: str(details["owner"]), repo: strings.TrimSuffix(str(details["repo"]), ".git"),
		branch: str(details["branch"]), token: token}
	if !ownerRE.MatchString(g.owner) || strings.Contains(g.owner, "..") {
		return nil, errorf(CodeValidation, "invalid repository owner %q", g.owner)
	}
	if !repoRE.MatchString(g.repo) || g.repo == "." || g.repo == ".." {
		return nil, errorf(CodeValidation, "invalid repository name %q", g.repo)
	}
	if g.branch == "" || plumbing.NewBranchReferenceName(g.branch).Validate() != nil {
		return nil, errorf(CodeValidation, "invalid branch name %q", g.branch)
	}
	dir := str(details["directory"])
	for _, part := range strings.Split(dir, "/") {
		if part == ".." {
			return nil, errorf(CodeValidation, "invalid directory %q: it must stay inside the repository", dir)
		}
	}
	if dir = strings.Trim(path.Clean("/"+dir), "/"); dir != "" {
		g.directory = dir
	}
	if strings.ContainsAny(token, "\r\n") {
		return nil, errorf(CodeValidation, "invalid githubPersonalAccessToken")
	}
	g.url = s.cfg.GitBaseURL + "/" + g.owner + "/" + g.repo + ".git"
	return g, nil
}

func (s *Server) createGitHubPreviewApp(ctx context.Context, args map[string]any) (any, error) {
	payload, _ := args["payload"].(map[string]any)
	details, _ := payload["githubRepoDetails"].(map[string]any)
	opts, _ := payload["projectOptions"].(map[string]any)
	g, err := s.parseGitSpec(details, str(payload["githubPersonalAccessToken"]))
	if err != nil {
		return nil, err
	}
	spec := tenantSpec{name: str(opts["name"]), cloud: str(opts["cloud"]), region: str(opts["region"]),
		plan: str(opts["plan"]), git: g, createdBy: callerOf(ctx)}
	if err := checkRegion(s.cfg.Regions, spec.cloud, spec.region); err != nil {
		return nil, err
	}
	if !planRE.MatchString(spec.plan) {
		return nil, errorf(CodeValidation, "invalid plan %q", spec.plan)
	}
	name, err := objectName(spec.name)
	if err != nil {
		return nil, err
	}
	if spec.env, err = envArg(opts["envVars"]); err != nil {
		return nil, err
	}

	p, err := s.deployPreview(ctx, name, spec)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeAlreadyExists || e.Message != errTakenMessage(spec.name) {
			return nil, err
		}
		// Another request created it in between: deploy over it.
		if p, err = s.deployPreview(ctx, name, spec); err != nil {
			return nil, err
		}
	}
	job, err := s.startPreviewJob(ctx, p, spec)
	if err != nil {
		return nil, err
	}
	s.log.Info("preview app deployment scheduled", "tenant", p.Labels[LabelTenant], "project", p.Name,
		"job", job.ID, "repository", g.owner+"/"+g.repo, "branch", g.branch, "token", callerOf(ctx))
	return obj{"githubPreviewAppJobID": job.ID}, nil
}

// deployPreview creates the preview app, or redeploys the one of that
// name.
func (s *Server) deployPreview(ctx context.Context, name string, spec tenantSpec) (*stratav1alpha1.Project, error) {
	var p stratav1alpha1.Project
	err := s.r.Get(ctx, types.NamespacedName{Namespace: s.cfg.Namespace, Name: name}, &p)
	switch {
	case apierrors.IsNotFound(err):
		return s.provision(ctx, spec)
	case err != nil:
		return nil, err
	case p.Labels[LabelPreviewApp] != "true" || p.Labels[LabelTenant] == "":
		return nil, errorf(CodeAlreadyExists, "a project named %q exists and is not a preview app", spec.name)
	case !p.DeletionTimestamp.IsZero():
		return nil, errorf(CodeConflict, "preview app %q is being deleted; try again shortly", spec.name)
	}
	if err := s.redeploy(ctx, &p, spec); err != nil {
		return nil, err
	}
	return &p, nil
}

// redeploy points an existing preview app at the (maybe new) branch and
// token, sets the given variables and makes sure its Source and Metadata
// exist.
func (s *Server) redeploy(ctx context.Context, p *stratav1alpha1.Project, spec tenantSpec) error {
	name := p.Name
	if err := s.setGitSecret(ctx, p, spec.git); err != nil {
		return err
	}
	if err := s.upsertEnv(ctx, p, spec.env); err != nil {
		return err
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := s.r.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			return err
		}
		p.Annotations[AnnotationCloud], p.Annotations[AnnotationRegion] = spec.cloud, spec.region
		if spec.plan != "" {
			p.Annotations[AnnotationPlan] = spec.plan
		}
		p.Spec.Git = spec.git.source(name)
		return s.c.Update(ctx, p)
	})
	if err != nil {
		return err
	}
	for _, o := range []client.Object{
		&stratav1alpha1.Source{ObjectMeta: metav1.ObjectMeta{Name: sourceObjName(name)}, Spec: stratav1alpha1.SourceSpec{
			ProjectRef: stratav1alpha1.ProjectReference{Name: name}, Name: "default",
			URLSecretRef: stratav1alpha1.SecretKeyRef{Name: dbSecretName(name), Key: databaseURLKey}}},
		&stratav1alpha1.Metadata{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: stratav1alpha1.MetadataSpec{ProjectRef: stratav1alpha1.ProjectReference{Name: name}, FromGit: true}},
	} {
		if err := s.createChild(ctx, p, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}

// setGitSecret writes (or, with no token, deletes) the git credentials.
func (s *Server) setGitSecret(ctx context.Context, p *stratav1alpha1.Project, g *gitSpec) error {
	want := g.secret(p.Name)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var sec corev1.Secret
		err := s.r.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: want.Name}, &sec)
		switch {
		case apierrors.IsNotFound(err) && g.token == "":
			return nil
		case apierrors.IsNotFound(err):
			return s.createChild(ctx, p, want)
		case err != nil:
			return err
		case g.token == "":
			return client.IgnoreNotFound(s.c.Delete(ctx, &sec))
		case string(sec.Data["password"]) == g.token:
			return nil
		}
		sec.Data = want.Data
		return s.c.Update(ctx, &sec)
	})
}

// gitToken reads a preview app's token back from its Secret.
func (s *Server) gitToken(ctx context.Context, p *stratav1alpha1.Project) (string, error) {
	if p.Spec.Git == nil || p.Spec.Git.CredentialsSecretRef == nil {
		return "", nil
	}
	var sec corev1.Secret
	err := s.r.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: p.Spec.Git.CredentialsSecretRef.Name}, &sec)
	if err != nil {
		return "", err
	}
	if t, ok := sec.Data["token"]; ok {
		return string(t), nil
	}
	return string(sec.Data["password"]), nil
}

// lsRemote finds the commit at the head of branch, as `git ls-remote`,
// in the words a preview job reports.
func lsRemote(ctx context.Context, url, branch, token string) (string, error) {
	commit, err := hasuraproject.Head(ctx, hasuraproject.Repository{URL: url, Branch: branch, Password: token})
	switch {
	case err == nil:
		return commit, nil
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return "", errors.New("authentication failed: the token cannot read the repository")
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return "", errors.New("repository not found (or the token cannot see it)")
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return "", errors.New("the repository is empty")
	}
	return "", err
}

// scrub removes a secret from a message, and URL credentials with it.
func scrub(msg, secret string) string {
	if secret != "" {
		msg = strings.ReplaceAll(msg, secret, "[redacted]")
	}
	return redactURL(hasuraproject.Redact(msg))
}
