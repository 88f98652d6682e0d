package auth

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/strata-dev/strata/engine/aeson"
)

// A POST auth hook is sent the GraphQL request it is asked to authorize
// (Hasura's "request", HASURA_GRAPHQL_AUTH_HOOK_SEND_REQUEST_BODY), so
// that it can decide on the operation, not only on the caller. Only the
// GraphQL endpoints have one; elsewhere, and for a body that is not a
// GraphQL request, it is null, as in Hasura.

type graphQLRequestKey struct{}

// WithGraphQLRequest returns ctx carrying the raw body of the GraphQL
// request (or batch) being authenticated.
func WithGraphQLRequest(ctx context.Context, body []byte) context.Context {
	return context.WithValue(ctx, graphQLRequestKey{}, body)
}

// hookRequestBody is the request of ctx as Hasura encodes it for the hook
// (GQLBatchedReqs of GQLReq): operationName, query and variables in that
// order, absent or null members left out, anything else the client sent
// dropped. null when there is none or it is not a GraphQL request.
func hookRequestBody(ctx context.Context) json.RawMessage {
	body, _ := ctx.Value(graphQLRequestKey{}).([]byte)
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return json.RawMessage("null")
	}
	if body[0] == '[' {
		var batch []gqlRequest
		if json.Unmarshal(body, &batch) != nil {
			return json.RawMessage("null")
		}
		out := []byte{'['}
		for i, r := range batch {
			if !r.ok() {
				return json.RawMessage("null")
			}
			if i > 0 {
				out = append(out, ',')
			}
			out = r.appendJSON(out)
		}
		return append(out, ']')
	}
	var r gqlRequest
	if json.Unmarshal(body, &r) != nil || !r.ok() {
		return json.RawMessage("null")
	}
	return r.appendJSON(nil)
}

// gqlRequest is what Hasura parses of one request: query is required,
// a string; the others may be null or absent.
type gqlRequest struct {
	OperationName *string         `json:"operationName"`
	Query         *string         `json:"query"`
	Variables     json.RawMessage `json:"variables"`
}

func (r *gqlRequest) ok() bool {
	if r.Query == nil {
		return false
	}
	v := bytes.TrimSpace(r.Variables)
	return len(v) == 0 || v[0] == '{' || string(v) == "null"
}

func (r *gqlRequest) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if r.OperationName != nil {
		b = aeson.AppendString(append(b, `"operationName":`...), *r.OperationName)
		b = append(b, ',')
	}
	b = aeson.AppendString(append(b, `"query":`...), *r.Query)
	if v := bytes.TrimSpace(r.Variables); len(v) > 0 && string(v) != "null" {
		var compact bytes.Buffer
		if json.Compact(&compact, v) == nil {
			b = append(append(b, `,"variables":`...), compact.Bytes()...)
		}
	}
	return append(b, '}')
}
