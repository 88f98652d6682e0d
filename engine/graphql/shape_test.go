package graphql

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"slices"
	"strconv"
	"testing"
)

// TestPlanFieldsAreBound: the plan cache copies a plan field by field
// (plan.clone) and knows where parameters live (paramLists). A new field
// of plan must be handled there, then counted here.
func TestPlanFieldsAreBound(t *testing.T) {
	var names []string
	for f := range reflect.TypeFor[plan]().Fields() {
		names = append(names, f.Name)
	}
	want := []string{"fields", "stmts", "mutation", "sessionVars", "wholeSession", "subscribe", "joins", "live"}
	if !slices.Equal(names, want) {
		t.Fatalf("plan's fields are %v, plancache.go handles %v: update clone, paramLists and sameShape", names, want)
	}
}

// FuzzShapeOf: the plan cache's scanner agrees with encoding/json on
// every input: it accepts exactly the JSON objects (within its depth
// bound), finds the same leaves in the same order, and its probe is JSON
// of the same structure with every leaf replaced.
func FuzzShapeOf(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, ``, `{"id": 42}`, `{"a": [1, 2.5, "x", true, null, {"b": "é\n\u00e9"}]}`,
		`{"n": -2147483648, "m": 2147483648, "e": 1e3, "z": 0, "neg": -0}`, `[1]`, `"s"`, `{"a":}`,
		`{"a": 01}`, `{"a": "\ud800"}`, `{"a": 1} x`, `{"a" 1}`, `{"a": [1,]}`, `{"a": "` + "\x01" + `"}`,
		`{"a": {"b": {"c": [[["deep"]]]}}}`, ` { "a" : "b" } `, `{"a": tru}`, `{"a": "\"quoted\""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		vs, ok := shapeOf(in)
		trimmed := bytes.TrimSpace(in)
		if len(trimmed) == 0 || string(trimmed) == "null" {
			if !ok || len(vs.leaves) != 0 {
				t.Fatalf("%q: empty variables not accepted", in)
			}
			return
		}
		var v any
		isObject := json.Unmarshal(in, &v) == nil
		if _, obj := v.(map[string]any); !obj {
			isObject = false
		}
		if ok && !isObject {
			t.Fatalf("%q: accepted, but not a JSON object", in)
		}
		want, deep := leavesOf(t, in)
		if isObject && !deep && !ok {
			t.Fatalf("%q: a JSON object refused", in)
		}
		if !ok {
			return
		}
		if !slices.Equal(vs.leaves, want) {
			t.Fatalf("%q: leaves %q, want %q", in, vs.leaves, want)
		}
		probe, probes := vs.probe()
		if len(probes) != len(want) {
			t.Fatalf("%q: %d probes for %d leaves", in, len(probes), len(want))
		}
		got, _ := leavesOf(t, probe)
		if !slices.Equal(got, probes) {
			t.Fatalf("%q: the probe %s holds %q, not the probes %q", in, probe, got, probes)
		}
		for i := range probes {
			if probes[i] == vs.leaves[i] {
				t.Fatalf("%q: leaf %d is its own probe", in, i)
			}
		}
		again, ok := shapeOf(probe)
		if !ok || again.key != vs.key {
			t.Fatalf("%q: the probe %s has another shape: %q, not %q", in, probe, again.key, vs.key)
		}
	})
}

// FuzzParseRequest: what parseRequest reads, json.Unmarshal reads the
// same, and the shape it finds is shapeOf's.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"query":"{ a }"}`, `{"query":"query($id:Int!){ a(id:$id) }","variables":{"id":1},"operationName":"Q"}`,
		`{"query":"q","variables":null}`, `{"query":"q","variables":[1]}`, `{"Query":"q"}`, `{"query":1}`,
		`{"query":"a","query":null}`, `{"query":"\n\"x\"","extensions":{"persistedQuery":{"v":1}},"other":[1,{"a":"b"}]}`,
		` {"variables":{"a":"b"} , "query":"q"} `, `{"query":"q",}`, `{"query":"q"} x`, `{}`, `[{"query":"q"}]`, `{"query":"q","variables":{"a":1e400}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		req, vs, ok := parseRequest(in)
		if !ok {
			return
		}
		var want Request
		if err := json.Unmarshal(in, &want); err != nil {
			t.Fatalf("%q: parsed, but encoding/json says %v", in, err)
		}
		if req.Query != want.Query || req.OperationName != want.OperationName ||
			!bytes.Equal(req.Variables, want.Variables) || !bytes.Equal(req.Extensions, want.Extensions) {
			t.Fatalf("%q: read %+v, encoding/json reads %+v", in, req, want)
		}
		if shape, shaped := shapeOf(req.Variables); shaped != (vs != nil) || shaped && (shape.key != vs.key || !slices.Equal(shape.leaves, vs.leaves)) {
			t.Fatalf("%q: shape %+v, shapeOf says %+v (%v)", in, vs, shape, shaped)
		}
	})
}

// leavesOf lists the strings and 32-bit integers of a JSON value, object
// keys aside, in order, as encoding/json's tokenizer reads them; deep
// reports nesting beyond the scanner's bound.
func leavesOf(t *testing.T, in []byte) (leaves []string, deep bool) {
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	// inObject[i]: level i is an object; key[i]: its next token is a key.
	var inObject, key []bool
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return leaves, deep
		}
		isKey := len(key) > 0 && inObject[len(inObject)-1] && key[len(key)-1]
		if len(key) > 0 && inObject[len(inObject)-1] {
			key[len(key)-1] = !key[len(key)-1]
		}
		switch x := tok.(type) {
		case json.Delim:
			switch x {
			case '{', '[':
				inObject = append(inObject, x == '{')
				key = append(key, x == '{')
				if len(inObject) > maxDepth {
					deep = true
				}
			default:
				inObject, key = inObject[:len(inObject)-1], key[:len(key)-1]
				if len(key) > 0 && inObject[len(inObject)-1] {
					key[len(key)-1] = true
				}
			}
		case string:
			if !isKey {
				leaves = append(leaves, x)
			}
		case json.Number:
			if _, err := strconv.ParseInt(string(x), 10, 32); err == nil {
				leaves = append(leaves, string(x))
			}
		}
	}
}
