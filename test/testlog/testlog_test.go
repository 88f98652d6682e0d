package testlog

import (
	"strings"
	"sync"
	"testing"
)

func TestBufferKeepsTheTailWithinItsBound(t *testing.T) {
	b := &Buffer{Max: 100}
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			for range 50 {
				_, _ = b.Write([]byte(strings.Repeat(string(rune('a'+i)), 9) + "\n"))
			}
		})
	}
	wg.Wait()
	_, _ = b.Write([]byte("last line\n"))
	s := b.String()
	if len(s) > 100+len("…(earlier output dropped)\n") || !strings.HasSuffix(s, "last line\n") || !strings.Contains(s, "dropped") {
		t.Errorf("kept %d bytes: %q", len(s), s)
	}
	if got := (&Buffer{}).String(); got != "" {
		t.Errorf("zero Buffer: %q", got)
	}
}
