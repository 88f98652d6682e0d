// Command conformance replays Hasura GraphQL Engine's own test cases
// (../shared/conformance beside the repository, see its README) against Strata and prints
// honest numbers: one line per failing unit and, last,
// "N passed, N failed, N skipped".
//
//	go run ./test/conformance --manifest PATH [--class REGEX] [--engine URL]
//	    [--admin-secret S] [--database-url URL] [--fail-on-failure] [-v]
//
// Without --engine it starts Postgres (or uses --database-url) and the
// engine in-process. It never rewrites expectations.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/strata-dev/strata/engine/pglocal"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailures    = 1 // only with --fail-on-failure
	exitUsage       = 2 // bad flags or manifest, engine or database cannot start
	exitInterrupted = 130
)

func main() {
	// SIGPIPE too: `... | head` must stop the run and still clean up
	// (Postgres, its temp dir) instead of killing the process outright.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGPIPE)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; every resource it starts is released before it
// returns, whatever the exit path.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line below
	manifest := fs.String("manifest", "", "path to manifest.json (required)")
	classPat := fs.String("class", "", "run only classes whose name matches this regular expression")
	engineURL := fs.String("engine", "", "URL of a running engine (default: start one in-process)")
	secret := fs.String("admin-secret", "", "admin secret of the --engine engine")
	dbURL := fs.String("database-url", "", "Postgres database to use (default: a throwaway local server)")
	verbose := fs.Bool("v", false, "also print PASS and SKIP lines, notes and warnings")
	failOnFailure := fs.Bool("fail-on-failure", false, "exit 1 when any unit failed")

	usage := func(format string, a ...any) int {
		if ctx.Err() != nil { // a start-up cut short by Ctrl-C is not a broken setup
			fmt.Fprintln(stderr, "conformance: interrupted")
			return exitInterrupted
		}
		fmt.Fprintf(stderr, "conformance: "+format+"\n", a...)
		return exitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return exitUsage
		}
		return usage("%v", err)
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if *manifest == "" {
		return usage("--manifest is required")
	}
	m, err := LoadManifest(*manifest)
	if err != nil {
		return usage("manifest: %v", err)
	}
	r := &Runner{m: m, out: stdout, verbose: *verbose, client: &http.Client{}, skipReasons: map[string]int{}}
	if *classPat != "" {
		if r.classRE, err = regexp.Compile(*classPat); err != nil {
			return usage("--class: %v", err)
		}
		matched := false
		for _, c := range m.Classes {
			matched = matched || r.classRE.MatchString(c.Name)
		}
		if !matched { // a typo must not pass as "0 failed"
			return usage("--class %q matches no class of the manifest", *classPat)
		}
	}
	if *secret != "" && *engineURL == "" {
		return usage("--admin-secret is for an --engine engine; in-process engines get their own")
	}

	start := time.Now()
	r.dbURL = *dbURL
	if *engineURL != "" {
		base, err := checkEngineURL(ctx, *engineURL)
		if err != nil {
			return usage("--engine: %v", err)
		}
		r.engines = &externalEngine{ref: engineRef{URL: base, Secret: *secret}}
	} else {
		if r.dbURL == "" {
			srv, err := pglocal.Start(ctx, pglocal.Options{})
			if err != nil {
				return usage("cannot start Postgres: %v", err)
			}
			defer srv.Stop()
			if r.dbURL, err = srv.CreateDatabase(ctx, "conformance"); err != nil {
				return usage("cannot create the database: %v", err)
			}
			// Upstream's harness (--pg-urls) gives the engine two more
			// databases for the multi-source tests, through these names.
			for i, name := range []string{"HASURA_GRAPHQL_PG_SOURCE_URL_1", "HASURA_GRAPHQL_PG_SOURCE_URL_2"} {
				url, err := srv.CreateDatabase(ctx, fmt.Sprintf("conformance_source_%d", i+1))
				if err != nil {
					return usage("cannot create the database: %v", err)
				}
				if err := prepareDatabase(ctx, url); err != nil {
					return usage("cannot prepare the database: %v", err)
				}
				os.Setenv(name, url)
			}
		}
		if err := prepareDatabase(ctx, r.dbURL); err != nil {
			return usage("cannot prepare the database: %v", err)
		}
		logDir := ""
		if *verbose {
			if logDir, err = os.MkdirTemp("", "strata-conformance-logs-"); err != nil {
				return usage("%v", err)
			}
			r.note("NOTE engine logs: %s", logDir)
		}
		local := newLocalEngines(r.dbURL, logDir)
		defer local.close()
		r.engines = local
		// Start the default engine now: one that cannot start is a broken
		// setup, not a pile of failed cases.
		if _, _, err := local.get(ctx, engineSettings{}); err != nil {
			return usage("cannot start the engine: %v", err)
		}
	}

	err = r.Run(ctx)
	r.note("NOTE ran in %s", time.Since(start).Round(time.Second))
	if err != nil {
		fmt.Fprintln(stderr, "conformance: interrupted; counts cover the units that finished")
		r.Report()
		return exitInterrupted
	}
	r.Report()
	if *failOnFailure && r.failed > 0 {
		return exitFailures
	}
	return exitOK
}

// checkEngineURL validates --engine and checks something answers there.
func checkEngineURL(ctx context.Context, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("want an http(s)://host:port URL, got %q", raw)
	}
	base := strings.TrimRight(raw, "/")
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("cannot reach the engine: %v", err)
	}
	resp.Body.Close()
	return base, nil
}
