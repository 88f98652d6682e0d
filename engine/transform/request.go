package transform

import (
	"strconv"
	"strings"

	"github.com/strata-dev/strata/engine/kriti"
)

// Request is an HTTP request as Hasura's transforms see it: the fields of
// http-client's Request they read and write. Its URL is kept in parts,
// as http-client does, which decides how a transformed URL is written
// back (see URL).
type Request struct {
	Method  string
	Secure  bool
	Host    string
	Port    int
	Path    string
	Query   []QueryParam
	Headers []Header
	Body    []byte
}

// QueryParam is one key of a query string; a nil Value is a key without
// "=".
type QueryParam struct {
	Key   string
	Value *string
}

// Header is a request header.
type Header struct{ Name, Value string }

// NewRequest makes a GET request from a URL as http-client's parseRequest
// does (as Hasura calls it): a leading "METHOD " sets the method, the
// URL's unsafe characters are %-escaped, and it must then be an absolute
// http or https URL. Its error is Hasura's "Request Initialization Error".
func NewRequest(rawURL string) (*Request, error) {
	method := "GET"
	s := rawURL
	if m, rest, ok := strings.Cut(rawURL, " "); ok && strings.Trim(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
		method, s = m, rest
	}
	u, ok := parseURI(kriti.EscapeURI(s, allowedInURI))
	if !ok {
		return nil, initError(s, "Invalid URL")
	}
	var secure bool
	switch strings.ToLower(u.scheme) {
	case "http:":
	case "https:":
		secure = true
	default:
		return nil, initError(u.String(), "Invalid scheme")
	}
	if !u.hasAuthority {
		return nil, initError(u.String(), "URL must be absolute")
	}
	port := defaultPort(secure)
	if u.port != "" {
		p, err := strconv.Atoi(u.port[1:])
		if err != nil || p < 0 {
			return nil, initError(u.String(), "Invalid port")
		}
		port = p
	}
	path := u.path
	if path == "" {
		path = "/"
	}
	return &Request{
		Method: method,
		Secure: secure,
		Host:   u.host,
		Port:   port,
		Path:   path,
		Query:  parseQuery(u.query),
	}, nil
}

// initError is http-client's InvalidUrlException as Haskell shows it.
func initError(url, reason string) *Error {
	return &Error{Code: "Request Initialization Error", Message: "InvalidUrlException " + hsShowString(url) + " " + hsShowString(reason)}
}

func defaultPort(secure bool) int {
	if secure {
		return 443
	}
	return 80
}

// URL is the request's URL as http-client writes it back: scheme from
// Secure, no user info, the port only if not the default one, the path
// as set (so possibly without a slash after the host) and the query
// string as rendered from Query.
func (r *Request) URL() string {
	var b strings.Builder
	if r.Secure {
		b.WriteString("https://")
	} else {
		b.WriteString("http://")
	}
	b.WriteString(r.Host)
	if r.Port != defaultPort(r.Secure) {
		b.WriteString(":" + strconv.Itoa(r.Port))
	}
	b.WriteString(r.Path)
	b.WriteString(renderQuery(r.Query))
	return b.String()
}

// setURL is Hasura's url lens setter: a URL that does not parse, or has
// no authority, leaves the request as it was; otherwise host (user info
// included), scheme, port, path and query are replaced. The scheme is
// compared as written: only "https:" is secure.
func (r *Request) setURL(text string) {
	u, ok := parseURI(text)
	if !ok || !u.hasAuthority {
		return
	}
	r.Host = u.userInfo + u.host
	r.Secure = u.scheme == "https:"
	r.Port = defaultPort(r.Secure)
	if p, err := strconv.Atoi(strings.TrimPrefix(u.port, ":")); err == nil && u.port != "" {
		// Haskell would fail reading an empty port; the default is kinder.
		r.Port = p
	}
	r.Path = u.path
	r.Query = parseQuery(u.query)
}

// parseQuery is http-types' parseQuery: split at & and ;, a leading '?'
// dropped, keys and values %-decoded with '+' as a space.
func parseQuery(q string) []QueryParam {
	q = strings.TrimPrefix(q, "?")
	var out []QueryParam
	for q != "" {
		i := strings.IndexAny(q, "&;")
		part := q
		if i >= 0 {
			part, q = q[:i], q[i+1:]
		} else {
			q = ""
		}
		k, v, hasValue := strings.Cut(part, "=")
		p := QueryParam{Key: urlDecode(k)}
		if hasValue {
			d := urlDecode(v)
			p.Value = &d
		}
		out = append(out, p)
	}
	return out
}

func urlDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]):
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// renderQuery is http-types' renderQuery True: "?" and the pairs joined
// with "&", everything but letters, digits and -_.~ %-escaped; nothing
// for no pairs.
func renderQuery(ps []QueryParam) string {
	var b strings.Builder
	for i, p := range ps {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(kriti.EscapeURI(p.Key, kriti.Unreserved))
		if p.Value != nil {
			b.WriteByte('=')
			b.WriteString(kriti.EscapeURI(*p.Value, kriti.Unreserved))
		}
	}
	return b.String()
}

// FoldHeaderName is how Hasura compares and writes header names: case
// folded byte by byte, ASCII and Latin-1 letters (http-client's
// case-insensitive byte strings).
func FoldHeaderName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' || 0xC0 <= c && c <= 0xDE && c != 0xD7 {
			b[i] = c + 0x20
		}
	}
	return string(b)
}
