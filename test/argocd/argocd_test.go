package argocd

import (
	"testing"

	"sigs.k8s.io/yaml"
)

func TestHealthFollowsTheConditions(t *testing.T) {
	for _, tc := range []struct{ name, obj, status string }{
		{"no status yet", `metadata: {generation: 1}`, "Progressing"},
		{"deleting", `metadata: {generation: 1, deletionTimestamp: "2026-01-01T00:00:00Z"}
status: {observedGeneration: 1, conditions: [{type: Ready, status: "True", reason: Succeeded, message: ok}]}`, "Progressing"},
		{"suspended", `metadata: {generation: 1}
spec: {suspend: true}`, "Suspended"},
		{"ready", `metadata: {generation: 2}
status: {observedGeneration: 2, conditions: [{type: Ready, status: "True", reason: Succeeded, message: ok, observedGeneration: 2}]}`, "Healthy"},
		{"ready for an older generation", `metadata: {generation: 3}
status: {observedGeneration: 2, conditions: [{type: Ready, status: "True", reason: Succeeded, message: ok, observedGeneration: 2}]}`, "Progressing"},
		{"reconciling", `metadata: {generation: 1}
status: {observedGeneration: 1, conditions: [{type: Ready, status: "False", reason: Progressing, message: rolling out}, {type: Reconciling, status: "True", reason: Progressing, message: rolling out}]}`, "Progressing"},
		{"stalled", `metadata: {generation: 4}
status: {observedGeneration: 4, conditions: [{type: Ready, status: "False", reason: MetadataRejected, message: bad}, {type: Stalled, status: "True", reason: MetadataRejected, message: bad}]}`, "Degraded"},
		{"stalled for an older generation", `metadata: {generation: 5}
status: {observedGeneration: 4, conditions: [{type: Stalled, status: "True", reason: MetadataRejected, message: bad}]}`, "Progressing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(tc.obj), &obj); err != nil {
				t.Fatal(err)
			}
			status, msg, err := Health(obj)
			if err != nil || status != tc.status {
				t.Errorf("health %q (%q), err %v; want %q", status, msg, err, tc.status)
			}
		})
	}
}
