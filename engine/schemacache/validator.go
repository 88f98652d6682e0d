package schemacache

import (
	"context"
	"slices"
)

// Validator finds the inconsistencies of a built snapshot that only its
// GraphQL schema shows, such as a saved query that no longer fits it.
// The schema is built by a package that depends on this one, so the
// validator is installed from outside (the metadata API does).
type Validator func(ctx context.Context, s *Snapshot) []InconsistentObject

// SetValidator makes every later Build run v once, after the sources are
// resolved. The snapshot in force, built without v, is validated now: an
// engine starts serving from it, and an object reported only from the
// next build on would pass for newly inconsistent then.
func (c *Cache) SetValidator(ctx context.Context, v Validator) {
	c.rebuildMu.Lock()
	defer c.rebuildMu.Unlock()
	c.validator.Store(&v)
	cur := c.cur.Load()
	if cur == nil {
		return
	}
	s := *cur
	s.Inconsistent = append(slices.Clip(cur.Inconsistent), v(ctx, &s)...)
	c.cur.Store(&s)
}
