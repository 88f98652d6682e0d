package kriti

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzKriti parses and runs arbitrary templates: never a panic, only
// Kriti errors, JSON out, and the same result every time.
func FuzzKriti(f *testing.F) {
	for _, tc := range parseErrorCases {
		f.Add(tc.src)
	}
	for _, tc := range evalCases {
		f.Add(tc.src)
	}
	for _, tc := range evalErrorCases {
		f.Add(tc.src)
	}
	for _, tc := range functionCases {
		f.Add(tc.src)
	}
	for _, tc := range functionErrorCases {
		f.Add("{{ " + tc.src + " }}")
	}
	vars := testVars(f)
	funcs := Funcs{"echo": func(v any) (any, error) { return v, nil }}
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Parse(src)
		if err != nil {
			var ke *Error
			if !errors.As(err, &ke) || ke.Code != CodeParse && ke.Code != CodeLex {
				t.Fatalf("Parse(%q): %v is not a parse error", src, err)
			}
			if ke.Span.End.before(ke.Span.Start) {
				t.Fatalf("Parse(%q): span %s ends before it starts", src, ke.Span)
			}
			return
		}
		v, err := tmpl.Eval(vars, funcs)
		if err != nil {
			var ke *Error
			if !errors.As(err, &ke) || ke.Code == CodeParse || ke.Code == CodeLex {
				t.Fatalf("Eval(%q): %v is not an evaluation error", src, err)
			}
			return
		}
		out := Encode(v)
		if !json.Valid(out) {
			t.Fatalf("Eval(%q) wrote invalid JSON %s", src, out)
		}
		again, err := tmpl.Eval(vars, funcs)
		if err != nil || !bytes.Equal(Encode(again), out) {
			t.Fatalf("Eval(%q) is not deterministic: %s then %s (%v)", src, out, Encode(again), err)
		}
	})
}
