package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
)

// maxBody bounds a request body: metadata documents can be large, but not
// unbounded.
const maxBody = 64 << 20

func readBody(r *http.Request) ([]byte, *apierr.Error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apierr.New(http.StatusRequestEntityTooLarge, apierr.CodeBadRequest, "request body larger than %d bytes", maxBody)
		}
		return nil, apierr.BadRequest(apierr.CodeBadRequest, "cannot read the request body")
	}
	return b, nil
}

// parseRequest decodes the {type, args, ...} envelope, with errors in
// Hasura's parse-failed / invalid-json shapes, at the given JSON path.
func parseRequest(body []byte, path string) (*request, *apierr.Error) {
	if !json.Valid(body) {
		return nil, apierr.BadRequest(apierr.CodeInvalidJSON, "Error in $: Failed reading: not a valid json value").WithPath(path)
	}
	if k := aeson.Kind(body); k != "Object" {
		return nil, apierr.BadRequest(apierr.CodeParseFailed, "parsing Object failed, expected Object, but encountered %s", k).WithPath(path)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	req := &request{}
	if t, ok := raw["type"]; !ok {
		return nil, apierr.BadRequest(apierr.CodeParseFailed, `key "type" not found`).WithPath(path)
	} else if json.Unmarshal(t, &req.Type) != nil {
		return nil, apierr.BadRequest(apierr.CodeParseFailed, "parsing Text failed, expected String, but encountered %s", aeson.Kind(t)).WithPath(path + ".type")
	}
	req.Args = raw["args"]
	if v, ok := raw["version"]; ok && !isNull(v) {
		var n int
		if json.Unmarshal(v, &n) != nil {
			return nil, apierr.BadRequest(apierr.CodeParseFailed, "expected Int, encountered %s", aeson.Kind(v)).WithPath(path + ".version")
		}
		req.Version = &n
	}
	if v, ok := raw["resource_version"]; ok && !isNull(v) {
		var n int64
		if json.Unmarshal(v, &n) != nil {
			return nil, apierr.BadRequest(apierr.CodeParseFailed, "expected Int, encountered %s", aeson.Kind(v)).WithPath(path + ".resource_version")
		}
		req.ResourceVersion = &n
	}
	if v, ok := raw["source"]; ok {
		_ = json.Unmarshal(v, &req.Source)
	}
	return req, nil
}

// exec runs one request (a single operation or a bulk) against t. path is
// where the request sits in the body, for error paths.
func (t *txn) exec(ctx context.Context, ep endpoint, req *request, path string) (any, error) {
	switch req.Type {
	case "bulk", "bulk_keep_going", "concurrent_bulk":
		keepGoing := req.Type == "bulk_keep_going" && ep == metadataAPI
		var items []json.RawMessage
		if err := json.Unmarshal(req.Args, &items); err != nil {
			return nil, apierr.BadRequest(apierr.CodeParseFailed, "parsing [Query] failed, expected Array, but encountered %s", aeson.Kind(req.Args)).WithPath(path + ".args")
		}
		results := make([]any, 0, len(items))
		for i, it := range items {
			at := fmt.Sprintf("%s.args[%d]", path, i)
			sub, perr := parseRequest(it, at)
			if perr != nil {
				if keepGoing {
					results = append(results, errorBody(perr))
					continue
				}
				return nil, perr
			}
			res, err := t.exec(ctx, ep, sub, at)
			if err != nil {
				if keepGoing {
					results = append(results, errorBody(apierr.As(err)))
					continue
				}
				return nil, err
			}
			results = append(results, res)
		}
		return results, nil
	}
	op, ok := lookupOp(ep, req.Type)
	if !ok {
		return nil, apierr.BadRequest(apierr.CodeParseFailed, "unknown %s type: %q", ep.noun(), req.Type).WithPath(path + ".type")
	}
	res, err := op(ctx, t, req)
	if err != nil {
		if ep == queryV1 {
			err = argsParsePath(err)
		}
		return nil, rebase(err, path)
	}
	return res, nil
}

// argsParsePath drops "args" from the path of an error parsing a /v1/query
// operation's arguments: Hasura parses them with aeson's generic tagged
// decoder, whose paths start inside args ("$.url", not "$.args.url").
func argsParsePath(err error) error {
	var e *apierr.Error
	if !errors.As(err, &e) || e.Code != apierr.CodeParseFailed {
		return err
	}
	rest, ok := strings.CutPrefix(e.Path, "$.args")
	if !ok || (rest != "" && rest[0] != '.' && rest[0] != '[') {
		return err
	}
	return e.WithPath("$" + rest)
}

// rebase moves an operation's error path ("$.args...") under the
// request's own path (e.g. "$.args[2]" inside a bulk).
func rebase(err error, path string) error {
	var e *apierr.Error
	if !errors.As(err, &e) || path == "$" {
		return err
	}
	c := *e
	c.Path = path + strings.TrimPrefix(e.Path, "$")
	return &c
}

func errorBody(e *apierr.Error) map[string]any {
	return map[string]any{"path": e.Path, "error": e.Message, "code": e.Code}
}

func (ep endpoint) noun() string {
	if ep == metadataAPI {
		return "metadata"
	}
	return "query"
}

// decodeArgs decodes args into v, with aeson-like errors at $.args.
func decodeArgs(args json.RawMessage, v any) error {
	if k := aeson.Kind(args); k != "Object" {
		return apierr.BadRequest(apierr.CodeParseFailed, "parsing Object failed, expected Object, but encountered %s", k).WithPath("$.args")
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			p := "$.args"
			if te.Field != "" {
				p += "." + te.Field
			}
			return apierr.BadRequest(apierr.CodeParseFailed, "expected %s, but encountered %s", te.Type, te.Value).WithPath(p)
		}
		return apierr.BadRequest(apierr.CodeParseFailed, "%s", err.Error()).WithPath("$.args")
	}
	return nil
}

func isNull(b []byte) bool {
	t := bytes.TrimSpace(b)
	return len(t) == 0 || string(t) == "null"
}

var success = map[string]string{"message": "success"}
