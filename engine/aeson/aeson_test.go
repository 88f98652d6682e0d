package aeson

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

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

// FuzzAppendString: whatever the string, AppendString writes one valid
// JSON string that reads back as the string (invalid UTF-8 as U+FFFD,
// as encoding/json reads it), and escapes no more than aeson does.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"b\s`, "tab\tnl\nnul\x00", "<&>", "ünï", "\xff\xfe", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := AppendString([]byte("x"), s)
		if b[0] != 'x' {
			t.Fatalf("%q: the prefix was overwritten", s)
		}
		var got string
		if err := json.Unmarshal(b[1:], &got); err != nil {
			t.Fatalf("%q: %s is not a JSON string: %v", s, b[1:], err)
		}
		// ranging over a string reads each invalid byte as U+FFFD, as
		// encoding/json does
		if want := strings.Map(func(r rune) rune { return r }, s); got != want {
			t.Fatalf("%q read back as %q, want %q", s, got, want)
		}
		if strings.Contains(string(b), `\u003c`) || strings.Contains(string(b), `\u0026`) {
			t.Fatalf("%q: HTML escaped: %s", s, b)
		}
	})
}

// TestTypeMismatch: encoding/json's type errors read as aeson's, in the
// forms Hasura's tests expect.
func TestTypeMismatch(t *testing.T) {
	var v struct {
		N  *int64   `json:"n"`
		S  string   `json:"s"`
		B  bool     `json:"b"`
		L  []string `json:"l"`
		O  struct{} `json:"o"`
		F8 int8     `json:"f8"`
	}
	for in, want := range map[string]string{
		`{"n":"abc"}`: "parsing Int failed, expected Number, but encountered String",
		`{"s":1}`:     "parsing Text failed, expected String, but encountered Number",
		`{"b":"yes"}`: "parsing Bool failed, expected Boolean, but encountered String",
		`{"l":"x"}`:   "parsing [] failed, expected Array, but encountered String",
		`{"o":[]}`:    "parsing Object failed, expected Object, but encountered Array",
		`{"f8":1000}`: "parsing Int failed, expected Number, but encountered Number",
	} {
		var te *json.UnmarshalTypeError
		if err := json.Unmarshal([]byte(in), &v); !errors.As(err, &te) {
			t.Fatalf("%s: %v is not a type error", in, err)
		}
		if got := TypeMismatch(te); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}
