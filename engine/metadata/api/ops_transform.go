package api

// test_webhook_transform: run a request transform over a sample request
// (URL, body, headers, session variables, a sample environment) and
// answer the request it would send. It reads and changes no metadata.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/kriti"
	"github.com/strata-dev/strata/engine/transform"
)

// testWebhookTransformArgs are the operation's arguments, in the order
// Hasura reads (and so fails on) them.
type testWebhookTransformArgs struct {
	env        map[string]string // a sample environment: never the server's
	headers    []transform.Header
	webhookURL string
	fromEnv    *string // webhook_url: {"from_env": name}
	body       any
	request    *transform.RequestTransform
	response   *transform.ResponseTransform
	session    transform.SessionVariables // nil when not given
}

// transformedRequest is the answer: the request as it would be sent.
type transformedRequest struct {
	Body       json.RawMessage `json:"body"`
	Headers    [][2]string     `json:"headers"`
	Method     string          `json:"method"`
	WebhookURL string          `json:"webhook_url"`
}

func testWebhookTransform(_ context.Context, _ *txn, req *request) (any, error) {
	a, err := parseTestWebhookTransform(req.Args)
	if err != nil {
		return nil, err
	}
	// Hasura validates before running: the response transform first.
	if a.response != nil {
		if errs := a.response.Validate(); errs != nil {
			return nil, transformFailed("response", errs)
		}
	}
	if errs := a.request.Validate(); errs != nil {
		return nil, transformFailed("request", errs)
	}
	url, err := a.url()
	if err != nil {
		return nil, err
	}
	r, ierr := transform.NewRequest(url)
	if ierr != nil {
		return nil, transformFailed("request", transform.Errors{ierr})
	}
	r.Body = kriti.Encode(a.body)
	for _, h := range a.headers {
		v, err := interpolateEnv(a.env, h.Value)
		if err != nil {
			return nil, err
		}
		r.Headers = append(r.Headers, transform.Header{Name: h.Name, Value: v})
	}
	out, err := a.request.Apply(r, transform.NewContext(url, a.session, r))
	if err != nil {
		return nil, transformFailed("request", err)
	}
	headers := make([][2]string, len(out.Headers))
	for i, h := range out.Headers {
		headers[i] = [2]string{strings.ToValidUTF8(transform.FoldHeaderName(h.Name), "\uFFFD"), h.Value}
	}
	return transformedRequest{Body: decodeSentBody(out.Body), Headers: headers, Method: out.Method, WebhookURL: out.URL()}, nil
}

// transformFailed is Hasura's error for a transform that does not
// validate or does not run, the template errors in "internal".
func transformFailed(which string, errs error) error {
	return &apierr.Error{
		Status:   http.StatusBadRequest,
		Code:     apierr.CodeValidationFailed,
		Message:  which + " transform validation failed",
		Path:     "$.args",
		Internal: errs,
	}
}

// decodeSentBody shows a body as Hasura does: as JSON if it is, else as
// a string if it can be one (a form), else null.
func decodeSentBody(b []byte) json.RawMessage {
	if v, ok := transform.DecodeJSON(b); ok {
		return kriti.Encode(v)
	}
	if v, ok := transform.DecodeJSON([]byte(`"` + string(b) + `"`)); ok {
		return kriti.Encode(v)
	}
	return json.RawMessage("null")
}

// url is the webhook URL with the sample environment's values put in.
func (a *testWebhookTransformArgs) url() (string, error) {
	if a.fromEnv != nil {
		v, ok := a.env[*a.fromEnv]
		if !ok {
			return "", badRequest(apierr.CodeNotFound, "Missing Env Var")
		}
		return v, nil
	}
	return interpolateEnv(a.env, a.webhookURL)
}

// interpolateEnv replaces each {{NAME}} with the sample environment's
// NAME, as Hasura's URL templates: the name is everything up to the
// first '}', taken as is; a '{' that opens no {{NAME}} stays.
func interpolateEnv(env map[string]string, s string) (string, error) {
	if s == "" {
		return "", badRequest(apierr.CodeParseFailed, "Invalid Url Template")
	}
	var b strings.Builder
	for s != "" {
		if rest, ok := strings.CutPrefix(s, "{{"); ok {
			name, after, found := strings.Cut(rest, "}")
			if found && name != "" && strings.HasPrefix(after, "}") {
				v, ok := env[name]
				if !ok {
					return "", badRequest(apierr.CodeNotFound, "Missing Env Var: %s. For security reasons when testing request options real environment variable values are not available. Please enter a mock value for %s in the Sample Env Variables list. See https://hasura.io/docs/latest/graphql/core/actions/rest-connectors/#action-transforms-sample-context", name, name)
				}
				b.WriteString(v)
				s = after[1:]
				continue
			}
		}
		n := strings.IndexByte(s[1:], '{') + 1
		if n == 0 {
			n = len(s)
		}
		b.WriteString(s[:n])
		s = s[n:]
	}
	return b.String(), nil
}

func parseTestWebhookTransform(args json.RawMessage) (*testWebhookTransformArgs, error) {
	o, err := argsObject(args)
	if err != nil {
		return nil, err
	}
	a := &testWebhookTransformArgs{}
	if a.env, err = o.stringMap("env"); err != nil {
		return nil, err
	}
	if a.headers, err = o.headerPairs("request_headers"); err != nil {
		return nil, err
	}
	if err := a.parseWebhookURL(o); err != nil {
		return nil, err
	}
	raw, err := o.require("body")
	if err != nil {
		return nil, err
	}
	a.body, _ = transform.DecodeJSON(raw)
	if raw, err = o.require("request_transform"); err != nil {
		return nil, err
	}
	if a.request, err = transform.ParseRequestTransform(raw, o.at("request_transform")); err != nil {
		return nil, err
	}
	if o.present("response_transform") {
		if a.response, err = transform.ParseResponseTransform(o.m["response_transform"], o.at("response_transform")); err != nil {
			return nil, err
		}
	}
	if o.present("session_variables") {
		vars, err := o.stringMap("session_variables")
		if err != nil {
			return nil, err
		}
		a.session = transform.NewSessionVariables(vars)
	}
	return a, nil
}

func (a *testWebhookTransformArgs) parseWebhookURL(o jobj) error {
	raw, err := o.require("webhook_url")
	if err != nil {
		return err
	}
	switch aeson.Kind(raw) {
	case "String":
		return json.Unmarshal(raw, &a.webhookURL)
	case "Object":
		u, _ := asObject(raw, o.at("webhook_url"))
		v, err := u.require("from_env")
		if err != nil {
			return err
		}
		name, err := textOf(v, u.at("from_env"))
		a.fromEnv = &name
		return err
	}
	return parseFailed(o.at("webhook_url"), "parsing WebHookUrl failed, expected String or Object, but encountered %s", aeson.Kind(raw))
}

// stringMap is an optional object of strings.
func (o jobj) stringMap(key string) (map[string]string, error) {
	out := map[string]string{}
	if !o.present(key) {
		return out, nil
	}
	m, err := o.object(key)
	if err != nil {
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(m.m)) {
		if out[k], err = textOf(m.m[k], m.at(k)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func textOf(v json.RawMessage, path string) (string, error) {
	var s string
	if aeson.Kind(v) != "String" || json.Unmarshal(v, &s) != nil {
		return "", parseFailed(path, "parsing Text failed, expected String, but encountered %s", aeson.Kind(v))
	}
	return s, nil
}

// headerPairs is an optional list of [name, value] pairs.
func (o jobj) headerPairs(key string) ([]transform.Header, error) {
	if !o.present(key) {
		return nil, nil
	}
	items, err := o.array(key)
	if err != nil {
		return nil, err
	}
	out := make([]transform.Header, 0, len(items))
	for i, it := range items {
		at := fmt.Sprintf("%s[%d]", o.at(key), i)
		var pair []json.RawMessage
		if aeson.Kind(it) != "Array" || json.Unmarshal(it, &pair) != nil || len(pair) != 2 {
			return nil, parseFailed(at, "expected a [name, value] pair, but encountered %s", aeson.Kind(it))
		}
		name, err := textOf(pair[0], at+"[0]")
		if err != nil {
			return nil, err
		}
		value, err := textOf(pair[1], at+"[1]")
		if err != nil {
			return nil, err
		}
		out = append(out, transform.Header{Name: name, Value: value})
	}
	return out, nil
}
