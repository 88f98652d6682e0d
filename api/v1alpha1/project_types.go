package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// API groups an engine can serve, as HASURA_GRAPHQL_ENABLED_APIS names them
// (plus pgmeta for the /pg/ admin API).
// +kubebuilder:validation:Enum=graphql;metadata;pgdump;config;developer;metrics;pgmeta
type EngineAPI string

// ProjectSpec is the desired state of one engine deployment.
type ProjectSpec struct {
	// Image of the engine. Defaults to the operator's own image, which
	// contains the same strata binary.
	// +optional
	Image string `json:"image,omitempty"`

	// Replicas of the engine. A PodDisruptionBudget is created when > 1.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +kubebuilder:default=1
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Resources of the engine container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// Env is passed to the engine as is: the HASURA_GRAPHQL_* settings,
	// plain or from Secrets and ConfigMaps.
	// +listType=map
	// +listMapKey=name
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`

	// AdminSecretRef holds the admin secret. When absent the operator
	// generates one in a Secret it owns.
	// +optional
	AdminSecretRef *SecretKeyRef `json:"adminSecretRef,omitempty"`

	// MetadataDatabase is where the engine keeps its metadata (hdb_catalog).
	MetadataDatabase DatabaseRef `json:"metadataDatabase"`

	// EnabledAPIs restricts the API groups the engine serves. Empty means
	// the engine's default.
	// +listType=set
	// +optional
	EnabledAPIs []EngineAPI `json:"enabledAPIs,omitempty"`

	// Git is a repository in the Hasura CLI project layout (config.yaml,
	// metadata/, migrations/) that Metadata objects and preview
	// environments build from.
	// +optional
	Git *GitSource `json:"git,omitempty"`
}

// DatabaseRef points at a Postgres connection URL kept in a Secret.
type DatabaseRef struct {
	// URLSecretRef selects the Secret key holding the postgres:// URL.
	URLSecretRef SecretKeyRef `json:"urlSecretRef"`
}

// GitSource is a git repository, a ref in it and a directory.
// +kubebuilder:validation:XValidation:rule="!(has(self.branch) && has(self.revision))",message="set at most one of branch and revision"
type GitSource struct {
	// URL of the repository (https://, ssh:// or file://).
	// +kubebuilder:validation:Pattern=`^(https?|ssh|file)://.+`
	URL string `json:"url"`
	// Branch to follow.
	// +optional
	Branch string `json:"branch,omitempty"`
	// Revision (a commit SHA) to pin.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{7,40}$`
	// +optional
	Revision string `json:"revision,omitempty"`
	// Directory of the Hasura project inside the repository.
	// +optional
	Directory string `json:"directory,omitempty"`
	// CredentialsSecretRef names a Secret with `username`/`password` (or
	// `token`) for the repository.
	// +optional
	CredentialsSecretRef *corev1.LocalObjectReference `json:"credentialsSecretRef,omitempty"`
}

// ProjectStatus is the observed state of a Project.
type ProjectStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Endpoint is the in-cluster URL of the engine.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// ReadyReplicas of the engine Deployment.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// EngineVersion reported by the engine's /v1/version.
	// +optional
	EngineVersion string `json:"engineVersion,omitempty"`
	// Conditions: Ready, Reconciling, Stalled.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Project is one Strata engine deployment.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=strata
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.status.endpoint`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Project struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ProjectSpec   `json:"spec"`
	Status ProjectStatus `json:"status,omitempty"`
}

// ProjectList is a list of Projects.
// +kubebuilder:object:root=true
type ProjectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Project `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Project{}, &ProjectList{})
}
