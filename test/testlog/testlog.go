// Package testlog is the log sink of tests that run engines or operators
// in-process: safe for concurrent writers, and bounded, keeping the most
// recent output, so a long run (a benchmark, a busy e2e suite) does not
// grow it without end.
package testlog

import (
	"bytes"
	"sync"
)

// DefaultMax is how much a Buffer keeps when Max is zero.
const DefaultMax = 4 << 20

// Buffer collects log output. The zero value is ready to use.
type Buffer struct {
	// Max bounds what is kept; when a write would pass it, the older
	// half is dropped.
	Max int
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	limit := b.Max
	if limit <= 0 {
		limit = DefaultMax
	}
	if b.buf.Len()+len(p) > limit {
		keep := b.buf.Bytes()[b.buf.Len()-min(b.buf.Len(), limit/2):]
		tail := append([]byte("…(earlier output dropped)\n"), keep...)
		b.buf.Reset()
		b.buf.Write(tail)
	}
	return b.buf.Write(p)
}

// String returns what is kept.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
