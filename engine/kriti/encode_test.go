package kriti

import (
	"encoding/json"
	"testing"
)

func TestEncode(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		// aeson escapes only backslash, quote and control characters, the
		// latter as \n, \r, \t or \u00XX.
		{"\x01\b\f\n\r\t\"\\<>&é\u2028/", `"\u0001\u0008\u000c\n\r\t\"\\<>&é` + "\u2028" + `/"`},
		{"bad \xff byte", "\"bad \uFFFD byte\""},
		{map[string]any{"b": []any{json.Number("1.0"), nil, true}, "a": map[string]any{}}, `{"a":{},"b":[1.0,null,true]}`},
		{[]any{}, `[]`},
		{2.5, `2.5`},
		{int64(7), `7`},
		{struct{}{}, `null`},
	} {
		if got := string(Encode(tc.in)); got != tc.want {
			t.Errorf("Encode(%#v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
