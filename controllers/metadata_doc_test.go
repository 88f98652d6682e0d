package controllers

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestWithLiveSourcesTakesConnectionsFromTheEngine(t *testing.T) {
	desired := `{"version":3,"sources":[{"name":"default","kind":"postgres","tables":[{"table":{"schema":"public","name":"t"}}]},
		{"name":"extra","kind":"postgres","tables":[],"configuration":{"connection_info":{"database_url":{"from_env":"X"}}}}]}`
	live := `{"version":3,"sources":[{"name":"default","kind":"postgres","tables":[],"configuration":{"connection_info":{"database_url":"postgres://u:pw@h/db"}}},
		{"name":"analytics","kind":"postgres","tables":[{"table":{"schema":"public","name":"old"}}],"configuration":{"connection_info":{"database_url":"postgres://a"}}}]}`
	doc, missing, err := withLiveSources(json.RawMessage(desired), json.RawMessage(live))
	if err != nil || missing != "" {
		t.Fatalf("missing %q, err %v", missing, err)
	}
	var got struct {
		Sources []struct {
			Name          string          `json:"name"`
			Tables        []any           `json:"tables"`
			Configuration json.RawMessage `json:"configuration"`
		} `json:"sources"`
	}
	if err := json.Unmarshal(doc, &got); err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, conf string }{
		{"default", `{"connection_info":{"database_url":"postgres://u:pw@h/db"}}`}, // from the engine
		{"extra", `{"connection_info":{"database_url":{"from_env":"X"}}}`},         // the document's own
		{"analytics", `{"connection_info":{"database_url":"postgres://a"}}`},       // kept, without tables
	}
	if len(got.Sources) != len(want) {
		t.Fatalf("sources: %s", doc)
	}
	for i, w := range want {
		if got.Sources[i].Name != w.name || string(got.Sources[i].Configuration) != w.conf {
			t.Errorf("source %d: %s %s, want %s %s", i, got.Sources[i].Name, got.Sources[i].Configuration, w.name, w.conf)
		}
	}
	if len(got.Sources[2].Tables) != 0 {
		t.Errorf("a source the document does not mention keeps its tables: %s", doc)
	}

	_, missing, err = withLiveSources(json.RawMessage(`{"sources":[{"name":"new","tables":[]}]}`), json.RawMessage(`{"sources":[]}`))
	if err != nil || missing != "new" {
		t.Errorf("a source neither attached nor configured: missing %q, err %v", missing, err)
	}
	if _, _, err := withLiveSources(json.RawMessage(`[1]`), json.RawMessage(`{}`)); err == nil {
		t.Error("a document that is not an object was accepted")
	}
}

func TestDigestIgnoresFormattingAndConnections(t *testing.T) {
	a := `{"version":3,"sources":[{"name":"d","tables":[],"configuration":{"connection_info":{"database_url":"postgres://one"}}}]}`
	b := "{\n  \"sources\": [{\"tables\": [], \"name\": \"d\", \"configuration\": {}}],\n  \"version\": 3\n}"
	c := `{"version":3,"sources":[{"name":"d","tables":[{"table":{"schema":"public","name":"t"}}]}]}`
	da, _ := digest(json.RawMessage(a))
	db, _ := digest(json.RawMessage(b))
	dc, _ := digest(json.RawMessage(c))
	if da != db {
		t.Errorf("formatting or the connection changed the digest: %s %s", da, db)
	}
	if da == dc {
		t.Error("a tracked table did not change the digest")
	}
}

func TestMergeDocumentsInOrder(t *testing.T) {
	cm := func(name, key, data string) corev1.ConfigMap {
		return corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{key: data}}
	}
	doc, err := mergeDocuments([]corev1.ConfigMap{
		cm("base", "metadata.yaml", "version: 3\nsources: []\nallowlist: [{collection: a}]\n"),
		cm("over", "metadata.json", `{"allowlist":[{"collection":"b"}],"rest_endpoints":[]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.Unmarshal(doc, &got)
	if al, _ := json.Marshal(got["allowlist"]); string(al) != `[{"collection":"b"}]` || got["version"] != 3.0 || got["rest_endpoints"] == nil {
		t.Errorf("merged: %s", doc)
	}
	for _, bad := range []corev1.ConfigMap{cm("x", "other", "{}"), cm("y", "metadata.yaml", "- a list"), cm("z", "metadata.json", "{")} {
		if _, err := mergeDocuments([]corev1.ConfigMap{bad}); err == nil || !strings.Contains(err.Error(), bad.Name) {
			t.Errorf("ConfigMap %s: %v", bad.Name, err)
		}
	}
}

func TestRedactRemovesCredentials(t *testing.T) {
	for _, in := range []string{
		`failed to connect to postgres://app:s3cret@db:5432/x: refused`,
		`dial "postgresql://app:s3cret@db/x?sslmode=disable" failed`,
		`conn string host=db user=app password=s3cret dbname=x`,
		`password='s3cret' host=db`,
	} {
		if out := redact(in); strings.Contains(out, "s3cret") {
			t.Errorf("redact(%q) = %q", in, out)
		}
	}
	if out := redact("no secrets in http://example.com/path"); out != "no secrets in http://example.com/path" {
		t.Errorf("redact changed a harmless message: %q", out)
	}
}
