package main

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/jackc/pgx/v5"
)

// Setup and teardown, following Hasura's conftest as the README states it:
//
//   - per_class_tests_db_state / per_method_tests_db_state: setup.yaml
//     before and teardown.yaml after the class / every test method, via
//     /v1/query.
//   - per_class_db_schema_for_mutation_tests: schema_setup.yaml and
//     schema_teardown.yaml around the class; per_method_db_data_for_mutation_tests:
//     values_setup.yaml and values_teardown.yaml around every method (the
//     latter depends on the former upstream, so it implies it here).
//   - setup_metadata_api_version "v2": schema_setup.yaml to /v2/query then
//     setup.yaml to /v1/metadata; teardown.yaml to /v1/metadata then
//     schema_teardown.yaml to /v2/query.
//
// A class attribute `<kind>_files` (setup_files, teardown_files, and
// likewise schema_setup_files, values_setup_files... as Hasura's conftest
// reads them) replaces the default file of that kind. Missing files are
// skipped, as upstream checks for their existence.

// step is one setup or teardown request: a file POSTed to an endpoint.
type step struct {
	File     string // manifest-relative
	Endpoint string
}

// scope is what runs around a class or a method.
type scope struct {
	Setup, Teardown []step
}

// classScope is what runs once around the class.
func classScope(c *Class) scope {
	var s scope
	v2 := c.attrString("setup_metadata_api_version") == "v2"
	mutation := c.hasFixture("per_class_db_schema_for_mutation_tests") || c.hasFixture("per_method_db_data_for_mutation_tests")
	if mutation {
		if v2 {
			s = s.add(v2Scope(c))
		} else {
			s = s.add(v1Scope(c, "schema_setup", "schema_teardown"))
		}
	}
	if c.hasFixture("per_class_tests_db_state") {
		s = s.add(dbStateScope(c, v2))
	}
	return s
}

// methodScope is what runs around every test method.
func methodScope(c *Class) scope {
	var s scope
	if c.hasFixture("per_method_db_data_for_mutation_tests") {
		s = s.add(v1Scope(c, "values_setup", "values_teardown"))
	}
	if c.hasFixture("per_method_tests_db_state") {
		s = s.add(dbStateScope(c, c.attrString("setup_metadata_api_version") == "v2"))
	}
	return s
}

func dbStateScope(c *Class, v2 bool) scope {
	if v2 {
		return v2Scope(c)
	}
	return v1Scope(c, "setup", "teardown")
}

func v1Scope(c *Class, setup, teardown string) scope {
	return scope{
		Setup:    steps(c, setup, "/v1/query"),
		Teardown: steps(c, teardown, "/v1/query"),
	}
}

func v2Scope(c *Class) scope {
	return scope{
		Setup:    append(steps(c, "schema_setup", "/v2/query"), steps(c, "setup", "/v1/metadata")...),
		Teardown: append(steps(c, "teardown", "/v1/metadata"), steps(c, "schema_teardown", "/v2/query")...),
	}
}

// add nests inner inside s: inner's setup after s's, its teardown before.
func (s scope) add(inner scope) scope {
	return scope{
		Setup:    append(append([]step(nil), s.Setup...), inner.Setup...),
		Teardown: append(append([]step(nil), inner.Teardown...), s.Teardown...),
	}
}

// steps lists the files of one kind: the class attribute if given, else
// the file the manifest's setup map lists.
func steps(c *Class, kind, endpoint string) []step {
	var files []string
	if raw, ok := c.Attrs[kind+"_files"]; ok {
		files, _ = fileList(raw) // checked when the manifest was loaded
	} else if f, ok := c.Setup[kind]; ok && f != "" {
		files = []string{f}
	}
	out := make([]step, 0, len(files))
	for _, f := range files {
		out = append(out, step{File: f, Endpoint: endpoint})
	}
	return out
}

// runSetup sends setup steps in order and stops at the first failure,
// returning "setup failed: <file>: <why>" ("" on success).
func (r *Runner) runSetup(ctx context.Context, eng *engineRef, steps []step) string {
	for _, s := range steps {
		if why := r.runStep(ctx, eng, s); why != "" {
			return fmt.Sprintf("setup failed: %s: %s", s.File, why)
		}
	}
	return ""
}

// runTeardown sends every teardown step; failures are warnings (-v) and
// do not stop the others or change any count. It reports whether all
// steps went through.
func (r *Runner) runTeardown(ctx context.Context, eng *engineRef, steps []step, where string) bool {
	ok := true
	for _, s := range steps {
		if why := r.runStep(ctx, eng, s); why != "" {
			r.note("WARN %s: teardown failed: %s: %s", where, s.File, why)
			ok = false
		}
	}
	return ok
}

// resetDatabase brings the database and the metadata back to their state
// at the start of the run, after a class whose teardown failed. Upstream's
// CI needs no such step (its teardowns pass); here it keeps one class's
// failure from failing every class after it, so each class's numbers stand
// on their own. Extensions are recreated as they were.
func (r *Runner) resetDatabase(ctx context.Context, eng *engineRef) error {
	if r.dbURL == "" {
		return fmt.Errorf("no database URL: cannot reset")
	}
	conn, err := pgx.Connect(ctx, r.dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'")
	if err != nil {
		return err
	}
	exts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	sql := "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public; DROP SCHEMA IF EXISTS hge_tests CASCADE; CREATE SCHEMA hge_tests;"
	for _, e := range exts {
		sql += " CREATE EXTENSION IF NOT EXISTS " + pgx.Identifier{e}.Sanitize() + ";"
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		return err
	}
	var headers []Header
	if eng.Secret != "" {
		headers = []Header{{"X-Hasura-Admin-Secret", eng.Secret}}
	}
	resp, err := send(ctx, r.client, eng, httpRequest{Method: "POST", URL: "/v1/metadata", Headers: headers,
		Body: []byte(`{"type":"clear_metadata","args":{}}`), ContentType: "application/json"})
	if err != nil {
		return err
	}
	if resp.Status != 200 {
		return fmt.Errorf("clear_metadata: %s", statusText(resp))
	}
	return nil
}

// runStep sends one file; "" on a 200.
func (r *Runner) runStep(ctx context.Context, eng *engineRef, s step) string {
	path := r.m.Path(s.File)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		r.note("NOTE %s does not exist; skipped", s.File)
		return ""
	}
	if err != nil {
		return err.Error()
	}
	body, err := ParseYAML(data)
	if err != nil {
		return "invalid YAML: " + err.Error()
	}
	var headers []Header
	if eng.Secret != "" {
		headers = []Header{{"X-Hasura-Admin-Secret", eng.Secret}}
	}
	resp, err := send(ctx, r.client, eng, httpRequest{
		Method: "POST", URL: s.Endpoint, Headers: headers, Body: body.JSON(), ContentType: "application/json",
	})
	if err != nil {
		return err.Error()
	}
	if resp.Status != 200 {
		return statusText(resp)
	}
	return ""
}

// postgis ensures the postgis extension once per run; a failure is the skip
// reason for every class that needs it.
type postgis struct {
	once   sync.Once
	reason string
}

func (p *postgis) ensure(ctx context.Context, dbURL string) string {
	p.once.Do(func() {
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			p.reason = "postgis fixture: cannot connect to the database: " + err.Error()
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS postgis"); err != nil {
			p.reason = "postgis fixture: CREATE EXTENSION postgis failed: " + err.Error()
		}
	})
	return p.reason
}

// prepareDatabase does what upstream's harness does to every test database
// before any class runs (tests-py fixtures: "Some tests use the hge_tests
// schema", and pgcrypto so the engine need not install it): setup files
// assume both exist.
func prepareDatabase(ctx context.Context, dbURL string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pgcrypto; CREATE SCHEMA IF NOT EXISTS hge_tests")
	return err
}
