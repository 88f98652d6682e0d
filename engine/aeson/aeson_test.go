package aeson

import "testing"

func TestKind(t *testing.T) {
	for in, want := range map[string]string{"": "Null", " null": "Null", "{}": "Object", "[1]": "Array", `"x"`: "String", "true": "Boolean", "false": "Boolean", "-1.5": "Number"} {
		if got := Kind([]byte(in)); got != want {
			t.Errorf("Kind(%q) = %s, want %s", in, got, want)
		}
	}
}

type raw struct{}

func (raw) MarshalJSON() ([]byte, error) { return []byte(`{"q":"a<b&c>"}`), nil }

func TestMarshalDoesNotEscapeHTML(t *testing.T) {
	b, err := Marshal(map[string]any{"s": "<x & y>", "r": raw{}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"r":{"q":"a<b&c>"},"s":"<x & y>"}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}
