package v1alpha1_test

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/test/kubetest"
)

var env *kubetest.Env

func TestMain(m *testing.M) { kubetest.Main(m, &env) }

func meta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: "default"} }

func validProject(name string) *v1.Project {
	return &v1.Project{ObjectMeta: meta(name), Spec: v1.ProjectSpec{
		MetadataDatabase: v1.DatabaseRef{URLSecretRef: v1.SecretKeyRef{Name: "db", Key: "url"}},
		EnabledAPIs:      []v1.EngineAPI{"graphql", "metadata"},
		Git:              &v1.GitSource{URL: "file:///repo", Branch: "main", Directory: "hasura"},
	}}
}

func validSource(name string) *v1.Source {
	return &v1.Source{ObjectMeta: meta(name), Spec: v1.SourceSpec{
		ProjectRef:   v1.ProjectReference{Name: "p"},
		Name:         "default",
		URLSecretRef: v1.SecretKeyRef{Name: "db", Key: "url"},
		PoolSettings: &v1.PoolSettings{MaxConnections: ptr.To[int32](20)},
	}}
}

func validMetadata(name string) *v1.Metadata {
	return &v1.Metadata{ObjectMeta: meta(name), Spec: v1.MetadataSpec{
		ProjectRef: v1.ProjectReference{Name: "p"},
		Metadata:   &runtime.RawExtension{Raw: []byte(`{"version":3,"sources":[{"name":"default","kind":"postgres","tables":[]}]}`)},
	}}
}

// Each kind round-trips through a real API server, with defaults applied
// and the status subresource writable on its own.
func TestEveryKindRoundTrips(t *testing.T) {
	ctx := context.Background()
	c := env.Client

	p := validProject("roundtrip")
	if err := c.Create(ctx, p); err != nil {
		t.Fatalf("create project: %v", err)
	}
	var gotP v1.Project
	if err := c.Get(ctx, client.ObjectKeyFromObject(p), &gotP); err != nil {
		t.Fatal(err)
	}
	if gotP.Spec.Replicas == nil || *gotP.Spec.Replicas != 1 {
		t.Errorf("replicas default: got %v, want 1", gotP.Spec.Replicas)
	}
	if gotP.Spec.Git == nil || gotP.Spec.Git.Directory != "hasura" {
		t.Errorf("git not kept: %+v", gotP.Spec.Git)
	}
	gotP.Status.Endpoint = "http://roundtrip.default.svc:8080"
	gotP.Status.ObservedGeneration = gotP.Generation
	if err := c.Status().Update(ctx, &gotP); err != nil {
		t.Fatalf("status update: %v", err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(p), &gotP); err != nil || gotP.Status.Endpoint == "" {
		t.Fatalf("status not stored: %v %+v", err, gotP.Status)
	}

	s := validSource("roundtrip")
	if err := c.Create(ctx, s); err != nil {
		t.Fatalf("create source: %v", err)
	}
	var gotS v1.Source
	if err := c.Get(ctx, client.ObjectKeyFromObject(s), &gotS); err != nil {
		t.Fatal(err)
	}
	if gotS.Spec.PoolSettings == nil || *gotS.Spec.PoolSettings.MaxConnections != 20 {
		t.Errorf("pool settings not kept: %+v", gotS.Spec.PoolSettings)
	}

	m := validMetadata("roundtrip")
	if err := c.Create(ctx, m); err != nil {
		t.Fatalf("create metadata: %v", err)
	}
	var gotM v1.Metadata
	if err := c.Get(ctx, client.ObjectKeyFromObject(m), &gotM); err != nil {
		t.Fatal(err)
	}
	if gotM.Spec.DriftPolicy != v1.DriftCorrect {
		t.Errorf("driftPolicy default %q, want Correct", gotM.Spec.DriftPolicy)
	}
	// Unknown fields inside the metadata document must survive: it is
	// Hasura's format, not ours to prune.
	if !strings.Contains(string(gotM.Spec.Metadata.Raw), `"kind":"postgres"`) {
		t.Errorf("metadata document pruned: %s", gotM.Spec.Metadata.Raw)
	}
}

// The API server, not the controller, rejects malformed objects, so
// `kubectl apply` fails at once with the reason.
func TestInvalidObjectsAreRejected(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		obj  client.Object
		want string
	}{
		{"negative replicas", func() client.Object {
			p := validProject("neg")
			p.Spec.Replicas = ptr.To[int32](-1)
			return p
		}(), "spec.replicas"},
		{"unknown API", func() client.Object {
			p := validProject("api")
			p.Spec.EnabledAPIs = []v1.EngineAPI{"console"}
			return p
		}(), "spec.enabledAPIs"},
		{"branch and revision", func() client.Object {
			p := validProject("gitboth")
			p.Spec.Git.Revision = "abcdef1"
			return p
		}(), "set at most one of branch and revision"},
		{"git URL scheme", func() client.Object {
			p := validProject("gitscheme")
			p.Spec.Git.URL = "/local/path"
			return p
		}(), "spec.git.url"},
		{"missing metadata database", func() client.Object {
			p := validProject("nodb")
			p.Spec.MetadataDatabase.URLSecretRef = v1.SecretKeyRef{}
			return p
		}(), "spec.metadataDatabase.urlSecretRef"},
		{"source name", func() client.Object {
			s := validSource("badname")
			s.Spec.Name = "has space"
			return s
		}(), "spec.name"},
		{"isolation level", func() client.Object {
			s := validSource("iso")
			s.Spec.IsolationLevel = "chaos"
			return s
		}(), "spec.isolationLevel"},
		{"two metadata origins", func() client.Object {
			m := validMetadata("two")
			m.Spec.FromGit = true
			return m
		}(), "set exactly one of metadata, configMapRefs and fromGit"},
		{"no metadata origin", func() client.Object {
			m := validMetadata("none")
			m.Spec.Metadata = nil
			return m
		}(), "set exactly one of metadata, configMapRefs and fromGit"},
		{"drift policy", func() client.Object {
			m := validMetadata("drift")
			m.Spec.DriftPolicy = "Ignore"
			return m
		}(), "spec.driftPolicy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := env.Client.Create(ctx, tc.obj)
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want Invalid, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}
