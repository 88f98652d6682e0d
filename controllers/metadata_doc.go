package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	jsonpatch "github.com/evanphx/json-patch/v5"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Metadata documents as the controller handles them: decoded JSON
// objects, merged from their parts, combined with what only the engine
// knows (source connections), and digested for comparison.

// mergeDocuments merges ConfigMap parts in order with JSON merge patch
// (RFC 7386): later parts override keys of earlier ones, objects merge,
// arrays are replaced.
func mergeDocuments(cms []corev1.ConfigMap) (json.RawMessage, error) {
	var doc json.RawMessage
	for _, cm := range cms {
		part, err := configMapDocument(cm)
		if err != nil {
			return nil, err
		}
		if doc == nil {
			doc = part
			continue
		}
		if doc, err = jsonpatch.MergePatch(doc, part); err != nil {
			return nil, fmt.Errorf("merging ConfigMap %q: %w", cm.Name, err)
		}
	}
	return doc, nil
}

// configMapDocument reads metadata.json or metadata.yaml of a ConfigMap.
func configMapDocument(cm corev1.ConfigMap) (json.RawMessage, error) {
	for _, key := range []string{"metadata.json", "metadata.yaml", "metadata.yml"} {
		raw, ok := cm.Data[key]
		if !ok {
			continue
		}
		doc, err := yaml.YAMLToJSON([]byte(raw))
		if err != nil {
			return nil, fmt.Errorf("ConfigMap %q key %s: %w", cm.Name, key, err)
		}
		if len(doc) == 0 || doc[0] != '{' {
			return nil, fmt.Errorf("ConfigMap %q key %s: the metadata must be an object", cm.Name, key)
		}
		return doc, nil
	}
	return nil, fmt.Errorf("ConfigMap %q has none of the keys metadata.json, metadata.yaml", cm.Name)
}

// withLiveSources completes a desired document with what the engine owns:
// each source's connection comes from the engine (Source objects or the
// engine's env attach databases; a metadata document in git should not
// carry passwords), and a source the document does not mention is kept,
// without tables, so applying metadata never disconnects a database.
// missing names a source the document needs that the engine has not got
// and the document does not configure.
func withLiveSources(desired, live json.RawMessage) (doc json.RawMessage, missing string, err error) {
	var want, have map[string]any
	if err := json.Unmarshal(desired, &want); err != nil {
		return nil, "", fmt.Errorf("the desired metadata is not a JSON object: %w", err)
	}
	if err := json.Unmarshal(live, &have); err != nil {
		return nil, "", fmt.Errorf("decoding the engine's metadata: %w", err)
	}
	liveConf := map[string]any{}
	var liveOrder []string
	for _, s := range objects(have["sources"]) {
		name, _ := s["name"].(string)
		liveConf[name] = s["configuration"]
		liveOrder = append(liveOrder, name)
	}
	sources := objects(want["sources"])
	mentioned := map[string]bool{}
	for _, s := range sources {
		name, _ := s["name"].(string)
		mentioned[name] = true
		if conf, ok := liveConf[name]; ok {
			s["configuration"] = conf
		} else if s["configuration"] == nil && missing == "" {
			missing = name
		}
	}
	for _, name := range liveOrder {
		if !mentioned[name] {
			sources = append(sources, map[string]any{"name": name, "kind": "postgres", "tables": []any{},
				"configuration": liveConf[name]})
		}
	}
	out := make([]any, len(sources))
	for i, s := range sources {
		out[i] = s
	}
	want["sources"] = out
	if _, ok := want["version"]; !ok {
		want["version"] = 3
	}
	doc, err = json.Marshal(want)
	return doc, missing, err
}

// digest is the hash of a metadata document without the sources'
// connection settings: those belong to the Source objects, and a
// re-attached database must not look like a metadata change. Keys are
// sorted by the re-encoding, so formatting never matters.
func digest(doc json.RawMessage) (string, error) {
	var v map[string]any
	if err := json.Unmarshal(doc, &v); err != nil {
		return "", err
	}
	for _, s := range objects(v["sources"]) {
		delete(s, "configuration")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	d := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(d[:16]), nil
}

// objects returns the JSON objects of an array value.
func objects(v any) []map[string]any {
	arr, _ := v.([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
