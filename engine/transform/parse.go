package transform

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
)

// Reading transforms from metadata JSON, with Hasura's parse errors at
// the path of the offending value. Absent and null fields are the same.

func parseFailed(path, format string, args ...any) error {
	return apierr.BadRequest(apierr.CodeParseFailed, format, args...).WithPath(path)
}

type object struct {
	m    map[string]json.RawMessage
	path string
}

func asObject(raw json.RawMessage, path, name string) (object, error) {
	var m map[string]json.RawMessage
	if aeson.Kind(raw) != "Object" || json.Unmarshal(raw, &m) != nil {
		return object{}, parseFailed(path, "parsing %s failed, expected Object, but encountered %s", name, aeson.Kind(raw))
	}
	return object{m, path}, nil
}

func (o object) at(key string) string { return o.path + "." + key }

// get is a field that is present and not null.
func (o object) get(key string) (json.RawMessage, bool) {
	v, ok := o.m[key]
	if !ok || aeson.Kind(v) == "Null" {
		return nil, false
	}
	return v, true
}

func asText(raw json.RawMessage, path, name string) (string, error) {
	var s string
	if aeson.Kind(raw) != "String" || json.Unmarshal(raw, &s) != nil {
		return "", parseFailed(path, "parsing %s failed, expected String, but encountered %s", name, aeson.Kind(raw))
	}
	return s, nil
}

// text is an optional string field; name is how Hasura calls its type.
func (o object) text(key, name string) (*string, error) {
	v, ok := o.get(key)
	if !ok {
		return nil, nil
	}
	s, err := asText(v, o.at(key), name)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// texts is an object of strings (a HashMap Text Template).
func texts(raw json.RawMessage, path string) (map[string]string, error) {
	o, err := asObject(raw, path, "HashMap")
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(o.m))
	for _, k := range slices.Sorted(maps.Keys(o.m)) {
		s, err := asText(o.m[k], o.at(k), "Template")
		if err != nil {
			return nil, err
		}
		out[k] = s
	}
	return out, nil
}

func version(o object) (int, error) {
	v, ok := o.get("version")
	if !ok {
		return 1, nil
	}
	var f float64
	if aeson.Kind(v) != "Number" || json.Unmarshal(v, &f) != nil {
		return 0, parseFailed(o.at("version"), "parsing Int failed, expected Number, but encountered %s", aeson.Kind(v))
	}
	i := int64(f)
	if float64(i) != f {
		return 0, parseFailed(o.at("version"), "parsing Int failed, unexpected floating number %s", v)
	}
	if i != 1 && i != 2 {
		return 0, parseFailed(o.at("version"), "expected 1 or 2, encountered %d", i)
	}
	return int(i), nil
}

func templateEngine(o object) (string, error) {
	s, err := o.text("template_engine", "TemplatingEngine")
	if err != nil || s == nil {
		return "Kriti", err
	}
	if *s != "Kriti" {
		return "", parseFailed(o.at("template_engine"), `parsing TemplatingEngine failed, expected one of the tags ["Kriti"], but found tag %q`, *s)
	}
	return *s, nil
}

// body is a version 1 body (a template string) or a version 2 one (an
// object with an action).
func body(o object, version int) (*Body, error) {
	v, ok := o.get("body")
	if !ok {
		return nil, nil
	}
	path := o.at("body")
	if version == 1 {
		s, err := asText(v, path, "Template")
		if err != nil {
			return nil, err
		}
		return &Body{Action: BodyTransform, Template: s}, nil
	}
	b, err := asObject(v, path, "BodyTransformFn")
	if err != nil {
		return nil, err
	}
	action, err := b.required("action", "Text")
	if err != nil {
		return nil, err
	}
	switch action {
	case BodyRemove:
		return &Body{Action: BodyRemove}, nil
	case BodyTransform:
		t, err := b.required("template", "Template")
		if err != nil {
			return nil, err
		}
		return &Body{Action: BodyTransform, Template: t}, nil
	case BodyForm:
		raw, ok := b.m["form_template"]
		if !ok {
			return nil, parseFailed(path, `key "form_template" not found`)
		}
		form, err := texts(raw, b.at("form_template"))
		if err != nil {
			return nil, err
		}
		return &Body{Action: BodyForm, Form: form}, nil
	}
	return nil, parseFailed(path, "invalid transform action")
}

// required is a string field that must be there.
func (o object) required(key, name string) (string, error) {
	v, ok := o.m[key]
	if !ok {
		return "", parseFailed(o.path, "key %q not found", key)
	}
	return asText(v, o.at(key), name)
}

func queryParams(o object) (*QueryParams, error) {
	v, ok := o.get("query_params")
	if !ok {
		return nil, nil
	}
	path := o.at("query_params")
	switch aeson.Kind(v) {
	case "String":
		s, err := asText(v, path, "Template")
		return &QueryParams{Template: &s}, err
	case "Object":
		q, _ := asObject(v, path, "HashMap")
		params := make(map[string]*string, len(q.m))
		for _, k := range slices.Sorted(maps.Keys(q.m)) {
			s, err := q.text(k, "Template")
			if err != nil {
				return nil, err
			}
			params[k] = s
		}
		return &QueryParams{Params: params}, nil
	}
	return nil, parseFailed(path, "Invalid query parameter")
}

func headers(o object) (*Headers, error) {
	v, ok := o.get("request_headers")
	if !ok {
		return nil, nil
	}
	h, err := asObject(v, o.at("request_headers"), "AddReplaceRemoveFields")
	if err != nil {
		return nil, err
	}
	out := &Headers{Add: map[string]string{}}
	if v, ok := h.get("add_headers"); ok {
		if out.Add, err = texts(v, h.at("add_headers")); err != nil {
			return nil, err
		}
	}
	if v, ok := h.get("remove_headers"); ok {
		var items []json.RawMessage
		if aeson.Kind(v) != "Array" || json.Unmarshal(v, &items) != nil {
			return nil, parseFailed(h.at("remove_headers"), "parsing [] failed, expected Array, but encountered %s", aeson.Kind(v))
		}
		for i, it := range items {
			s, err := asText(it, fmt.Sprintf("%s[%d]", h.at("remove_headers"), i), "HeaderKey")
			if err != nil {
				return nil, err
			}
			out.Remove = append(out.Remove, s)
		}
	}
	return out, nil
}

// ParseRequestTransform reads a request transform at path (for errors).
func ParseRequestTransform(raw json.RawMessage, path string) (*RequestTransform, error) {
	o, err := asObject(raw, path, "RequestTransform")
	if err != nil {
		return nil, err
	}
	rt := &RequestTransform{}
	if rt.Version, err = version(o); err != nil {
		return nil, err
	}
	if rt.Method, err = o.text("method", "Method"); err != nil {
		return nil, err
	}
	if rt.URL, err = o.text("url", "Template"); err != nil {
		return nil, err
	}
	if rt.Body, err = body(o, rt.Version); err != nil {
		return nil, err
	}
	if rt.QueryParams, err = queryParams(o); err != nil {
		return nil, err
	}
	if rt.Headers, err = headers(o); err != nil {
		return nil, err
	}
	if rt.TemplateEngine, err = templateEngine(o); err != nil {
		return nil, err
	}
	return rt, nil
}

// ParseResponseTransform reads a response transform at path.
func ParseResponseTransform(raw json.RawMessage, path string) (*ResponseTransform, error) {
	o, err := asObject(raw, path, "MetadataResponseTransform")
	if err != nil {
		return nil, err
	}
	rt := &ResponseTransform{}
	if rt.Version, err = version(o); err != nil {
		return nil, err
	}
	if rt.Body, err = body(o, rt.Version); err != nil {
		return nil, err
	}
	if rt.TemplateEngine, err = templateEngine(o); err != nil {
		return nil, err
	}
	return rt, nil
}
