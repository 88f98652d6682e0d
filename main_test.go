package main

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"
)

// runCLI runs the binary's entry point in-process with a clean environment
// for the settings it reads.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	for _, k := range []string{"HASURA_GRAPHQL_DATABASE_URL", "HASURA_GRAPHQL_METADATA_DATABASE_URL", "HASURA_GRAPHQL_SERVER_PORT"} {
		t.Setenv(k, "")
	}
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "strata v") {
		t.Fatalf("version: code %d out %q", code, out)
	}
}

// Every user mistake is one clear line on stderr and exit 1, never a usage
// dump or a stack trace.
func TestBadInvocationsFailWithOneLine(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"serve", "--no-such-flag"}, "unknown flag: --no-such-flag"},
		{"unknown command", []string{"serv"}, `unknown command "serv" (did you mean serve?)`},
		{"bad port", []string{"serve", "--server-port", "-1"}, "invalid server port -1"},
		{"port in use", []string{"serve", "--server-host", "127.0.0.1", "--server-port", busyPort}, "address already in use"},
		{"unreachable database", []string{"serve", "--server-host", "127.0.0.1", "--server-port", freePort(t),
			"--database-url", "postgres://app:hunter2@127.0.0.1:1/app", "--connect-timeout", "2s"}, "cannot connect to postgres at 127.0.0.1:1/app"},
		{"operator bad log level", []string{"operator", "--log-level", "chatty"}, `invalid log level "chatty"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not say %q", stderr, tc.want)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
				t.Errorf("stderr has %d lines, want one:\n%s", n+1, stderr)
			}
			if strings.Contains(stderr, "hunter2") || strings.Contains(stderr, "goroutine") {
				t.Errorf("stderr leaks a password or a stack:\n%s", stderr)
			}
		})
	}
}
