package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
)

// Runner replays a manifest's classes against an engine and keeps the
// score. The unit of the score is one case file on one concrete transport:
// it passes only if every case in the file passes.
type Runner struct {
	m       *Manifest
	out     io.Writer
	verbose bool
	classRE *regexp.Regexp // nil runs every class
	client  *http.Client
	engines engines
	dbURL   string // the database, for fixtures that need SQL; "" when unknown
	pg      postgis

	passed, failed, skipped int
	skipReasons             map[string]int
	// classTeardownFailed: some teardown of the running class failed.
	classTeardownFailed bool
}

// unit names one scored unit in report lines.
type unit struct {
	class, test, file, transport string
}

func (u unit) String() string {
	if u.file == "" {
		return u.class + " " + u.test + " (no case files)"
	}
	return u.class + " " + u.test + " " + u.file + " [" + u.transport + "]"
}

// group is the units of a test that share one transport. pytest
// parametrises a test method by transport, so each group is its own method
// call with its own per-method setup and teardown: a mutation replayed over
// http and then over websocket starts from the same data both times.
type group struct {
	transport string
	refs      []CaseRef
}

// groups splits a test's case references by concrete transport, in the
// class's transport order.
func groups(c *Class, t *Test) []group {
	var order []string
	seen := map[string]bool{}
	for _, tr := range c.transports() {
		if !seen[tr] {
			seen[tr] = true
			order = append(order, tr)
		}
	}
	for _, ref := range t.Cases {
		for _, tr := range c.expand(ref.Transport) {
			if !seen[tr] {
				seen[tr] = true
				order = append(order, tr)
			}
		}
	}
	var out []group
	for _, tr := range order {
		g := group{transport: tr}
		for _, ref := range t.Cases {
			for _, x := range c.expand(ref.Transport) {
				if x == tr {
					g.refs = append(g.refs, ref)
				}
			}
		}
		if len(g.refs) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// Run replays every selected class. It returns ctx's error when
// interrupted; the counts then cover the units that finished.
func (r *Runner) Run(ctx context.Context) error {
	if r.skipReasons == nil {
		r.skipReasons = map[string]int{}
	}
	for i := range r.m.Classes {
		c := &r.m.Classes[i]
		if r.classRE != nil && !r.classRE.MatchString(c.Name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		r.runClass(ctx, c)
	}
	return ctx.Err()
}

const notReplayable = "not replayable: the Python test has custom assertions"

// testSkip is why a test does not run, from the manifest alone ("" if it
// runs).
func (r *Runner) testSkip(c *Class, t *Test) string {
	switch {
	case c.Skip.Set:
		return c.Skip.describe("skipped upstream")
	case c.XFail.Set:
		return c.XFail.describe("xfail upstream")
	case t.Skip.Set:
		return t.Skip.describe("skipped upstream")
	case t.XFail.Set:
		return t.XFail.describe("xfail upstream")
	case !t.Replayable:
		return notReplayable
	case len(t.Cases) == 0:
		return "no case files"
	}
	tm := parseMarks(t.Marks)
	for _, u := range tm.Unknown {
		r.note("NOTE %s %s: ignoring mark %s", c.Name, t.Name, u)
	}
	if tm.AdminSecret || len(tm.Env) > 0 {
		// The engine is chosen per class (class setup runs on it); a
		// test asking for other settings would need its own.
		return "test-level admin_secret/hge_env marks are not supported"
	}
	return ""
}

func (r *Runner) runClass(ctx context.Context, c *Class) {
	r.classTeardownFailed = false
	marks := parseMarks(c.Marks)
	for _, u := range marks.Unknown {
		r.note("NOTE %s: ignoring mark %s", c.Name, u)
	}
	skips := make([]string, len(c.Tests))
	runnable := 0
	for i := range c.Tests {
		if skips[i] = r.testSkip(c, &c.Tests[i]); skips[i] == "" {
			runnable++
		}
	}
	// What the environment cannot provide skips (or fails) what is left.
	envSkip, envFail := "", ""
	var eng *engineRef
	if runnable > 0 {
		var err error
		eng, envSkip, err = r.engines.get(ctx, engineSettings{AdminSecret: marks.AdminSecret, Env: marks.Env})
		if err != nil {
			envFail = "engine failed to start: " + err.Error()
		}
		if envSkip == "" && envFail == "" {
			envSkip = r.fixtureSkip(ctx, c)
		}
	}
	for i := range c.Tests {
		if skips[i] == "" && envSkip != "" {
			skips[i] = envSkip
		}
	}
	if runnable == 0 || envSkip != "" || envFail != "" {
		for i := range c.Tests {
			if skips[i] != "" {
				r.skipTest(c, &c.Tests[i], skips[i])
			} else {
				r.failTest(c, &c.Tests[i], envFail)
			}
		}
		return
	}

	cs, ms := classScope(c), methodScope(c)
	setupFail := r.runSetup(ctx, eng, cs.Setup)
	for i := range c.Tests {
		t := &c.Tests[i]
		switch {
		case skips[i] != "":
			r.skipTest(c, t, skips[i])
		case setupFail != "":
			r.failTest(c, t, setupFail)
		default:
			r.runTest(ctx, c, t, eng, ms)
		}
		if ctx.Err() != nil {
			return
		}
	}
	// Teardown runs even after a failed setup: whatever part of the setup
	// went through must not leak into the next class.
	if !r.runTeardown(ctx, eng, cs.Teardown, c.Name) {
		r.classTeardownFailed = true
	}
	if r.classTeardownFailed {
		if err := r.resetDatabase(ctx, eng); err != nil {
			r.note("WARN %s: could not reset the database after a failed teardown: %v", c.Name, err)
		} else {
			r.note("NOTE %s: a teardown failed; database and metadata reset for the next class", c.Name)
		}
	}
}

// fixtureSkip provides the fixtures beyond setup/teardown files, or says
// why the class cannot run.
func (r *Runner) fixtureSkip(ctx context.Context, c *Class) string {
	for _, f := range c.Fixtures {
		switch f {
		case "per_class_tests_db_state", "per_method_tests_db_state",
			"per_class_db_schema_for_mutation_tests", "per_method_db_data_for_mutation_tests":
		case "postgis":
			if r.dbURL == "" {
				r.note("NOTE %s: postgis fixture: no --database-url, assuming the engine's database has postgis", c.Name)
				continue
			}
			if reason := r.pg.ensure(ctx, r.dbURL); reason != "" {
				return reason
			}
		case "gql_server":
			r.note("NOTE %s: fixture gql_server (Hasura's remote GraphQL test server) is not provided; cases using it will fail", c.Name)
		default:
			r.note("NOTE %s: fixture %s is not provided; running anyway", c.Name, f)
		}
	}
	return ""
}

func (r *Runner) runTest(ctx context.Context, c *Class, t *Test, eng *engineRef, ms scope) {
	for _, g := range groups(c, t) {
		if ctx.Err() != nil {
			return
		}
		if fail := r.runSetup(ctx, eng, ms.Setup); fail != "" {
			for _, ref := range g.refs {
				r.fail(unit{c.Name, t.Name, ref.File, g.transport}, fail)
			}
		} else {
			for _, ref := range g.refs {
				r.runUnit(ctx, c, t, ref, g.transport, eng)
				if ctx.Err() != nil {
					return
				}
			}
		}
		if !r.runTeardown(ctx, eng, ms.Teardown, c.Name+" "+t.Name+" ["+g.transport+"]") {
			r.classTeardownFailed = true
		}
	}
}

func (r *Runner) runUnit(ctx context.Context, c *Class, t *Test, ref CaseRef, transport string, eng *engineRef) {
	u := unit{c.Name, t.Name, ref.File, transport}
	msg := r.check(ctx, c, t, ref, transport, eng)
	if ctx.Err() != nil {
		return // interrupted: the outcome means nothing, count nothing
	}
	if msg == "" {
		r.pass(u)
	} else {
		r.fail(u, msg)
	}
}

// check runs every case of a unit's file; "" when all pass, else the
// first failing case's first difference.
func (r *Runner) check(ctx context.Context, c *Class, t *Test, ref CaseRef, transport string, eng *engineRef) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			msg = fmt.Sprintf("runner bug: panic: %v", p)
		}
	}()
	switch transport {
	case "http", "websocket", "subscription":
	default:
		return fmt.Sprintf("unknown transport %q", transport)
	}
	cases, err := LoadCases(r.m.Path(ref.File))
	if err != nil {
		return "cannot read case file: " + err.Error()
	}
	addAuth := ref.AddAuth
	if o, ok := overrideFor(c.Name, t.Name); ok && o.noAddAuth {
		addAuth = false
	}
	for i := range cases {
		if d := r.runCase(ctx, eng, &cases[i], transport, addAuth, ref.GQLWS); d != "" {
			if len(cases) > 1 {
				d = fmt.Sprintf("case %d of %d: %s", i+1, len(cases), d)
			}
			return d
		}
	}
	return ""
}

func (r *Runner) runCase(ctx context.Context, eng *engineRef, c *Case, transport string, addAuth, gqlws bool) string {
	headers, checkRefusal := authHeaders(eng, c, addAuth)
	if transport == "http" || !isGraphQLURL(c.URL) {
		if checkRefusal && transport == "http" {
			if d := r.checkRefused(ctx, eng, c); d != "" {
				return d
			}
		}
		return r.runHTTP(ctx, eng, c, headers)
	}
	return r.runWS(ctx, eng, c, headers, gqlws, transport == "subscription")
}

// authHeaders applies the README's admin secret rules: with a secret and
// add_auth, the secret is added; when the case names no role, Hasura's
// runner also checks that the request is refused without it (second
// result).
func authHeaders(eng *engineRef, c *Case, addAuth bool) ([]Header, bool) {
	if eng.Secret == "" || !addAuth {
		return c.Headers, false
	}
	hasRole := false
	for _, h := range c.Headers {
		if strings.EqualFold(h.Name, "X-Hasura-Role") {
			hasRole = true
		}
	}
	headers := append(append([]Header(nil), c.Headers...), Header{"X-Hasura-Admin-Secret", eng.Secret})
	return headers, !hasRole
}

// Scoring and report lines.

// testUnits lists a test's units: its case files on their concrete
// transports. A test without case files (its Python body does it all)
// still counts as one unit, so the skipped count shows it.
func testUnits(c *Class, t *Test) []unit {
	if len(t.Cases) == 0 {
		return []unit{{class: c.Name, test: t.Name}}
	}
	var out []unit
	for _, g := range groups(c, t) {
		for _, ref := range g.refs {
			out = append(out, unit{c.Name, t.Name, ref.File, g.transport})
		}
	}
	return out
}

func (r *Runner) skipTest(c *Class, t *Test, reason string) {
	for _, u := range testUnits(c, t) {
		r.skip(u, reason)
	}
}

func (r *Runner) failTest(c *Class, t *Test, msg string) {
	for _, u := range testUnits(c, t) {
		r.fail(u, msg)
	}
}

func (r *Runner) pass(u unit) {
	r.passed++
	if r.verbose {
		r.line("PASS %s", u)
	}
}

func (r *Runner) fail(u unit, msg string) {
	r.failed++
	r.line("FAIL %s: %s", u, msg)
}

func (r *Runner) skip(u unit, reason string) {
	r.skipped++
	r.skipReasons[reason]++
	if r.verbose {
		r.line("SKIP %s: %s", u, reason)
	}
}

// note is -v only information.
func (r *Runner) note(format string, args ...any) {
	if r.verbose {
		r.line(format, args...)
	}
}

// line writes one report line; whatever a message quotes, it stays one
// line.
func (r *Runner) line(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	s = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`).Replace(s)
	fmt.Fprintln(r.out, s)
}

// Report prints the skip reasons and the closing line.
func (r *Runner) Report() {
	type reason struct {
		text string
		n    int
	}
	var rs []reason
	for t, n := range r.skipReasons {
		rs = append(rs, reason{t, n})
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].n != rs[j].n {
			return rs[i].n > rs[j].n
		}
		return rs[i].text < rs[j].text
	})
	for _, x := range rs {
		r.line("skipped %d: %s", x.n, x.text)
	}
	fmt.Fprintf(r.out, "%d passed, %d failed, %d skipped\n", r.passed, r.failed, r.skipped)
}
