package transform

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

func TestNewRequest(t *testing.T) {
	for _, tc := range []struct{ in, method, url string }{
		// http-client adds the path's slash, and writes the port only if
		// it is not the scheme's.
		{"http://localhost:1234", "GET", "http://localhost:1234/"},
		{"http://localhost:1234/foo/bar?baz=bam", "GET", "http://localhost:1234/foo/bar?baz=bam"},
		{"https://x.com:443/a b?q=a+b&r", "GET", "https://x.com/a%20b?q=a%20b&r"},
		{"HTTP://x.com:80", "GET", "http://x.com/"},
		{"POST http://x.com/p", "POST", "http://x.com/p"},
		{"http://user:pw@[::1]:8080/", "GET", "http://[::1]:8080/"},
	} {
		r, err := NewRequest(tc.in)
		if err != nil {
			t.Errorf("NewRequest(%q): %v", tc.in, err)
			continue
		}
		if r.Method != tc.method || r.URL() != tc.url {
			t.Errorf("NewRequest(%q): %s %s, want %s %s", tc.in, r.Method, r.URL(), tc.method, tc.url)
		}
	}
	for _, tc := range []struct{ in, msg string }{
		// Hasura's own test of mkRequestEither.
		{"http:://localhost:1234/foo/bar?baz=bam", `InvalidUrlException "http:://localhost:1234/foo/bar?baz=bam" "URL must be absolute"`},
		{"ftp://user:pw@x/", `InvalidUrlException "ftp://user:...@x/" "Invalid scheme"`},
		{"http://x:/", `InvalidUrlException "http://x:/" "Invalid port"`},
		{"not a url", `InvalidUrlException "not a url" "Invalid URL"`},
		{"é://x", `InvalidUrlException "\233://x" "Invalid URL"`},
	} {
		_, err := NewRequest(tc.in)
		var e *Error
		if !errors.As(err, &e) || e.Code != "Request Initialization Error" || e.Message != tc.msg {
			t.Errorf("NewRequest(%q): got %v, want %s", tc.in, err, tc.msg)
		}
	}
}

func TestSetURL(t *testing.T) {
	r, _ := NewRequest("http://localhost:1234/foo/bar?baz=bam")
	// As Hasura's url lens tests: a URL set is the URL read.
	for _, u := range []string{"http://www.google.com:8080/foo?bar=baz", "https://www.google.com/foo?bar=baz", "http://www.google.com"} {
		r.setURL(u)
		if r.URL() != u {
			t.Errorf("set %s, got %s", u, r.URL())
		}
	}
	if r.Port != 80 || r.Secure {
		t.Errorf("port %d secure %t", r.Port, r.Secure)
	}
	// A URL without an authority changes nothing.
	r.setURL("mailto:x@y")
	if r.URL() != "http://www.google.com" {
		t.Errorf("got %s", r.URL())
	}
	// User info stays in the host; only "https:" as written is secure.
	r.setURL("HTTPS://u@h/p")
	if r.URL() != "http://u@h/p" {
		t.Errorf("got %s", r.URL())
	}
}

func TestQueryStrings(t *testing.T) {
	q := parseQuery("?a=1&b&c=x+y%21;d=&&%zz=%41")
	got := ""
	for _, p := range q {
		if p.Value == nil {
			got += fmt.Sprintf("[%s] ", p.Key)
		} else {
			got += fmt.Sprintf("[%s=%s] ", p.Key, *p.Value)
		}
	}
	if want := "[a=1] [b] [c=x y!] [d=] [] [%zz=A] "; got != want {
		t.Errorf("parseQuery: %q, want %q", got, want)
	}
	if s := renderQuery(q); s != "?a=1&b&c=x%20y%21&d=&&%25zz=A" {
		t.Errorf("renderQuery: %s", s)
	}
	if renderQuery(nil) != "" {
		t.Error("no query, no '?'")
	}
}

func TestParseURI(t *testing.T) {
	for in, ok := range map[string]bool{
		"http://x.com":              true,
		"http://x.com:8080/a/b?q#f": true,
		"http://[::1]/":             true,
		"http://[fe80::1%25eth0]/":  true,
		"http://[v1.x]/":            true,
		"http://[1.2.3.4]/":         false,
		"http://x y/":               false,
		"http://x/%zz":              false,
		"http://x/é":                false,
		"mailto:a@b":                true,
		"http:":                     true,
		"1http://x":                 false,
		"http://u:p@x/":             true,
		"":                          false,
		"http://x:80abc":            false,
		"http://x@y@z":              false,
	} {
		if _, got := parseURI(in); got != ok {
			t.Errorf("parseURI(%q) = %t, want %t", in, got, ok)
		}
	}
}

func TestHaskellShow(t *testing.T) {
	for in, want := range map[string]string{
		"a\"b\\c\né\x01": `"a\"b\\c\n\233\SOH"`,
		"\x0eH":          `"\SO\&H"`,
		"é1":             `"\233\&1"`,
		"\x7f\t":         `"\DEL\t"`,
	} {
		if got := hsShowString(in); got != want {
			t.Errorf("hsShowString(%q) = %s, want %s", in, got, want)
		}
	}
	v := map[string]any{"a": []any{json.Number("-1"), true, nil, "s"}, "b": map[string]any{}}
	if got := hsShowValue(v, false); got != `Object (fromList [("a",Array [Number (-1.0),Bool True,Null,String "s"]),("b",Object (fromList []))])` {
		t.Errorf("hsShowValue: %s", got)
	}
}

func TestFoldHeaderName(t *testing.T) {
	if got := FoldHeaderName("Content-TYPE"); got != "content-type" {
		t.Errorf("got %s", got)
	}
}
