package exec

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ResolveDatabaseURL reads connection_info.database_url of a Postgres
// source configuration, in any of Hasura's three forms: a URL string,
// {"from_env": "VAR"}, or {"connection_parameters": {...}}.
func ResolveDatabaseURL(configuration json.RawMessage, lookupEnv func(string) (string, bool)) (string, error) {
	var cfg struct {
		ConnectionInfo *struct {
			DatabaseURL json.RawMessage `json:"database_url"`
		} `json:"connection_info"`
	}
	if err := json.Unmarshal(configuration, &cfg); err != nil || cfg.ConnectionInfo == nil || len(cfg.ConnectionInfo.DatabaseURL) == 0 {
		return "", fmt.Errorf(`configuration has no "connection_info.database_url"`)
	}
	raw := cfg.ConnectionInfo.DatabaseURL
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var obj struct {
		FromEnv              *string `json:"from_env"`
		ConnectionParameters *struct {
			Username string `json:"username"`
			Password string `json:"password"`
			Host     string `json:"host"`
			Port     int    `json:"port"`
			Database string `json:"database"`
		} `json:"connection_parameters"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", fmt.Errorf("database_url must be a string or an object with from_env or connection_parameters")
	}
	switch {
	case obj.FromEnv != nil:
		v, ok := lookupEnv(*obj.FromEnv)
		if !ok || v == "" {
			return "", fmt.Errorf("environment variable %q not set", *obj.FromEnv)
		}
		return v, nil
	case obj.ConnectionParameters != nil:
		p := obj.ConnectionParameters
		u := url.URL{Scheme: "postgres", Host: p.Host, Path: "/" + p.Database}
		if p.Port != 0 {
			u.Host += ":" + strconv.Itoa(p.Port)
		}
		if p.Password != "" {
			u.User = url.UserPassword(p.Username, p.Password)
		} else {
			u.User = url.User(p.Username)
		}
		return u.String(), nil
	}
	return "", fmt.Errorf("database_url must be a string or an object with from_env or connection_parameters")
}

// Sources keeps one pool per database URL, shared by every source and
// every metadata version that names it, so a metadata reload does not
// reconnect.
type Sources struct {
	opts  PoolOptions
	mu    sync.Mutex
	pools map[string]*pgxpool.Pool
}

// NewSources builds an empty set; pools open on first use with opts.
func NewSources(opts PoolOptions) *Sources {
	return &Sources{opts: opts, pools: map[string]*pgxpool.Pool{}}
}

// Pool returns the pool of a database URL, opening it if needed.
func (s *Sources) Pool(ctx context.Context, dbURL string) (*pgxpool.Pool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.pools[dbURL]; ok {
		return p, nil
	}
	p, err := Open(ctx, dbURL, s.opts)
	if err != nil {
		return nil, err
	}
	s.pools[dbURL] = p
	return p, nil
}

// Close closes every pool.
func (s *Sources) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, p := range s.pools {
		p.Close()
		delete(s.pools, k)
	}
}
