package compile

import "testing"

// Keys with characters beyond letters, digits, _ and - are bracketed in
// error paths, as Hasura's encodeJSONPath does.
func TestPathKey(t *testing.T) {
	for key, want := range map[string]string{
		"where": ".where", "_set": "._set", "a-b1": ".a-b1",
		"$set": `["$set"]`, "1st": `["1st"]`, "a b": `["a b"]`, "": `[""]`,
	} {
		if got := pathKey(key); got != want {
			t.Errorf("pathKey(%q) = %s, want %s", key, got, want)
		}
	}
}
