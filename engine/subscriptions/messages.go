package subscriptions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/strata-dev/strata/engine/aeson"
)

// clientMsg is a message from the client, checked as far as its type
// requires. Both protocols share one parser, as in Hasura (Protocol.hs
// ClientMsg): each accepts the other's start/stop spelling.
type clientMsg struct {
	typ     string
	id      string
	payload json.RawMessage // nil when absent or null
	req     *Request        // start and subscribe
}

// parseClientMsg's errors read like aeson's, which is what Hasura's clients
// have been shown in connection_error for years.
func parseClientMsg(data []byte) (clientMsg, error) {
	var m clientMsg
	if k := jsonKind(data); k != '{' {
		if !json.Valid(data) {
			return m, errors.New("Error in $: Failed reading: not a valid json value")
		}
		return m, fmt.Errorf("Error in $: parsing ClientMessage failed, expected Object, but encountered %s", aeson.Kind(data))
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return m, fmt.Errorf("Error in $: %v", err)
	}
	if err := stringField(obj, "type", "$", &m.typ); err != nil {
		return m, err
	}
	if p := obj["payload"]; jsonKind(p) != 'n' && jsonKind(p) != 0 {
		m.payload = p
	}
	switch m.typ {
	case "connection_init":
		if m.payload != nil && jsonKind(m.payload) != '{' {
			return m, fmt.Errorf("Error in $.payload: parsing ConnParams failed, expected Object, but encountered %s", aeson.Kind(m.payload))
		}
	case "start", "subscribe":
		if err := stringField(obj, "id", "$", &m.id); err != nil {
			return m, err
		}
		req, err := parseRequest(m.payload)
		if err != nil {
			return m, err
		}
		m.req = req
	case "stop", "complete":
		if err := stringField(obj, "id", "$", &m.id); err != nil {
			return m, err
		}
	case "connection_terminate", "ping", "pong":
	default:
		return m, fmt.Errorf("Error in $: unexpected type for ClientMessage: %s", m.typ)
	}
	return m, nil
}

func stringField(obj map[string]json.RawMessage, key, path string, dst *string) error {
	raw, ok := obj[key]
	if !ok {
		return fmt.Errorf("Error in %s: key %q not found", path, key)
	}
	if jsonKind(raw) != '"' {
		return fmt.Errorf("Error in %s.%s: parsing Text failed, expected String, but encountered %s", path, key, aeson.Kind(raw))
	}
	return json.Unmarshal(raw, dst)
}

// parseRequest reads a start/subscribe payload. The query is required, as
// in Hasura's GQLReq: without it there is nothing the executor could say
// that the client would not rather hear as a protocol error.
func parseRequest(payload json.RawMessage) (*Request, error) {
	if payload == nil {
		return nil, errors.New(`Error in $: key "payload" not found`)
	}
	if jsonKind(payload) != '{' {
		return nil, fmt.Errorf("Error in $.payload: parsing GQLReq failed, expected Object, but encountered %s", aeson.Kind(payload))
	}
	var p struct {
		Request
		// Shadows Request.Query so a missing query can be told from "".
		Query *string `json:"query"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("Error in $.payload: %v", err)
	}
	if p.Query == nil {
		return nil, errors.New(`Error in $.payload: key "query" not found`)
	}
	req := p.Request
	req.Query = *p.Query
	return &req, nil
}

// initHeaders overlays connection_init's headers on the handshake's.
// Clients put them under payload.headers (Hasura's ConnParams, Apollo
// Client's connectionParams convention) or, as graphql-ws users often do,
// straight into the payload; a headers object wins when there is one.
func initHeaders(handshake http.Header, payload json.RawMessage) (http.Header, error) {
	h := handshake.Clone()
	if h == nil {
		h = http.Header{}
	}
	if payload == nil {
		return h, nil
	}
	var src map[string]json.RawMessage
	if err := json.Unmarshal(payload, &src); err != nil {
		return nil, fmt.Errorf("Error in $.payload: %v", err)
	}
	if raw, ok := src["headers"]; ok && jsonKind(raw) == '{' {
		src = nil
		if err := json.Unmarshal(raw, &src); err != nil {
			return nil, fmt.Errorf("Error in $.payload.headers: %v", err)
		}
	}
	// Sorted so that two spellings of one header resolve the same way on
	// every connection.
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, ok := scalarString(src[k])
		if !ok {
			continue
		}
		// Del then Set: Set canonicalises the name, so a payload's
		// "x-hasura-role" replaces the handshake's X-Hasura-Role.
		h.Del(k)
		h.Set(k, v)
	}
	return h, nil
}

// scalarString renders a JSON scalar as a header value: strings unquoted,
// numbers and booleans as written, since clients do send
// {"x-hasura-user-id": 42}. Null, objects and arrays are not headers.
func scalarString(raw json.RawMessage) (string, bool) {
	switch jsonKind(raw) {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	case 't', 'f', '-', '0':
		return string(bytes.TrimSpace(raw)), true
	}
	return "", false
}

// jsonKind is the first significant byte of a JSON value, with every digit
// folded to '0'; 0 when there is none.
func jsonKind(raw []byte) byte {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return 0
	}
	if t[0] >= '0' && t[0] <= '9' {
		return '0'
	}
	return t[0]
}

// encodeMsg builds a server message. The payload is spliced in as it is:
// result bodies are already JSON and decoding them would cost time and
// could reorder keys or reformat numbers.
func encodeMsg(typ string, id *string, payload []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(payload) + 64)
	b.WriteString(`{"type":`)
	b.Write(jsonString(typ))
	if id != nil {
		b.WriteString(`,"id":`)
		b.Write(jsonString(*id))
	}
	if payload != nil {
		b.WriteString(`,"payload":`)
		b.Write(payload)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// jsonString encodes s without HTML escaping, as aeson does: ids and
// messages come back to the client byte for byte.
func jsonString(s string) []byte { return mustJSON(s) }

func mustJSON(v any) []byte {
	b, err := aeson.Marshal(v)
	if err != nil {
		panic(err) // only called with values that always encode
	}
	return b
}
