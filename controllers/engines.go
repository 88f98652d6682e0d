package controllers

import (
	"context"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
	engineclient "github.com/strata-dev/strata/engine/client"
)

// Engines finds a Project's engine and the admin secret to speak to it
// with. Reconcilers reach engines only through it, over HTTP, as a user's
// tooling would.
type Engines struct {
	Reader client.Reader
	// Address maps a Project's Service to the base URL the operator
	// dials; nil means the in-cluster DNS name. Tests (and operators
	// running outside the cluster) point it elsewhere.
	Address func(namespace, service string, port int32) string
	HTTP    *http.Client
}

// NewEngines reaches engines through the in-cluster Service DNS names.
func NewEngines(r client.Reader) *Engines {
	return &Engines{Reader: r, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// ServiceURL is the in-cluster URL of a Project's engine, as status shows
// it to users.
func (e *Engines) ServiceURL(p *stratav1alpha1.Project) string {
	return fmt.Sprintf("http://%s.%s.svc:%d", p.Name, p.Namespace, EnginePort)
}

// For returns a client for the Project's engine with its admin secret.
func (e *Engines) For(ctx context.Context, p *stratav1alpha1.Project) (*engineclient.Client, error) {
	ref := adminSecretRef(p)
	var s corev1.Secret
	if err := e.Reader.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: ref.Name}, &s); err != nil {
		return nil, fmt.Errorf("reading the admin secret: %w", err)
	}
	secret, ok := s.Data[ref.Key]
	if !ok {
		return nil, fmt.Errorf("the admin secret %q has no key %q", ref.Name, ref.Key)
	}
	url := e.ServiceURL(p)
	if e.Address != nil {
		url = e.Address(p.Namespace, p.Name, EnginePort)
	}
	return &engineclient.Client{URL: url, AdminSecret: string(secret), HTTP: e.HTTP}, nil
}

// projectReady reports whether a Project's engine is up: the Ready
// condition of the Project's current generation.
func projectReady(p *stratav1alpha1.Project) bool {
	return readyOf(p.Status.Conditions) == metav1.ConditionTrue && p.Status.ObservedGeneration == p.Generation
}

func readyOf(conds []metav1.Condition) metav1.ConditionStatus {
	for _, c := range conds {
		if c.Type == stratav1alpha1.ConditionReady {
			return c.Status
		}
	}
	return metav1.ConditionUnknown
}
