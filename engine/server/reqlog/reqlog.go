// Package reqlog carries what the handlers of a request learn about it (the
// session, the GraphQL operation) to the server's request log line and its
// metrics. The server puts an Entry into every request's context; handlers
// annotate it through the context they were given.
//
// It imports nothing of the engine, so any package may annotate without an
// import cycle through engine/server (which imports the handler packages).
package reqlog

import (
	"context"
	"maps"
	"sync"
)

// Entry is what is known about one request. Its methods are safe for
// concurrent use: a websocket's operations annotate from their own
// goroutines.
type Entry struct {
	mu            sync.Mutex
	group         string
	role          string
	vars          map[string]string
	operationName string
}

type ctxKey struct{}

// NewContext returns ctx carrying e.
func NewContext(ctx context.Context, e *Entry) context.Context {
	return context.WithValue(ctx, ctxKey{}, e)
}

// FromContext returns the request's entry, nil outside a request.
func FromContext(ctx context.Context) *Entry {
	e, _ := ctx.Value(ctxKey{}).(*Entry)
	return e
}

// Annotate records the role and the GraphQL operation name of the request
// ctx belongs to. Empty values keep what is already known; outside a
// request it does nothing.
func Annotate(ctx context.Context, role, operationName string) {
	e := FromContext(ctx)
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if role != "" {
		e.role = role
	}
	if operationName != "" {
		e.operationName = operationName
	}
}

// SetSession records the session variables of the request (x-hasura-role
// among them), which the log shows as Hasura's user_vars. The map is
// copied.
func SetSession(ctx context.Context, role string, vars map[string]string) {
	e := FromContext(ctx)
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.role = role
	e.vars = maps.Clone(vars)
}

// SetGroup records the API group of the route that serves the request.
func (e *Entry) SetGroup(g string) {
	e.mu.Lock()
	e.group = g
	e.mu.Unlock()
}

// Fields are an entry's contents.
type Fields struct {
	Group, Role, OperationName string
	Vars                       map[string]string
}

// Fields returns what the entry holds now.
func (e *Entry) Fields() Fields {
	e.mu.Lock()
	defer e.mu.Unlock()
	return Fields{Group: e.group, Role: e.role, OperationName: e.operationName, Vars: e.vars}
}
