package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	httpTimeout  = 30 * time.Second
	maxBodyBytes = 64 << 20 // introspection answers are large; nothing is this large
)

// engineRef is where requests go and the admin secret they may carry.
type engineRef struct {
	URL    string // http://host:port, no trailing slash
	Secret string // "" when the engine runs without one
}

// httpRequest is one request to the engine.
type httpRequest struct {
	Method      string
	URL         string // the case URL, relative to the engine
	Headers     []Header
	Body        []byte // nil: no body
	ContentType string
}

type httpResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// send does one request with the per-request timeout.
func send(ctx context.Context, client *http.Client, eng *engineRef, r httpRequest) (*httpResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	target := eng.URL + r.URL
	if !strings.HasPrefix(r.URL, "/") {
		target = eng.URL + "/" + r.URL
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, target, body)
	if err != nil {
		return nil, err
	}
	if r.Body != nil && r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	for _, h := range r.Headers { // case headers win, as with Python's requests
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	return &httpResponse{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// caseRequest builds a case's request the way Hasura's runner (hge_ctx.anyq)
// does: GET and DELETE send no body; POSTJSON sends `body` as JSON; POST,
// PUT and PATCH with a `body` send it as form data (a mapping) or raw text;
// everything else POSTs `query` as JSON (no body when query is null).
func caseRequest(c *Case, headers []Header) (httpRequest, error) {
	r := httpRequest{Method: http.MethodPost, URL: c.URL, Headers: headers}
	method := strings.ToUpper(c.Method)
	hasBody := c.Body != nil && c.Body.Truthy()
	switch {
	case method == http.MethodGet || method == http.MethodDelete:
		r.Method = method
	case method == "POSTJSON" && hasBody:
		r.Body, r.ContentType = c.Body.JSON(), "application/json"
	case (method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch) && hasBody:
		r.Method = method
		switch c.Body.Kind {
		case KindObject:
			r.Body, r.ContentType = []byte(formEncode(*c.Body)), "application/x-www-form-urlencoded"
		case KindString:
			r.Body = []byte(c.Body.Str)
		default:
			return r, fmt.Errorf("cannot send body %s as form data", short(*c.Body))
		}
	default:
		if c.Query != nil && c.Query.Kind != KindNull {
			r.Body, r.ContentType = c.Query.JSON(), "application/json"
		}
	}
	return r, nil
}

// formEncode is Python's urlencode of a dict with doseq: lists repeat the
// key, None is dropped, key order kept.
func formEncode(v Value) string {
	var parts []string
	add := func(k string, e Value) {
		if e.Kind == KindNull {
			return
		}
		parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(pyStr(e)))
	}
	for _, m := range v.Obj {
		if m.Val.Kind == KindArray {
			for _, e := range m.Val.Arr {
				add(m.Key, e)
			}
			continue
		}
		add(m.Key, m.Val)
	}
	return strings.Join(parts, "&")
}

// runHTTP sends a case over HTTP and compares status, body and headers.
// It returns "" on a match, else the first difference.
func (r *Runner) runHTTP(ctx context.Context, eng *engineRef, c *Case, headers []Header) string {
	req, err := caseRequest(c, headers)
	if err != nil {
		return err.Error()
	}
	resp, err := send(ctx, r.client, eng, req)
	if err != nil {
		return "request failed: " + err.Error()
	}
	if resp.Status != c.Status {
		return fmt.Sprintf("status: expected %d, got %d (body: %s)", c.Status, resp.Status, bodySnippet(resp.Body))
	}
	// Hasura's runner always decodes the body, so a non-JSON answer fails
	// even when only the status is expected.
	got, err := ParseJSON(resp.Body)
	if err != nil {
		return fmt.Sprintf("response is not JSON: %v (body: %s)", err, bodySnippet(resp.Body))
	}
	rule := ruleFor(c.URL, c.Query)
	if len(c.Allowed) > 0 {
		first := ""
		for _, a := range c.Allowed {
			d := compareBody(a.Response, got, rule)
			if d == "" {
				d = compareHeaders(a.RespHeaders, resp.Header)
			}
			if d == "" {
				return ""
			}
			if first == "" {
				first = d
			}
		}
		return fmt.Sprintf("none of %d allowed_responses matched; first: %s", len(c.Allowed), first)
	}
	if c.Response != nil {
		if d := compareBody(*c.Response, got, rule); d != "" {
			return d
		}
	}
	return compareHeaders(c.RespHeaders, resp.Header)
}

// refusedStatus is the status Hasura answers a request lacking the right
// admin secret with: 404 where the case expects 404; on GraphQL endpoints
// 200 with an access-denied error (401 on the old /v1alpha1/graphql);
// elsewhere 401.
func refusedStatus(c *Case) int {
	if c.Status == http.StatusNotFound {
		return http.StatusNotFound
	}
	p := urlPath(c.URL)
	if strings.HasSuffix(p, "graphql") || strings.HasSuffix(p, "relay") {
		if strings.Contains(p, "v1alpha1") {
			return http.StatusUnauthorized
		}
		return http.StatusOK
	}
	return http.StatusUnauthorized
}

// checkRefused is Hasura's test_forbidden_when_admin_secret_reqd: with an
// admin secret set, the case's request must be refused without the secret
// and with a wrong one.
func (r *Runner) checkRefused(ctx context.Context, eng *engineRef, c *Case) string {
	want := refusedStatus(c)
	for _, variant := range []struct{ label, secret string }{
		{"without the admin secret", ""},
		{"with a wrong admin secret", wrongSecret()},
	} {
		headers := append([]Header(nil), c.Headers...)
		if variant.secret != "" {
			headers = append(headers, Header{"X-Hasura-Admin-Secret", variant.secret})
		}
		req, err := caseRequest(c, headers)
		if err != nil {
			return err.Error()
		}
		resp, err := send(ctx, r.client, eng, req)
		if err != nil {
			return fmt.Sprintf("admin secret check (%s): request failed: %v", variant.label, err)
		}
		if resp.Status != want {
			return fmt.Sprintf("admin secret check (%s): expected status %d, got %d (body: %s)",
				variant.label, want, resp.Status, bodySnippet(resp.Body))
		}
		if want == http.StatusOK {
			body, err := ParseJSON(resp.Body)
			if err != nil || errorCode(body) != "access-denied" {
				return fmt.Sprintf("admin secret check (%s): expected errors[0].extensions.code \"access-denied\" (body: %s)",
					variant.label, bodySnippet(resp.Body))
			}
		}
	}
	return ""
}

// errorCode is errors[0].extensions.code of a GraphQL error response.
func errorCode(body Value) string {
	errs, _ := body.Get("errors")
	if errs.Kind != KindArray || len(errs.Arr) == 0 {
		return ""
	}
	ext, _ := errs.Arr[0].Get("extensions")
	code, _ := ext.Get("code")
	return code.Str
}

// wrongSecret is a random admin secret, as Hasura's runner makes one.
func wrongSecret() string {
	b := make([]byte, 30)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// bodySnippet is the start of a response body for a report line.
func bodySnippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "empty"
	}
	return truncate(s, 200)
}

// statusText formats a setup failure's status and body.
func statusText(resp *httpResponse) string {
	return strconv.Itoa(resp.Status) + " " + truncate(strings.TrimSpace(string(resp.Body)), 200)
}
