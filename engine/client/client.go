// Package client is a typed HTTP client for an engine's admin endpoints
// (/v1/metadata, /v1/version, /healthz), speaking the Hasura v2 wire format.
//
// The operator drives engines only through this package, exactly as a
// user's tooling would over the network, and tests use it too. It imports
// nothing else from the engine: it works against Hasura itself.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client talks to one engine.
type Client struct {
	// URL is the engine's base URL, e.g. http://shop.default.svc:8080.
	URL string
	// AdminSecret is sent as X-Hasura-Admin-Secret when not empty.
	AdminSecret string
	// HTTP is the client used; nil means one with a 30 s timeout.
	HTTP *http.Client
}

var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

// Error is an error answer of the engine in Hasura's shape.
type Error struct {
	Status int    `json:"-"`
	Path   string `json:"path"`
	Code   string `json:"code"`
	Text   string `json:"error"`
	// Internal is the detail admins get (HASURA_GRAPHQL_ADMIN_INTERNAL_ERRORS):
	// for a failed run_sql, Postgres' own error.
	Internal *struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	} `json:"internal,omitempty"`
}

func (e *Error) Error() string {
	if e.Internal != nil && e.Internal.Error.Message != "" {
		return fmt.Sprintf("engine answered %d %s: %s: %s", e.Status, e.Code, e.Text, e.Internal.Error.Message)
	}
	return fmt.Sprintf("engine answered %d %s: %s", e.Status, e.Code, e.Text)
}

// IsConflict reports whether err is the engine refusing a request whose
// resource_version is stale (HTTP 409, code conflict).
func IsConflict(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusConflict
}

// IsCode reports whether err is an engine error with the given Hasura code
// (e.g. "not-exists", "already-exists").
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Metadata sends one metadata API request and decodes the answer into out
// (nil: discard it).
func (c *Client) Metadata(ctx context.Context, req Request, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, "/v1/metadata", body, out)
}

// Request is one metadata API call.
type Request struct {
	Type    string `json:"type"`
	Version int    `json:"version,omitempty"`
	// ResourceVersion, when set, makes the engine refuse the request with
	// 409 unless its metadata is still at that version.
	ResourceVersion *int64 `json:"resource_version,omitempty"`
	Args            any    `json:"args"`
}

// Export is export_metadata v2: the document and its resource_version.
type Export struct {
	ResourceVersion int64           `json:"resource_version"`
	Metadata        json.RawMessage `json:"metadata"`
}

// ExportMetadata reads the engine's metadata with its resource_version.
func (c *Client) ExportMetadata(ctx context.Context) (*Export, error) {
	var out Export
	if err := c.Metadata(ctx, Request{Type: "export_metadata", Version: 2, Args: struct{}{}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Consistency is what replace_metadata v2 and get_inconsistent_metadata
// report.
type Consistency struct {
	IsConsistent        bool                 `json:"is_consistent"`
	InconsistentObjects []InconsistentObject `json:"inconsistent_objects"`
}

// InconsistentObject is one metadata object that does not fit the database.
type InconsistentObject struct {
	Type       string          `json:"type"`
	Name       string          `json:"name,omitempty"`
	Reason     string          `json:"reason"`
	Definition json.RawMessage `json:"definition,omitempty"`
}

// ReplaceMetadata is replace_metadata v2 guarded by resourceVersion: the
// engine refuses it with a 409 (IsConflict) when someone else changed the
// metadata since that version was read.
func (c *Client) ReplaceMetadata(ctx context.Context, resourceVersion int64, doc json.RawMessage, allowInconsistent bool) (*Consistency, error) {
	var out Consistency
	err := c.Metadata(ctx, Request{Type: "replace_metadata", Version: 2, ResourceVersion: &resourceVersion,
		Args: map[string]any{"metadata": doc, "allow_inconsistent_metadata": allowInconsistent}}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// InconsistentMetadata is get_inconsistent_metadata.
func (c *Client) InconsistentMetadata(ctx context.Context) (*Consistency, error) {
	var out Consistency
	if err := c.Metadata(ctx, Request{Type: "get_inconsistent_metadata", Args: struct{}{}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Version is GET /v1/version's version string.
func (c *Client) Version(ctx context.Context) (string, error) {
	var out struct {
		Version string `json:"version"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/version", nil, &out); err != nil {
		return "", err
	}
	return out.Version, nil
}

// Healthy reports whether GET /healthz answers 200 (OK or WARN).
func (c *Client) Healthy(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil)
}

// maxAnswer bounds how much of an answer is read: metadata documents of
// large projects run to megabytes, never to this.
const maxAnswer = 64 << 20

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.URL, "/")+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.AdminSecret != "" {
		req.Header.Set("X-Hasura-Admin-Secret", c.AdminSecret)
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("reading %s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Text == "" {
			e.Code, e.Text = "unexpected", strings.TrimSpace(string(truncate(data, 512)))
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decoding the answer to %s %s: %w", method, path, err)
	}
	return nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// SourceConfig is a Postgres source's configuration as pg_add_source takes
// it.
type SourceConfig struct {
	ConnectionInfo ConnectionInfo `json:"connection_info"`
}

// ConnectionInfo is where and how the engine connects.
type ConnectionInfo struct {
	DatabaseURL    any           `json:"database_url"` // a URL string or {"from_env": "VAR"}
	PoolSettings   *PoolSettings `json:"pool_settings,omitempty"`
	IsolationLevel string        `json:"isolation_level,omitempty"`
}

// PoolSettings are Hasura's pool_settings; nil fields take the engine's
// defaults.
type PoolSettings struct {
	MaxConnections     *int32 `json:"max_connections,omitempty"`
	IdleTimeout        *int32 `json:"idle_timeout,omitempty"`
	ConnectionLifetime *int32 `json:"connection_lifetime,omitempty"`
	PoolTimeout        *int32 `json:"pool_timeout,omitempty"`
}

// AddSource is pg_add_source; with resourceVersion set it is refused when
// the metadata moved on since.
func (c *Client) AddSource(ctx context.Context, resourceVersion *int64, name string, cfg SourceConfig) error {
	return c.Metadata(ctx, Request{Type: "pg_add_source", ResourceVersion: resourceVersion,
		Args: map[string]any{"name": name, "configuration": cfg}}, nil)
}

// UpdateSource is pg_update_source.
func (c *Client) UpdateSource(ctx context.Context, resourceVersion *int64, name string, cfg SourceConfig) error {
	return c.Metadata(ctx, Request{Type: "pg_update_source", ResourceVersion: resourceVersion,
		Args: map[string]any{"name": name, "configuration": cfg}}, nil)
}

// DropSource is pg_drop_source with cascade: the source's tables,
// relationships and permissions go with it.
func (c *Client) DropSource(ctx context.Context, name string) error {
	return c.Metadata(ctx, Request{Type: "pg_drop_source", Args: map[string]any{"name": name, "cascade": true}}, nil)
}

// SQLResult is run_sql's answer: result_type "TuplesOk" with the rows as
// text (the first row holds the column names) or "CommandOk".
type SQLResult struct {
	ResultType string      `json:"result_type"`
	Result     [][]*string `json:"result"`
}

// RunSQL runs SQL on a source through /v2/query run_sql, in one
// transaction. readOnly runs it in a read-only transaction, which also
// tells the engine no schema changes need following.
func (c *Client) RunSQL(ctx context.Context, source, sql string, readOnly bool) (*SQLResult, error) {
	body, err := json.Marshal(Request{Type: "run_sql", Args: map[string]any{"source": source, "sql": sql, "read_only": readOnly}})
	if err != nil {
		return nil, err
	}
	var out SQLResult
	if err := c.do(ctx, http.MethodPost, "/v2/query", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RunSQLBulk runs several statements on a source through one /v2/query
// bulk request, which the engine runs in one transaction: all or nothing.
func (c *Client) RunSQLBulk(ctx context.Context, source string, sqls ...string) error {
	steps := make([]Request, len(sqls))
	for i, s := range sqls {
		steps[i] = Request{Type: "run_sql", Args: map[string]any{"source": source, "sql": s}}
	}
	body, err := json.Marshal(Request{Type: "bulk", Args: steps})
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, "/v2/query", body, nil)
}
