package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
)

// What a Project owns, and how its children are named and labelled. The
// names are derived, not stored, so a reconcile can always find them.
const (
	// EnginePort is the port the engine listens on in the pod and the
	// Service exposes.
	EnginePort = 8080

	// adminSecretKey is the key of the generated admin secret.
	adminSecretKey = "admin-secret"

	// annotationSpecHash on a child records the digest of what the
	// operator last wrote; an unchanged digest means no write.
	annotationSpecHash = "strata.dev/spec-hash"
	// annotationConfigHash on the pod template is the digest of the
	// Secret and ConfigMap values the engine reads, so changing one rolls
	// the pods.
	annotationConfigHash = "strata.dev/config-hash"

	labelName      = "app.kubernetes.io/name"
	labelInstance  = "app.kubernetes.io/instance"
	labelComponent = "app.kubernetes.io/component"
	labelManagedBy = "app.kubernetes.io/managed-by"
	// LabelProject names the Project a child belongs to.
	LabelProject = "strata.dev/project"
	managedBy    = "strata-operator"
)

// generatedSecretName is the Secret holding a generated admin secret.
func generatedSecretName(p *stratav1alpha1.Project) string { return p.Name + "-admin-secret" }

// adminSecretRef is where the Project's admin secret lives: the referenced
// Secret, or the one the operator generates.
func adminSecretRef(p *stratav1alpha1.Project) stratav1alpha1.SecretKeyRef {
	if p.Spec.AdminSecretRef != nil {
		return *p.Spec.AdminSecretRef
	}
	return stratav1alpha1.SecretKeyRef{Name: generatedSecretName(p), Key: adminSecretKey}
}

func selectorLabels(p *stratav1alpha1.Project) map[string]string {
	return map[string]string{labelName: "strata", labelInstance: p.Name, labelComponent: "engine"}
}

func childLabels(p *stratav1alpha1.Project) map[string]string {
	l := selectorLabels(p)
	l[labelManagedBy] = managedBy
	l[LabelProject] = p.Name
	return l
}

func childMeta(p *stratav1alpha1.Project, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: p.Namespace, Labels: childLabels(p)}
}

func replicas(p *stratav1alpha1.Project) int32 {
	if p.Spec.Replicas == nil {
		return 1
	}
	return *p.Spec.Replicas
}

// engineEnv is the engine's environment: what the operator wires (the
// metadata database, the admin secret, the port, the enabled APIs), then
// the spec's own variables, which win over ours when they name the same
// variable (the pod spec takes the last of duplicates; we drop ours so the
// Deployment stays readable).
func engineEnv(p *stratav1alpha1.Project) []corev1.EnvVar {
	secretEnv := func(name string, ref stratav1alpha1.SecretKeyRef) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: ref.Name}, Key: ref.Key}}}
	}
	ours := []corev1.EnvVar{
		secretEnv("HASURA_GRAPHQL_METADATA_DATABASE_URL", p.Spec.MetadataDatabase.URLSecretRef),
		secretEnv("HASURA_GRAPHQL_ADMIN_SECRET", adminSecretRef(p)),
		{Name: "HASURA_GRAPHQL_SERVER_PORT", Value: fmt.Sprint(EnginePort)},
	}
	if len(p.Spec.EnabledAPIs) > 0 {
		apis := make([]string, len(p.Spec.EnabledAPIs))
		for i, a := range p.Spec.EnabledAPIs {
			apis[i] = string(a)
		}
		ours = append(ours, corev1.EnvVar{Name: "HASURA_GRAPHQL_ENABLED_APIS", Value: strings.Join(apis, ",")})
	}
	env := make([]corev1.EnvVar, 0, len(ours)+len(p.Spec.Env))
	for _, e := range ours {
		if !slices.ContainsFunc(p.Spec.Env, func(u corev1.EnvVar) bool { return u.Name == e.Name }) {
			env = append(env, e)
		}
	}
	return append(env, p.Spec.Env...)
}

// desiredDeployment is the engine Deployment of p. configHash goes on the
// pod template so a changed Secret value rolls the pods.
func desiredDeployment(p *stratav1alpha1.Project, image, configHash string) *appsv1.Deployment {
	probe := func(failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/healthz", Port: intstr.FromString("http")}},
			PeriodSeconds: 10, TimeoutSeconds: 3, FailureThreshold: failures,
			SuccessThreshold: 1, // the server's default, spelled out for drifted
		}
	}
	return &appsv1.Deployment{
		ObjectMeta: childMeta(p, p.Name),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas(p)),
			Selector: &metav1.LabelSelector{MatchLabels: selectorLabels(p)},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				// Never below the asked-for capacity during a rollout.
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(1))}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: childLabels(p), Annotations: map[string]string{annotationConfigHash: configHash}},
				Spec: corev1.PodSpec{
					// The engine needs no Kubernetes API access.
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
					Containers: []corev1.Container{{
						Name:      "engine",
						Image:     image,
						Args:      []string{"serve"},
						Env:       engineEnv(p),
						Ports:     []corev1.ContainerPort{{Name: "http", ContainerPort: EnginePort, Protocol: corev1.ProtocolTCP}},
						Resources: p.Spec.Resources,
						// Readiness takes a pod out of the Service quickly;
						// liveness restarts it only after a minute of
						// failures (the metadata database may be briefly away).
						ReadinessProbe: probe(3),
						LivenessProbe:  probe(6),
						StartupProbe:   probe(30),
						SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
							ReadOnlyRootFilesystem: ptr.To(true),
							Capabilities:           &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
						// The root filesystem is read-only; scratch space
						// (a local pg_dump, temp files) goes to /tmp.
						VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
					}},
					Volumes: []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				},
			},
		},
	}
}

func desiredService(p *stratav1alpha1.Project) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: childMeta(p, p.Name),
		Spec: corev1.ServiceSpec{
			Selector: selectorLabels(p),
			Ports: []corev1.ServicePort{{Name: "http", Port: EnginePort, TargetPort: intstr.FromString("http"),
				Protocol: corev1.ProtocolTCP}},
		},
	}
}

// desiredPDB keeps all but one engine pod up through voluntary
// disruptions; only built when the Project has more than one replica.
func desiredPDB(p *stratav1alpha1.Project) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: childMeta(p, p.Name),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: ptr.To(intstr.FromInt32(1)),
			Selector:       &metav1.LabelSelector{MatchLabels: selectorLabels(p)},
		},
	}
}

// specHash is the digest of what the operator writes for a child.
func specHash(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // our own API types always marshal
	}
	d := sha256.Sum256(b)
	return hex.EncodeToString(d[:8])
}

// secretRefs lists every Secret key the engine of p reads (the metadata
// database, the admin secret, env valueFrom), and configMapRefs every
// ConfigMap key: their values go into the config hash, and a change to
// one of them re-queues the Project.
func secretRefs(p *stratav1alpha1.Project) []keyRef {
	refs := []keyRef{{ref: p.Spec.MetadataDatabase.URLSecretRef}, {ref: adminSecretRef(p)}}
	for _, e := range p.Spec.Env {
		if s := e.ValueFrom; s != nil && s.SecretKeyRef != nil {
			refs = append(refs, keyRef{stratav1alpha1.SecretKeyRef{Name: s.SecretKeyRef.Name, Key: s.SecretKeyRef.Key}, ptr.Deref(s.SecretKeyRef.Optional, false)})
		}
	}
	return refs
}

func configMapRefs(p *stratav1alpha1.Project) []keyRef {
	var refs []keyRef
	for _, e := range p.Spec.Env {
		if s := e.ValueFrom; s != nil && s.ConfigMapKeyRef != nil {
			refs = append(refs, keyRef{stratav1alpha1.SecretKeyRef{Name: s.ConfigMapKeyRef.Name, Key: s.ConfigMapKeyRef.Key}, ptr.Deref(s.ConfigMapKeyRef.Optional, false)})
		}
	}
	return refs
}

// keyRef is one key of a Secret or ConfigMap the engine reads; an
// optional one may be missing without holding the Project back.
type keyRef struct {
	ref      stratav1alpha1.SecretKeyRef
	optional bool
}
