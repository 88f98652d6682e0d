package kriti

import (
	"errors"
	"testing"
)

// Every basic function, on every kind of argument it treats apart.
var functionCases = []struct{ src, want string }{
	{`[empty({}), empty([1]), empty(" \t "), empty(0.0), empty(null), empty("a"), empty(-1)]`, `[true,false,true,true,true,false,false]`},
	{`[size({"a":1}), size([1,2]), size("héllo"), size(2.50), size(true), size(false), size(null)]`, `[1,2,5,2.5,1,0,0]`},
	{`[inverse("abc"), inverse([1,2,3]), inverse(4), inverse(0.5), inverse(true), inverse(null), inverse({"a":1}), inverse(-8), inverse(16), inverse(0.04)]`,
		`["cba",[3,2,1],0.25,2,false,null,{"a":1},-0.125,6.25e-2,25]`},
	{`[head([1,2]), head("héllo"), tail([1,2]), tail("héllo"), tail([1])]`, `[1,"h",[2],"éllo",[]]`},
	{`[toCaseFold("Straße ΣΑΣ ſ"), toLower("İSTANBUL"), toUpper("ﬀ straße"), toTitle("hello wORLD-x  y"), toTitle("ǆemal 1abc")]`,
		`["strasse σασ s","i` + "\u0307" + `stanbul","FF STRASSE","Hello World-x  Y","ǅemal 1Abc"]`},
	{`escapeUri("a b/é?~.-_")`, `"a%20b%2F%C3%A9%3F~.-_"`},
	{`toPairs({"b": 2, "a": [1]})`, `[["a",[1]],["b",2]]`},
	{`fromPairs([["a", 1], ["b", 2], ["a", 3]])`, `{"a":3,"b":2}`},
	{`removeNulls([1, null, 2, null])`, `[1,2]`},
	{`[concat([[1], [2, 3], []]), concat(["a", "b"]), concat([{"a": 1, "b": 1}, {"b": 2}]), concat([])]`, `[[1,2,3],"ab",{"a":1,"b":2},[]]`},
	{`[not(true), not false]`, `[false,true]`},
}

func TestFunctions(t *testing.T) {
	for _, tc := range functionCases {
		got, err := Run(tc.src, nil, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if s := string(Encode(got)); s != tc.want {
			t.Errorf("%s\n got %s\nwant %s", tc.src, s, tc.want)
		}
	}
}

// Function errors carry the function's own message (aeson's, for the
// ones that parse their argument).
var functionErrorCases = []struct{ src, msg string }{
	{`empty(true)`, "Cannot define emptiness for a boolean"},
	{`inverse(0)`, "divide by zero"},
	{`inverse(3)`, "the inverse of 3 is a repeating decimal, which a JSON number cannot hold"},
	{`head([])`, "Empty array"},
	{`head("")`, "Empty string"},
	{`head({})`, "Expected an array or string"},
	{`tail("")`, "Empty string"},
	{`tail(1)`, "Expected an array or string"},
	{`toUpper(1)`, "parsing String failed, expected String, but encountered Number"},
	{`escapeUri(null)`, "parsing String failed, expected String, but encountered Null"},
	{`toPairs([])`, "parsing Object failed, expected Object, but encountered Array"},
	{`fromPairs({})`, "parsing Nested Arrays failed, expected Array, but encountered Object"},
	{`fromPairs(["x"])`, "parsing Array of Pair failed, expected Array, but encountered String"},
	{`fromPairs([["a"]])`, "Expected an array of shape [ [k1,v1], [k2,v2] ... ] - With String keys."},
	{`fromPairs([[1, 2]])`, "parsing Key failed, expected String, but encountered Number"},
	{`removeNulls(1)`, "parsing Array failed, expected Array, but encountered Number"},
	{`concat(1)`, "parsing Array failed, expected Array, but encountered Number"},
	{`concat([1])`, "parsing Nested Object failed, expected Object, but encountered Number"},
	{`concat(["a", [1]])`, "parsing Nested Object failed, expected Object, but encountered String"},
	{`not(1)`, "parsing Bool failed, expected Boolean, but encountered Number"},
}

func TestFunctionErrors(t *testing.T) {
	for _, tc := range functionErrorCases {
		_, err := Run(tc.src, nil, nil)
		var ke *Error
		if !errors.As(err, &ke) || ke.Code != CodeFunction || ke.Message != tc.msg {
			t.Errorf("%s: got %v, want %q", tc.src, err, tc.msg)
		}
	}
}

func TestCaseFold(t *testing.T) {
	for in, want := range map[string]string{
		"X-Hasura-Role": "x-hasura-role",
		"\u1e9e":        "ss",     // capital sharp s
		"\u00b5":        "\u03bc", // micro sign to mu
		"\u03c2":        "\u03c3", // final sigma
		"\u0131":        "\u0131", // dotless i stays
		"\uab70":        "\u13a0", // Cherokee folds to upper case
		"\ufb03":        "ffi",
	} {
		if got := CaseFold(in); got != want {
			t.Errorf("CaseFold(%q) = %q, want %q", in, got, want)
		}
	}
}
