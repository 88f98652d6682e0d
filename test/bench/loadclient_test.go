package bench

// The load generator's HTTP client. On this machine the benchmark's
// clients, the server and Postgres share two CPUs, so whatever the client
// spends is taken from the server it measures. net/http's client spends a
// lot: two goroutines per connection and every header parsed into maps. A
// load generator on its own machine (wrk, h2load) costs the server
// nothing; loadClient is the nearest thing in-process: keep-alive
// HTTP/1.1 connections, a request written in one call, and a response
// read for its status, length and body only. Every HTTP arm of a
// benchmark uses it, engine and baselines alike.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"testing"
)

type loadClient struct {
	host, path string
	idle       chan *loadConn
}

type loadConn struct {
	c   net.Conn
	r   *bufio.Reader
	req []byte
}

// newLoadClient is a client of one URL (http://host:port/path), keeping
// up to 256 idle connections.
func newLoadClient(b *testing.B, rawURL string) *loadClient {
	b.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" {
		b.Fatalf("load client: %q is not an http URL", rawURL)
	}
	c := &loadClient{host: u.Host, path: u.RequestURI(), idle: make(chan *loadConn, 256)}
	b.Cleanup(func() {
		for {
			select {
			case lc := <-c.idle:
				lc.c.Close()
			default:
				return
			}
		}
	})
	return c
}

// post sends body and reads the whole answer into buf; anything but a 200
// without errors is an error.
func (c *loadClient) post(body []byte, buf *bytes.Buffer) error {
	var lc *loadConn
	select {
	case lc = <-c.idle:
	default:
		conn, err := net.Dial("tcp", c.host)
		if err != nil {
			return err
		}
		lc = &loadConn{c: conn, r: bufio.NewReaderSize(conn, 16<<10)}
	}
	status, err := lc.roundTrip(c, body, buf)
	if err != nil {
		lc.c.Close()
		return err
	}
	select {
	case c.idle <- lc:
	default:
		lc.c.Close()
	}
	if status != 200 || bytes.Contains(buf.Bytes(), []byte(`"errors"`)) {
		return fmt.Errorf("status %d: %s", status, buf.Bytes())
	}
	return nil
}

func (lc *loadConn) roundTrip(c *loadClient, body []byte, buf *bytes.Buffer) (int, error) {
	lc.req = append(lc.req[:0], "POST "...)
	lc.req = append(lc.req, c.path...)
	lc.req = append(lc.req, " HTTP/1.1\r\nHost: "...)
	lc.req = append(lc.req, c.host...)
	lc.req = append(lc.req, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	lc.req = strconv.AppendInt(lc.req, int64(len(body)), 10)
	lc.req = append(lc.req, "\r\n\r\n"...)
	lc.req = append(lc.req, body...)
	if _, err := lc.c.Write(lc.req); err != nil {
		return 0, err
	}
	line, err := lc.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length, chunked := -1, false
	for {
		h, err := lc.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, _ := bytes.Cut(h, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, err
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		}
	}
	buf.Reset()
	switch {
	case length >= 0:
		_, err = io.CopyN(buf, lc.r, int64(length))
	case chunked:
		err = lc.chunks(buf)
	default:
		err = errors.New("a response with neither a length nor chunks")
	}
	return status, err
}

// chunks reads a chunked body.
func (lc *loadConn) chunks(buf *bytes.Buffer) error {
	for {
		line, err := lc.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil {
			return err
		}
		if n == 0 {
			_, err = lc.r.Discard(2) // the empty trailer's CRLF
			return err
		}
		if _, err := io.CopyN(buf, lc.r, n); err != nil {
			return err
		}
		if _, err := lc.r.Discard(2); err != nil {
			return err
		}
	}
}
