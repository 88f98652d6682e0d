package transform

import (
	"net/netip"
	"strings"

	"github.com/strata-dev/strata/engine/kriti"
)

// uri is an absolute URI as Haskell's network-uri parses it (RFC 3986):
// Hasura validates transformed URLs with it and builds requests from it,
// so what it accepts is what a transform accepts.
type uri struct {
	scheme       string // with its ':'
	hasAuthority bool
	userInfo     string // with its '@'
	host         string
	port         string // with its ':'
	path         string
	query        string // with its '?'
	fragment     string // with its '#'
}

// String is network-uri's uriToString with the password hidden, which is
// how a URI appears in http-client's errors.
func (u uri) String() string {
	var b strings.Builder
	b.WriteString(u.scheme)
	if u.hasAuthority {
		b.WriteString("//")
		user, pass, hasPass := strings.Cut(u.userInfo, ":")
		switch {
		case !hasPass:
			b.WriteString(u.userInfo)
		case pass == "@":
			b.WriteString(user + ":@")
		default:
			b.WriteString(user + ":...@")
		}
		b.WriteString(u.host + u.port)
	}
	b.WriteString(u.path + u.query + u.fragment)
	return b.String()
}

func isSubDelim(c byte) bool { return strings.IndexByte("!$&'()*+,;=", c) >= 0 }

func isGenDelim(c byte) bool { return strings.IndexByte(":/?#[]@", c) >= 0 }

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// uriScanner walks a URI; ok turns false at the first character that
// cannot be there.
type uriScanner struct {
	s  string
	i  int
	ok bool
}

// chars takes a run of characters allowed by allow, and %XX escapes. A
// '%' without two hex digits after it fails the parse.
func (p *uriScanner) chars(allow func(byte) bool) string {
	start := p.i
	for p.ok && p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case allow(c):
			p.i++
		case c == '%':
			if p.i+2 >= len(p.s) || !isHexDigit(p.s[p.i+1]) || !isHexDigit(p.s[p.i+2]) {
				p.ok = false
				return ""
			}
			p.i += 3
		default:
			return p.s[start:p.i]
		}
	}
	return p.s[start:p.i]
}

func pchar(c byte) bool { return kriti.Unreserved(c) || isSubDelim(c) || c == ':' || c == '@' }

// parseURI is network-uri's parseURI: scheme ":" hier-part ["?" query]
// ["#" fragment], nothing left over.
func parseURI(s string) (uri, bool) {
	var u uri
	p := &uriScanner{s: s, ok: true}
	// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
	if len(s) == 0 || !isAlpha(s[0]) {
		return u, false
	}
	for p.i < len(s) && (isAlpha(s[p.i]) || '0' <= s[p.i] && s[p.i] <= '9' || strings.IndexByte("+-.", s[p.i]) >= 0) {
		p.i++
	}
	if p.i >= len(s) || s[p.i] != ':' {
		return u, false
	}
	p.i++
	u.scheme = s[:p.i]
	if strings.HasPrefix(s[p.i:], "//") {
		p.i += 2
		u.hasAuthority = true
		if !p.authority(&u) {
			return u, false
		}
		// path-abempty: nothing, or a path from a '/'.
		if p.i < len(s) && s[p.i] == '/' {
			u.path = p.segments()
		}
	} else {
		// path-absolute, path-rootless or empty: pchars and slashes (a
		// "//" start was taken above).
		u.path = p.segments()
	}
	if p.ok && p.i < len(s) && s[p.i] == '?' {
		p.i++
		u.query = "?" + p.chars(func(c byte) bool { return pchar(c) || c == '/' || c == '?' })
	}
	if p.ok && p.i < len(s) && s[p.i] == '#' {
		p.i++
		u.fragment = "#" + p.chars(func(c byte) bool { return pchar(c) || c == '/' || c == '?' })
	}
	return u, p.ok && p.i == len(s)
}

// segments takes a path: pchars and slashes.
func (p *uriScanner) segments() string {
	return p.chars(func(c byte) bool { return pchar(c) || c == '/' })
}

// authority = [ userinfo "@" ] host [ ":" port ]
func (p *uriScanner) authority(u *uri) bool {
	// userinfo is tried, and given up if no '@' ends it.
	save := p.i
	info := p.chars(func(c byte) bool { return kriti.Unreserved(c) || isSubDelim(c) || c == ':' })
	if p.ok && p.i < len(p.s) && p.s[p.i] == '@' {
		p.i++
		u.userInfo = info + "@"
	} else {
		p.i, p.ok = save, true
	}
	if p.i < len(p.s) && p.s[p.i] == '[' {
		end := strings.IndexByte(p.s[p.i:], ']')
		if end < 0 || !ipLiteral(p.s[p.i+1:p.i+end]) {
			return false
		}
		u.host = p.s[p.i : p.i+end+1]
		p.i += end + 1
	} else {
		// reg-name (an IPv4 address is one too): at most 255 characters,
		// an escape counting as one.
		start, n := p.i, 0
		for p.i < len(p.s) {
			c := p.s[p.i]
			if kriti.Unreserved(c) || isSubDelim(c) {
				p.i++
			} else if c == '%' && p.i+2 < len(p.s) && isHexDigit(p.s[p.i+1]) && isHexDigit(p.s[p.i+2]) {
				p.i += 3
			} else if c == '%' {
				return false
			} else {
				break
			}
			n++
		}
		if n > 255 {
			return false
		}
		u.host = p.s[start:p.i]
	}
	if p.i < len(p.s) && p.s[p.i] == ':' {
		start := p.i
		p.i++
		for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
			p.i++
		}
		u.port = p.s[start:p.i]
	}
	return true
}

// ipLiteral checks what is between "[" and "]": an IPv6 address
// (with an optional "%25" zone) or an IPvFuture.
func ipLiteral(s string) bool {
	if len(s) > 3 && s[0] == 'v' && isHexDigit(s[1]) && s[2] == '.' {
		for i := 3; i < len(s); i++ {
			if c := s[i]; !kriti.Unreserved(c) && !isSubDelim(c) && c != ':' {
				return false
			}
		}
		return true
	}
	addr, zone, hasZone := strings.Cut(s, "%25")
	if hasZone {
		p := &uriScanner{s: zone, ok: true}
		if p.chars(kriti.Unreserved) == "" || !p.ok || p.i != len(zone) {
			return false
		}
	}
	ip, err := netip.ParseAddr(addr)
	return err == nil && ip.Is6() && ip.Zone() == ""
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// allowedInURI is network-uri's isAllowedInURI.
func allowedInURI(c byte) bool {
	return isGenDelim(c) || isSubDelim(c) || kriti.Unreserved(c) || c == '%'
}
