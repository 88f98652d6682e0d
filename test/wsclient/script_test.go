package wsclient_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// hang bounds every wait on the script: a guard against a test that
// would otherwise never end, not a timing assertion.
const hang = 30 * time.Second

var (
	installOnce sync.Once
	installErr  error
)

// requireClient skips the test without node or npm and installs the
// pinned packages (npm ci) the first time they are missing; a failing
// install fails the test.
func requireClient(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the graphql-ws client tests need Node and npm", tool)
		}
	}
	installOnce.Do(func() {
		if _, err := os.Stat("node_modules"); err == nil {
			return
		}
		out, err := exec.Command("npm", "ci").CombinedOutput()
		if err != nil {
			installErr = fmt.Errorf("npm ci: %v\n%s", err, out)
		}
	})
	if installErr != nil {
		t.Fatal(installErr)
	}
}

// event is one line of client.mjs's output.
type event struct {
	Event   string          `json:"event"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
	Errors  json.RawMessage `json:"errors"`
	Message json.RawMessage `json:"message"` // send, recv: the protocol message; fatal: text
	Close   *closeEvent     `json:"close"`
	closeEvent

	line string
}

type closeEvent struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

// frame is a protocol message as sent or received.
type frame struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// script is a running client.mjs.
type script struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer
	events chan event // everything but the protocol frames, in order
	done   chan struct{}

	mu     sync.Mutex
	frames []event // send and recv, in order
	lines  []string
}

// runScript starts client.mjs against url with params as the
// connection_init payload; it is stopped when the test ends.
func runScript(t *testing.T, url, params string) *script {
	t.Helper()
	requireClient(t)
	s := &script{t: t, events: make(chan event, 100), done: make(chan struct{})}
	s.cmd = exec.Command("node", "client.mjs")
	s.cmd.Env = append(os.Environ(), "STRATA_WS_URL="+url, "STRATA_WS_CONNECTION_PARAMS="+params)
	s.cmd.Stderr = &s.stderr
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go s.read(stdout)
	t.Cleanup(func() {
		_ = s.stdin.Close() // client.mjs exits at the end of its commands
		go func() {
			for range s.events { // what a failed test left unread
			}
		}()
		select {
		case <-s.done:
		case <-time.After(hang):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			s.mu.Lock()
			t.Logf("client.mjs output:\n%s\nstderr:\n%s", strings.Join(s.lines, "\n"), s.stderr.String())
			s.mu.Unlock()
		}
	})
	return s
}

func (s *script) read(stdout io.Reader) {
	defer close(s.done)
	defer close(s.events)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := sc.Text()
		var e event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			e = event{Event: "unparsable"}
		}
		e.line = line
		s.mu.Lock()
		s.lines = append(s.lines, line)
		if e.Event == "send" || e.Event == "recv" {
			s.frames = append(s.frames, e)
		}
		s.mu.Unlock()
		if e.Event != "send" && e.Event != "recv" {
			s.events <- e
		}
	}
	_ = s.cmd.Wait()
}

// command sends client.mjs one command.
func (s *script) command(cmd map[string]any) {
	s.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := s.stdin.Write(append(b, '\n')); err != nil {
		s.t.Fatalf("client.mjs: %v", err)
	}
}

func (s *script) subscribe(id, query string) {
	s.t.Helper()
	s.command(map[string]any{"cmd": "subscribe", "id": id, "query": query})
}

// expect returns the script's next event (protocol frames aside) and
// fails the test unless it is kind for operation id.
func (s *script) expect(kind, id string) event {
	s.t.Helper()
	select {
	case e, ok := <-s.events:
		if !ok {
			s.t.Fatalf("client.mjs ended (exit %v) while %s %q was expected", s.cmd.ProcessState, kind, id)
		}
		if e.Event != kind || e.ID != id {
			s.t.Fatalf("got %s, want event %s for %q", e.line, kind, id)
		}
		return e
	case <-time.After(hang):
		s.t.Fatalf("no %s for %q after %v", kind, id, hang)
	}
	return event{}
}

// until returns the events before the next one of kind, which it consumes.
func (s *script) until(kind string) []event {
	s.t.Helper()
	var before []event
	deadline := time.After(hang)
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				s.t.Fatalf("client.mjs ended (exit %v) before %s; after %v", s.cmd.ProcessState, kind, before)
			}
			if e.Event == kind {
				return before
			}
			before = append(before, e)
		case <-deadline:
			s.t.Fatalf("no %s after %v; after %v", kind, hang, before)
		}
	}
}

// sent is the protocol messages the client has sent so far; received,
// those it has received.
func (s *script) sent() []frame     { return s.framesOf("send") }
func (s *script) received() []frame { return s.framesOf("recv") }

func (s *script) framesOf(dir string) []frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []frame
	for _, e := range s.frames {
		if e.Event != dir {
			continue
		}
		var f frame
		if err := json.Unmarshal(e.Message, &f); err != nil {
			s.t.Errorf("%s frame is not a protocol message: %s", dir, e.line)
		}
		out = append(out, f)
	}
	return out
}

// wait waits for client.mjs to exit and fails the test unless it exited
// cleanly.
func (s *script) wait() {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(hang):
		s.t.Fatalf("client.mjs still running after %v", hang)
	}
	if !s.cmd.ProcessState.Success() {
		s.t.Errorf("client.mjs: %v", s.cmd.ProcessState)
	}
}
