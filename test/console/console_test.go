// Package console_test drives the engine's built-in console (engine/console)
// in a real headless Chromium against a real engine: what a person sees
// when they open /console, type the admin secret and run a query.
package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	secret   = "console-secret"
	chromium = "/usr/bin/chromium"
)

// fixture tracks authors and articles, with relationships both ways and a
// select permission for the role user.
const fixture = `{"type":"bulk","args":[
 {"type":"run_sql","args":{"sql":"CREATE TABLE authors (id serial PRIMARY KEY, name text NOT NULL); CREATE TABLE articles (id serial PRIMARY KEY, author_id int NOT NULL REFERENCES authors(id), title text NOT NULL);"}},
 {"type":"track_table","args":{"name":"authors"}},
 {"type":"track_table","args":{"name":"articles"}},
 {"type":"create_object_relationship","args":{"table":"articles","name":"author","using":{"foreign_key_constraint_on":"author_id"}}},
 {"type":"create_array_relationship","args":{"table":"authors","name":"articles","using":{"foreign_key_constraint_on":{"table":"articles","column":"author_id"}}}},
 {"type":"create_select_permission","args":{"table":"articles","role":"user","permission":{"columns":"*","filter":{}}}},
 {"type":"create_insert_permission","args":{"table":"articles","role":"user","permission":{"columns":["title"],"check":{}}}}
]}`

func start(t *testing.T, configure func(*config.Config)) *enginetest.Engine {
	t.Helper()
	e := enginetest.Start(t, func(c *config.Config) {
		c.AdminSecrets = []string{secret}
		c.EnableConsole = true
		if configure != nil {
			configure(c)
		}
	})
	if status, _, body := enginetest.Do(t, http.MethodPost, e.URL+"/v1/query",
		http.Header{"X-Hasura-Admin-Secret": {secret}}, fixture); status != 200 {
		t.Fatalf("fixture: %d %s", status, body)
	}
	return e
}

// noRedirects shows a redirect rather than following it.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func TestRoutes(t *testing.T) {
	e := start(t, nil)
	resp, err := noRedirects.Get(e.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console" {
		t.Errorf("GET /: %d Location %q, want 302 /console", resp.StatusCode, resp.Header.Get("Location"))
	}
	for path, ct := range map[string]string{
		"/console":                    "text/html; charset=utf-8",
		"/console/api/api-explorer":   "text/html; charset=utf-8",
		"/console/assets/console.js":  "text/javascript; charset=utf-8",
		"/console/assets/console.css": "text/css; charset=utf-8",
	} {
		status, h, _ := enginetest.Do(t, http.MethodGet, e.URL+path, nil, "")
		if status != 200 || h.Get("Content-Type") != ct || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("GET %s: %d %q CSP %q", path, status, h.Get("Content-Type"), h.Get("Content-Security-Policy"))
		}
	}

	// Off, and on without the metadata API (as Hasura, the console needs
	// both), the paths are unknown.
	notFound := `{"path":"$","error":"resource does not exist","code":"not-found"}`
	off := enginetest.Start(t, nil)
	noMetadata := enginetest.Start(t, func(c *config.Config) {
		c.EnableConsole = true
		c.EnabledAPIs = []string{config.APIGraphQL}
	})
	for _, base := range []string{off.URL, noMetadata.URL} {
		for _, path := range []string{"/", "/console", "/console/", "/console/assets/console.js"} {
			status, _, body := enginetest.Do(t, http.MethodGet, base+path, nil, "")
			if status != 404 || strings.TrimSpace(body) != notFound {
				t.Errorf("GET %s (console off): %d %s", path, status, body)
			}
		}
	}
}

// browser starts a headless Chromium for the test; it skips when there is
// none, unless STRATA_REQUIRE_CHROMIUM is set (as make test sets it).
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("STRATA_REQUIRE_CHROMIUM") != "" {
			t.Fatalf("%s is missing and STRATA_REQUIRE_CHROMIUM is set: run hack/install-chromium.sh", chromium)
		}
		t.Skipf("%s is missing: run hack/install-chromium.sh (set STRATA_REQUIRE_CHROMIUM=1 to fail instead)", chromium)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	return ctx
}

// consoleErrors collects the page's errors and uncaught exceptions, among
// them the browser's reports of what the Content-Security-Policy blocked.
func consoleErrors(t *testing.T, ctx context.Context) func() []string {
	var (
		mu   sync.Mutex
		errs []string
	)
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// The browser reports the refusal of the secret-less metadata
			// request the test makes on purpose.
			if m.Source == "network" && strings.Contains(m.Text, "status of 401") {
				continue
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				errs = append(errs, m.String())
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

func TestConsoleInChromium(t *testing.T) {
	ctx := browser(t)
	e := start(t, nil)
	errs := consoleErrors(t, ctx)

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	// clear empties a field before typing into it. SetValue cannot set "":
	// chromedp v0.23.0 omits an empty string argument, and the field then
	// reads "undefined".
	clear := func(id string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`document.getElementById('` + id + `').value = ''`)
	}
	// until waits for a JavaScript condition to hold.
	until := func(what, cond string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}

	// Without the secret the metadata is refused, and the page says so.
	do("open the console", chromedp.Navigate(e.URL+"/console"), chromedp.WaitVisible(chromedp.ID("admin-secret")))
	until("the refusal", `document.querySelector('#tables .error') !== null`)
	if got := text("#tables"); !strings.Contains(got, "access-denied") {
		t.Errorf("tables without the secret: %q", got)
	}

	// Type the secret and a query, run it.
	do("type the secret and the query",
		chromedp.SendKeys(chromedp.ID("admin-secret"), secret),
		clear("query"),
		chromedp.SendKeys(chromedp.ID("query"), "{ __typename }"),
		chromedp.Click(chromedp.ID("run")),
	)
	until("the result", `document.getElementById('result').textContent.includes('query_root')`)
	var res any
	if err := json.Unmarshal([]byte(text("#result")), &res); err != nil || !reflect.DeepEqual(res, map[string]any{"data": map[string]any{"__typename": "query_root"}}) {
		t.Errorf("result pane: %q (%v)", text("#result"), err)
	}
	if got := text("#status"); got != "HTTP 200" {
		t.Errorf("status: %q", got)
	}

	// Leaving the secret field reloaded the tables with the secret.
	until("the tables", `document.querySelector('#tables details[data-table="public.articles"]') !== null`)
	do("open the articles", chromedp.Click(chromedp.CSS(`#tables details[data-table="public.articles"] summary`)))
	articles := text(`#tables details[data-table="public.articles"]`)
	for _, want := range []string{"author object on author_id", "user"} {
		if !strings.Contains(articles, want) {
			t.Errorf("articles view lacks %q: %q", want, articles)
		}
	}
	grants, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#tables details[data-table="public.articles"] tr[data-role="user"] td.yes')].map((td) => td.title)`))
	if err != nil || !reflect.DeepEqual(grants, []string{"insert", "select"}) {
		t.Errorf("user's operations on articles: %q (%v)", grants, err)
	}
	do("open the authors", chromedp.Click(chromedp.CSS(`#tables details[data-table="public.authors"] summary`)))
	if got := text(`#tables details[data-table="public.authors"]`); !regexp.MustCompile(`articles array → (public\.)?articles \(author_id\)`).MatchString(got) || !strings.Contains(got, "admin only") {
		t.Errorf("authors view: %q", got)
	}

	// Variables: refused unless a JSON object, then sent.
	do("type variables that are not an object",
		chromedp.SendKeys(chromedp.ID("variables"), "[1]"),
		chromedp.Click(chromedp.ID("run")),
	)
	until("the refusal of the variables", `document.getElementById('result').textContent.startsWith('Variables must be a JSON object')`)
	do("type a query with a variable",
		clear("query"),
		chromedp.SendKeys(chromedp.ID("query"), "query ($t: String!) { __type(name: $t) { name kind } }"),
		clear("variables"),
		chromedp.SendKeys(chromedp.ID("variables"), `{"t": "articles"}`),
		chromedp.Click(chromedp.ID("run")),
	)
	until("the result with variables", `document.getElementById('result').textContent.includes('OBJECT')`)
	if err := json.Unmarshal([]byte(text("#result")), &res); err != nil || !reflect.DeepEqual(res, map[string]any{"data": map[string]any{"__type": map[string]any{"name": "articles", "kind": "OBJECT"}}}) {
		t.Errorf("result pane with variables: %q (%v)", text("#result"), err)
	}

	// The secret is kept: a reload fills it in and the tables load at once.
	do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("admin-secret")))
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("admin-secret"))); err != nil || v != secret {
		t.Errorf("admin secret after a reload: %q (%v)", v, err)
	}
	until("the tables after a reload", `document.querySelector('#tables details[data-table="public.authors"]') !== null`)

	do("open both tables",
		chromedp.Click(chromedp.CSS(`#tables details[data-table="public.articles"] summary`)),
		chromedp.Click(chromedp.CSS(`#tables details[data-table="public.authors"] summary`)),
		chromedp.Click(chromedp.ID("run")),
	)
	until("the result after a reload", `document.getElementById('result').textContent.includes('"articles"')`)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if !strings.HasPrefix(string(png), "\x89PNG\r\n") {
		t.Fatalf("the screenshot is not a PNG: % x", png[:min(8, len(png))])
	}
	shot := filepath.Join(t.TempDir(), "console.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s: %d bytes", shot, len(png))

	if len(errs()) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(errs(), "\n"))
	}
}
