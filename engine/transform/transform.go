// Package transform is Hasura's webhook request transforms: the
// "request_transform" of actions, event triggers and scheduled triggers,
// which rewrites a webhook request's method, URL, query string, headers
// and body with Kriti templates (engine/kriti) before it is sent; and the
// "response_transform" that rewrites the response body.
//
// A transform is parsed from metadata (ParseRequestTransform), checked
// when it is stored (Validate: do its templates parse?) and applied to a
// Request at call time (Apply), each with Hasura's errors.
package transform

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/strata-dev/strata/engine/kriti"
)

// RequestTransform is a request transform as metadata has it. A nil
// field leaves that part of the request as it is.
type RequestTransform struct {
	// Version is 1 (the body is a template string) or 2 (the body is a
	// Body object).
	Version     int
	Method      *string
	URL         *string // a string template
	Body        *Body
	QueryParams *QueryParams
	Headers     *Headers
	// TemplateEngine is "Kriti", the only one.
	TemplateEngine string
}

// Body actions.
const (
	BodyRemove    = "remove"
	BodyTransform = "transform"
	BodyForm      = "x_www_form_urlencoded"
)

// Body says what becomes of the body: removed, replaced by a template's
// JSON, or replaced by a form of string templates.
type Body struct {
	Action   string
	Template string            // transform: a Kriti template
	Form     map[string]string // x_www_form_urlencoded: field → string template
}

// QueryParams replaces the query string: with the given keys (a nil
// value writes the key alone), or with what a string template renders.
type QueryParams struct {
	Params   map[string]*string // keys and values are string templates
	Template *string
}

// Headers removes headers (by name, ignoring case) and adds others,
// whose values are string templates.
type Headers struct {
	Add    map[string]string
	Remove []string
}

// ResponseTransform is a response transform as metadata has it; only
// its body can change.
type ResponseTransform struct {
	Version        int
	Body           *Body
	TemplateEngine string
}

// Validate checks that every template of the transform parses, listing
// all the errors (nil if none), as Hasura does before storing one.
func (rt *RequestTransform) Validate() Errors {
	var errs Errors
	if rt.URL != nil {
		errs = append(errs, checkString(*rt.URL)...)
	}
	if rt.Body != nil {
		errs = append(errs, rt.Body.validate()...)
	}
	if q := rt.QueryParams; q != nil {
		if q.Template != nil {
			errs = append(errs, checkString(*q.Template)...)
		}
		for _, k := range slices.Sorted(maps.Keys(q.Params)) {
			errs = append(errs, checkString(k)...)
			if v := q.Params[k]; v != nil {
				errs = append(errs, checkString(*v)...)
			}
		}
	}
	if h := rt.Headers; h != nil {
		for _, k := range slices.Sorted(maps.Keys(h.Add)) {
			errs = append(errs, checkString(h.Add[k])...)
		}
	}
	return errs
}

// Validate checks the body template of a response transform.
func (rt *ResponseTransform) Validate() Errors {
	if rt.Body == nil {
		return nil
	}
	return rt.Body.validate()
}

func (b *Body) validate() Errors {
	switch b.Action {
	case BodyTransform:
		return check(b.Template)
	case BodyForm:
		var errs Errors
		for _, k := range slices.Sorted(maps.Keys(b.Form)) {
			errs = append(errs, checkString(b.Form[k])...)
		}
		return errs
	}
	return nil
}

func check(template string) Errors {
	if _, err := kriti.Parse(template); err != nil {
		return Errors{err}
	}
	return nil
}

// checkString checks a string template: one written without its quotes
// ("http://x/{{ $body.id }}"), which Hasura wraps in quotes to run.
func checkString(template string) Errors { return check(quote(template)) }

func quote(template string) string { return `"` + template + `"` }

// Context is what a request's templates see.
type Context struct {
	BaseURL          string // $base_url: the webhook URL as configured
	Body             any    // $body: the request body decoded, or null
	SessionVariables SessionVariables
	QueryParams      []QueryParam // $query_params
}

// NewContext is the context of a request about to be transformed.
func NewContext(baseURL string, sv SessionVariables, req *Request) Context {
	return Context{BaseURL: baseURL, Body: decodeJSON(req.Body), SessionVariables: sv, QueryParams: req.Query}
}

func (c Context) vars() map[string]any {
	params := make([]any, len(c.QueryParams))
	for i, p := range c.QueryParams {
		var v any
		if p.Value != nil {
			v = strings.ToValidUTF8(*p.Value, "\uFFFD")
		}
		params[i] = []any{strings.ToValidUTF8(p.Key, "\uFFFD"), v}
	}
	return map[string]any{
		"$body":              c.Body,
		"$session_variables": c.SessionVariables.value(),
		"$query_params":      params,
		"$base_url":          c.BaseURL,
	}
}

// DecodeJSON decodes one JSON value, numbers kept exact (json.Number);
// ok is false if b is anything else.
func DecodeJSON(b []byte) (v any, ok bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if d.Decode(&v) != nil || len(bytes.TrimSpace(b[d.InputOffset():])) != 0 {
		return nil, false
	}
	return v, true
}

// decodeJSON is a body as templates see it: null if it is not JSON.
func decodeJSON(b []byte) any {
	v, _ := DecodeJSON(b)
	return v
}
