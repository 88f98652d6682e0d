package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// Case is one request and its expected outcome, from a case file.
type Case struct {
	Description string
	URL         string
	Status      int      // expected HTTP status, 200 by default
	Headers     []Header // request headers, in file order
	Query       *Value   // request body; nil when absent
	// Response is the expected body. nil when the case has none (or null):
	// then, as in Hasura's runner, only the status is checked over HTTP.
	Response    *Value
	RespHeaders []Header
	Method      string // "" means POST with the query as JSON
	Body        *Value // for REST cases with method POST/POSTJSON/PUT/PATCH
	Allowed     []Allowed
}

// Header is one HTTP header.
type Header struct{ Name, Value string }

// Allowed is one entry of allowed_responses.
type Allowed struct {
	Response    Value
	RespHeaders []Header
}

// LoadCases reads a case file: one case or a list of them. Any problem is
// an error for the units using the file, never a crash of the run.
func LoadCases(path string) ([]Case, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := ParseYAML(data)
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %v", err)
	}
	items := []Value{v}
	if v.Kind == KindArray {
		items = v.Arr
	}
	if len(items) == 0 || v.Kind == KindNull {
		return nil, errors.New("the file holds no cases")
	}
	cases := make([]Case, 0, len(items))
	for i, it := range items {
		c, err := parseCase(it)
		if err != nil {
			if len(items) > 1 {
				return nil, fmt.Errorf("case %d: %v", i+1, err)
			}
			return nil, err
		}
		cases = append(cases, c)
	}
	return cases, nil
}

func parseCase(v Value) (Case, error) {
	if v.Kind != KindObject {
		return Case{}, fmt.Errorf("a case must be a mapping, got %s", short(v))
	}
	c := Case{Status: 200}
	if d, ok := v.Get("description"); ok && d.Kind == KindString {
		c.Description = d.Str
	}
	u, ok := v.Get("url")
	if !ok || u.Kind != KindString || u.Str == "" {
		return Case{}, errors.New("case has no url")
	}
	c.URL = u.Str
	if s, ok := v.Get("status"); ok && s.Kind != KindNull {
		n, err := strconv.Atoi(s.Num)
		if s.Kind != KindNumber || err != nil {
			return Case{}, fmt.Errorf("status must be an integer, got %s", short(s))
		}
		c.Status = n
	}
	var err error
	if c.Headers, err = headerList(v, "headers"); err != nil {
		return Case{}, err
	}
	if c.RespHeaders, err = headerList(v, "resp_headers"); err != nil {
		return Case{}, err
	}
	if q, ok := v.Get("query"); ok {
		c.Query = &q
	}
	if r, ok := v.Get("response"); ok && r.Kind != KindNull {
		c.Response = &r
	}
	if m, ok := v.Get("method"); ok && m.Kind != KindNull {
		if m.Kind != KindString {
			return Case{}, fmt.Errorf("method must be a string, got %s", short(m))
		}
		c.Method = m.Str
	}
	if b, ok := v.Get("body"); ok {
		c.Body = &b
	}
	if a, ok := v.Get("allowed_responses"); ok {
		// Hasura's runner raises on anything but a non-empty list of
		// {response, resp_headers} entries; so do we.
		if a.Kind != KindArray || len(a.Arr) == 0 {
			return Case{}, errors.New("allowed_responses must be a non-empty list")
		}
		for i, e := range a.Arr {
			r, ok := e.Get("response")
			if !ok {
				return Case{}, fmt.Errorf("allowed_responses[%d] has no response", i)
			}
			hs, err := headerList(e, "resp_headers")
			if err != nil {
				return Case{}, fmt.Errorf("allowed_responses[%d]: %v", i, err)
			}
			c.Allowed = append(c.Allowed, Allowed{Response: r, RespHeaders: hs})
		}
	}
	return c, nil
}

// headerList reads a name -> value mapping. Values are written as Python's
// str() writes them, which is what Hasura's runner sends.
func headerList(v Value, key string) ([]Header, error) {
	h, ok := v.Get(key)
	if !ok || h.Kind == KindNull {
		return nil, nil
	}
	if h.Kind != KindObject {
		return nil, fmt.Errorf("%s must be a mapping, got %s", key, short(h))
	}
	out := make([]Header, 0, len(h.Obj))
	for _, m := range h.Obj {
		out = append(out, Header{Name: m.Key, Value: pyStr(m.Val)})
	}
	return out, nil
}

// pyStr is Python's str() of a loaded YAML value.
func pyStr(v Value) string {
	switch v.Kind {
	case KindString:
		return v.Str
	case KindNumber:
		return v.Num
	case KindBool:
		if v.Bool {
			return "True"
		}
		return "False"
	case KindNull:
		return "None"
	}
	return v.String()
}
