package transform

import (
	"maps"
	"slices"
	"strings"

	"github.com/strata-dev/strata/engine/kriti"
)

// Apply transforms a request as Hasura does: every part is computed
// from the original request (so a new URL does not change what the query
// part sees), and the first part that fails, in the order method, URL,
// body, query string, headers, gives the errors (all of that part's).
// req is not modified.
func (rt *RequestTransform) Apply(req *Request, ctx Context) (*Request, error) {
	run := &runner{vars: ctx.vars(), funcs: ctx.SessionVariables.functions()}
	out := *req
	if rt.Method != nil {
		out.Method = *rt.Method
	}
	newURL := req.URL()
	if rt.URL != nil {
		u, err := run.url(*rt.URL)
		if err != nil {
			return nil, err
		}
		newURL = u
	}
	body, err := run.body(rt.Body, req.Body)
	if err != nil {
		return nil, err
	}
	query := req.Query
	if rt.QueryParams != nil {
		if query, err = run.query(rt.QueryParams); err != nil {
			return nil, err
		}
	}
	headers := req.Headers
	if rt.Headers != nil {
		if headers, err = run.headers(rt.Headers, req.Headers); err != nil {
			return nil, err
		}
	}
	// Written back in Hasura's order: the URL sets the query string, and
	// the query part then replaces it.
	out.Body = body
	out.setURL(newURL)
	out.Query = query
	out.Headers = headers
	return &out, nil
}

// runner runs a transform's templates with a request's variables and
// functions.
type runner struct {
	vars  map[string]any
	funcs kriti.Funcs
}

func (r *runner) run(template string) (any, error) {
	v, err := kriti.Run(template, r.vars, r.funcs)
	if err != nil {
		return nil, Errors{err}
	}
	return v, nil
}

// scalar runs a string template and writes its value as bytes: strings
// as they are, numbers and booleans as text.
func (r *runner) scalar(template string) (string, error) {
	v, err := r.run(quote(template))
	if err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		if x {
			return "true", nil
		}
		return "false", nil
	}
	if n := kriti.ShowNumber(v); n != "" {
		return n, nil
	}
	return "", Errors{&Error{Message: "Template must produce a String, Number, or Boolean value", Value: v, HasValue: true}}
}

// scalars runs several string templates, collecting all their errors.
func (r *runner) scalars(templates []string) ([]string, error) {
	out := make([]string, len(templates))
	var errs Errors
	for i, t := range templates {
		s, err := r.scalar(t)
		if err != nil {
			errs = append(errs, err.(Errors)...)
			continue
		}
		out[i] = s
	}
	if errs != nil {
		return nil, errs
	}
	return out, nil
}

func (r *runner) url(template string) (string, error) {
	v, err := r.run(quote(template))
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", Errors{&Error{Message: "URL Transforms must produce a JSON String: " + hsShowValue(v, false)}}
	}
	if _, ok := parseURI(s); !ok {
		return "", Errors{&Error{Message: "Invalid URL: " + s}}
	}
	return s, nil
}

// body is the new body: none, a template's JSON, or a form. With no body
// transform the body stays, re-encoded if it is JSON and dropped if not,
// as Hasura reads it as JSON.
func (r *runner) body(b *Body, orig []byte) ([]byte, error) {
	if b == nil {
		v, ok := DecodeJSON(orig)
		if !ok {
			return nil, nil
		}
		return kriti.Encode(v), nil
	}
	switch b.Action {
	case BodyTransform:
		v, err := r.run(b.Template)
		if err != nil {
			return nil, err
		}
		return kriti.Encode(v), nil
	case BodyForm:
		keys := slices.Sorted(maps.Keys(b.Form))
		templates := make([]string, len(keys))
		for i, k := range keys {
			templates[i] = b.Form[k]
		}
		values, err := r.scalars(templates)
		if err != nil {
			return nil, err
		}
		var pairs []string
		for i, k := range keys {
			if values[i] != "null" {
				pairs = append(pairs, formEscape(k)+"="+formEscape(values[i]))
			}
		}
		return []byte(strings.Join(pairs, "&")), nil
	}
	return nil, nil // remove
}

// formEscape %-escapes all but URI's unreserved characters.
func formEscape(s string) string { return kriti.EscapeURI(s, kriti.Unreserved) }

func (r *runner) query(q *QueryParams) ([]QueryParam, error) {
	if q.Template != nil {
		s, err := r.scalar(*q.Template)
		if err != nil {
			return nil, err
		}
		return parseQuery(s), nil
	}
	keys := slices.Sorted(maps.Keys(q.Params))
	var templates []string
	for _, k := range keys {
		templates = append(templates, k)
		if v := q.Params[k]; v != nil {
			templates = append(templates, *v)
		}
	}
	values, err := r.scalars(templates)
	if err != nil {
		return nil, err
	}
	var out []QueryParam
	i := 0
	for _, k := range keys {
		p := QueryParam{Key: values[i]}
		i++
		if q.Params[k] != nil {
			p.Value = &values[i]
			i++
		}
		// A key or value rendering to null drops the parameter.
		if p.Key == "null" || p.Value != nil && *p.Value == "null" {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

func (r *runner) headers(h *Headers, orig []Header) ([]Header, error) {
	names := slices.Sorted(maps.Keys(h.Add))
	templates := make([]string, len(names))
	for i, n := range names {
		templates[i] = h.Add[n]
	}
	values, err := r.scalars(templates)
	if err != nil {
		return nil, err
	}
	removed := make([]string, len(h.Remove))
	for i, n := range h.Remove {
		removed[i] = FoldHeaderName(n)
	}
	var out []Header
	for _, hd := range orig {
		if !slices.Contains(removed, FoldHeaderName(hd.Name)) {
			out = append(out, hd)
		}
	}
	for i, n := range names {
		out = append(out, Header{Name: n, Value: values[i]})
	}
	return out, nil
}
