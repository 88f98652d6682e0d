package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
)

// TestHTTPLogJSON: the http-log detail, written by hand and logged
// through slog's JSON handler, is the JSON its struct tags describe, key
// order included, and its floats are written as encoding/json writes them.
func TestHTTPLogJSON(t *testing.T) {
	gzip := "gzip"
	// plain has httpLog's fields and tags but not its MarshalJSON.
	type plain httpLog
	for _, h := range []httpLog{
		{RequestID: "r1", Operation: operationLog{RequestID: "r1", RequestMode: "non-graphql"}, HTTPInfo: httpInfoLog{Status: 200, HTTPVersion: "HTTP/1.1", URL: "/v1/version", IP: "::1", Method: "GET"}},
		{RequestID: "r2", Operation: operationLog{
			RequestID: "r2", UserVars: map[string]string{"x-hasura-role": "user", "x-hasura-user-id": `1"<&>` + "\n\x00ü"}, ResponseSize: 12345, UncompressedResponseSize: 12345,
			RequestReadTime: 6.71e-7, QueryExecutionTime: 0.000594565, Query: map[string]string{"operationName": "Named"},
			Error: &logError{Path: "$.selectionSet.x", Error: "field 'x' not found in type: 'query_root'", Code: "validation-failed"}, RequestMode: "error",
		}, HTTPInfo: httpInfoLog{Status: 400, HTTPVersion: "HTTP/2.0", URL: "/v1/graphql", IP: "203.0.113.7", Method: "POST", ContentEncoding: &gzip}},
		{RequestID: "r3", Operation: operationLog{RequestID: "r3", RequestReadTime: 12.5, QueryExecutionTime: 3e21, RequestMode: "single"}},
	} {
		var line bytes.Buffer
		slog.New(slog.NewJSONHandler(&line, nil)).Info("request", slog.Any("detail", h))
		var got struct{ Detail json.RawMessage }
		if err := json.Unmarshal(line.Bytes(), &got); err != nil {
			t.Fatalf("%s: %v", line.Bytes(), err)
		}
		want, err := json.Marshal(plain(h))
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, got.Detail, want) {
			t.Errorf("detail\n got %s\nwant %s", got.Detail, want)
		}
		for _, f := range []float64{h.Operation.RequestReadTime, h.Operation.QueryExecutionTime} {
			want, _ := json.Marshal(f)
			if got := appendSeconds(nil, f); string(got) != string(want) {
				t.Errorf("%v written %s, encoding/json writes %s", f, got, want)
			}
		}
	}
}

// sameJSON compares two JSON texts token by token: the same values in the
// same order, whatever the escaping of their strings.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	for {
		ta, ea := da.Token()
		tb, eb := db.Token()
		if ea != nil || eb != nil {
			return ea != nil && eb != nil
		}
		if ta != tb {
			return false
		}
	}
}
