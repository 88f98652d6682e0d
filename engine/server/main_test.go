package server_test

import (
	"net/http"
	"testing"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
	"github.com/strata-dev/strata/test/testlog"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// do sends one request and returns the status, headers and body.
func do(t *testing.T, method, url string, header http.Header, body string) (int, http.Header, string) {
	t.Helper()
	return enginetest.Do(t, method, url, header, body)
}

// startLogged runs an engine and returns its URL and its log.
func startLogged(t *testing.T, configure func(*config.Config)) (string, *testlog.Buffer) {
	t.Helper()
	e := enginetest.Start(t, configure)
	return e.URL, e.Logs
}
