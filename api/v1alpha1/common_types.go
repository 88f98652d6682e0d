package v1alpha1

// Condition types shared by every kind. They follow kstatus
// (sigs.k8s.io/cli-utils/pkg/kstatus): Ready is the positive summary,
// Reconciling and Stalled are abnormal-true conditions that are removed (or
// False) when the object is settled, so `kubectl wait --for=condition=Ready`,
// Flux and Argo CD health checks work unchanged.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
)

// Reasons of the conditions, stable CamelCase words that tools (Argo CD,
// Flux, the tenant API's jobs, scripts) may match on.
const (
	ReasonSucceeded          = "Succeeded"
	ReasonProgressing        = "Progressing"
	ReasonDependencyNotReady = "DependencyNotReady"
	ReasonSecretNotFound     = "SecretNotFound"
	ReasonEngineUnreachable  = "EngineUnreachable"
	ReasonInvalidSpec        = "InvalidSpec"
	// Source
	ReasonConnectionFail = "ConnectionFailed"
	// Metadata
	ReasonConflictingManager = "ConflictingManager"
	ReasonDriftDetected      = "DriftDetected"
	ReasonInconsistent       = "InconsistentMetadata"
	ReasonMetadataRejected   = "MetadataRejected"
	ReasonConflict           = "ResourceVersionConflict"
	ReasonGitFailed          = "GitOperationFailed"
	ReasonMigrationFailed    = "MigrationFailed"
)

// ProjectReference names a Project in the same namespace.
type ProjectReference struct {
	// Name of the Project.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// SecretKeyRef selects one key of a Secret in the same namespace.
type SecretKeyRef struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Key inside the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}
