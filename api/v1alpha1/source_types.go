package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SourceSpec is a Postgres database attached to a Project, applied with
// pg_add_source / pg_update_source and removed with pg_drop_source.
type SourceSpec struct {
	// ProjectRef is the Project whose engine gets this source.
	ProjectRef ProjectReference `json:"projectRef"`

	// Name of the source in the engine's metadata. Defaults to the
	// object's name.
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_-]*$`
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Name string `json:"name,omitempty"`

	// URLSecretRef selects the Secret key holding the postgres:// URL.
	URLSecretRef SecretKeyRef `json:"urlSecretRef"`

	// PoolSettings of the engine's connection pool for this source.
	// +optional
	PoolSettings *PoolSettings `json:"poolSettings,omitempty"`

	// IsolationLevel of the engine's transactions on this source.
	// +kubebuilder:validation:Enum=read-committed;repeatable-read;serializable
	// +optional
	IsolationLevel string `json:"isolationLevel,omitempty"`
}

// PoolSettings mirror Hasura's pool_settings.
type PoolSettings struct {
	// MaxConnections per engine instance.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	// +optional
	MaxConnections *int32 `json:"maxConnections,omitempty"`
	// IdleTimeout in seconds.
	// +kubebuilder:validation:Minimum=0
	// +optional
	IdleTimeout *int32 `json:"idleTimeout,omitempty"`
	// ConnectionLifetime in seconds; 0 disables recycling.
	// +kubebuilder:validation:Minimum=0
	// +optional
	ConnectionLifetime *int32 `json:"connectionLifetime,omitempty"`
	// PoolTimeout in seconds to wait for a free connection.
	// +kubebuilder:validation:Minimum=0
	// +optional
	PoolTimeout *int32 `json:"poolTimeout,omitempty"`
}

// SourceStatus is the observed state of a Source.
type SourceStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// InconsistentObjects the engine reports for this source.
	// +optional
	InconsistentObjects int32 `json:"inconsistentObjects,omitempty"`
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Source is a database attached to a Project's engine.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=strata
// +kubebuilder:printcolumn:name="Project",type=string,JSONPath=`.spec.projectRef.name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Source struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SourceSpec   `json:"spec"`
	Status SourceStatus `json:"status,omitempty"`
}

// SourceList is a list of Sources.
// +kubebuilder:object:root=true
type SourceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Source `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Source{}, &SourceList{})
}
