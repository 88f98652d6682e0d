package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// DriftPolicy says what to do when the engine's metadata was changed behind
// the controller's back.
// +kubebuilder:validation:Enum=Correct;Report
type DriftPolicy string

const (
	// DriftCorrect re-applies the desired metadata.
	DriftCorrect DriftPolicy = "Correct"
	// DriftReport only reports the drift in status.
	DriftReport DriftPolicy = "Report"
)

// MetadataSpec is the desired metadata of a Project: exactly one of inline
// metadata, ConfigMaps, or the Project's git source.
// +kubebuilder:validation:XValidation:rule="(has(self.metadata) ? 1 : 0) + (has(self.configMapRefs) && size(self.configMapRefs) > 0 ? 1 : 0) + (has(self.fromGit) && self.fromGit ? 1 : 0) == 1",message="set exactly one of metadata, configMapRefs and fromGit"
type MetadataSpec struct {
	// ProjectRef is the Project whose engine gets this metadata.
	ProjectRef ProjectReference `json:"projectRef"`

	// Metadata is the Hasura metadata document (export_metadata's
	// `version: 3` object), inline.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +optional
	Metadata *runtime.RawExtension `json:"metadata,omitempty"`

	// ConfigMapRefs hold the metadata document, merged in order, each
	// under the key `metadata.json` or `metadata.yaml`.
	// +optional
	ConfigMapRefs []corev1.LocalObjectReference `json:"configMapRefs,omitempty"`

	// FromGit takes the metadata (and migrations) from the Project's git
	// source.
	// +optional
	FromGit bool `json:"fromGit,omitempty"`

	// DriftPolicy: Correct re-applies, Report only reports.
	// +kubebuilder:default=Correct
	// +optional
	DriftPolicy DriftPolicy `json:"driftPolicy,omitempty"`

	// AllowInconsistentMetadata applies metadata even when the engine
	// reports inconsistencies (replace_metadata's
	// allow_inconsistent_metadata).
	// +optional
	AllowInconsistentMetadata bool `json:"allowInconsistentMetadata,omitempty"`
	// Suspend stops applying and drift checks until unset.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// MetadataStatus is the observed state of a Metadata.
type MetadataStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// AppliedResourceVersion is the engine's resource_version after the
	// last apply.
	// +optional
	AppliedResourceVersion int64 `json:"appliedResourceVersion,omitempty"`
	// AppliedHash is the digest of the normalized metadata last applied.
	// +optional
	AppliedHash string `json:"appliedHash,omitempty"`
	// LiveHash is the digest of the engine's metadata right after the
	// last apply; the engine's metadata digesting differently later is
	// drift (someone changed it behind the controller's back).
	// +optional
	LiveHash string `json:"liveHash,omitempty"`
	// Drifted is true while the engine's metadata differs from what was
	// last applied and the drift policy is Report.
	// +optional
	Drifted bool `json:"drifted,omitempty"`
	// AppliedRevision is the git commit (fromGit) whose migrations and
	// metadata were last applied.
	// +optional
	AppliedRevision string `json:"appliedRevision,omitempty"`
	// LastAppliedTime of the last successful apply.
	// +optional
	LastAppliedTime *metav1.Time `json:"lastAppliedTime,omitempty"`
	// InconsistentObjects reported by the engine after the last apply.
	// +optional
	InconsistentObjects []InconsistentObject `json:"inconsistentObjects,omitempty"`
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// InconsistentObject is one entry of get_inconsistent_metadata.
type InconsistentObject struct {
	// Type of the object (table, relationship, permission, ...).
	Type string `json:"type"`
	// Name of the object.
	// +optional
	Name string `json:"name,omitempty"`
	// Reason the engine gave.
	Reason string `json:"reason"`
}

// Metadata is the desired Hasura metadata of a Project.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=strata,shortName=hmd
// +kubebuilder:printcolumn:name="Project",type=string,JSONPath=`.spec.projectRef.name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Version",type=integer,JSONPath=`.status.appliedResourceVersion`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.appliedRevision`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Metadata struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   MetadataSpec   `json:"spec"`
	Status MetadataStatus `json:"status,omitempty"`
}

// MetadataList is a list of Metadata.
// +kubebuilder:object:root=true
type MetadataList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Metadata `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Metadata{}, &MetadataList{})
}
