package api

import (
	"context"
	"encoding/json"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

// functionArgs accepts /v1/query's {schema, name} and the metadata API's
// {function, source, configuration, comment}.
type functionArgs struct {
	Source        string                  `json:"source"`
	Function      *metadata.QualifiedName `json:"function"`
	Schema        *string                 `json:"schema"`
	Name          *string                 `json:"name"`
	Configuration json.RawMessage         `json:"configuration"`
	Comment       *string                 `json:"comment"`
}

func (a *functionArgs) qualified() (metadata.QualifiedName, error) {
	return qualifiedArg(a.Function, a.Schema, a.Name, "function")
}

// checkVersion enforces the `version` an operation accepts (1 or 2 for
// track_function), with Hasura's message.
func checkVersion(req *request) error {
	if req.Version != nil && (*req.Version < 1 || *req.Version > 2) {
		return apierr.BadRequest(apierr.CodeParseFailed, "expected 1 or 2, encountered %d", *req.Version).WithPath("$.version")
	}
	return nil
}

func trackFunction(ctx context.Context, t *txn, req *request) (any, error) {
	if err := checkVersion(req); err != nil {
		return nil, err
	}
	var a functionArgs
	if err := decodeArgs(req.Args, &a); err != nil {
		return nil, err
	}
	q, err := a.qualified()
	if err != nil {
		return nil, err
	}
	src, cat, err := t.source(ctx, t.sourceOf(req, a.Source))
	if err != nil {
		return nil, err
	}
	for _, f := range src.Functions {
		if f.Function == q {
			return nil, badRequest(apierr.CodeAlreadyTracked, "function already tracked: %q", schemacache.DisplayName(q))
		}
	}
	if _, ok := src.Table(q); ok {
		return nil, badRequest(apierr.CodeNotSupported, "table with name %q already exists", schemacache.DisplayName(q))
	}
	if cat == nil {
		return nil, badRequest(apierr.CodeInvalidConfig, "source %q is inconsistent", src.Name)
	}
	fns := cat.Function(q.Schema, q.Name)
	switch {
	case len(fns) == 0:
		return nil, badRequest(apierr.CodeNotExists, "no such function exists: %q", schemacache.DisplayName(q))
	case len(fns) > 1:
		return nil, badRequest(apierr.CodeNotSupported, "function %q is overloaded. Overloaded functions are not supported", schemacache.DisplayName(q))
	}
	src.Functions = append(src.Functions, &metadata.Function{Function: q, Configuration: a.Configuration, Comment: a.Comment})
	t.changed = true
	t.target = schemacache.FunctionObject(src.Name, q)
	return success, nil
}

func untrackFunction(ctx context.Context, t *txn, req *request) (any, error) {
	var a functionArgs
	if err := decodeArgs(req.Args, &a); err != nil {
		return nil, err
	}
	q, err := a.qualified()
	if err != nil {
		return nil, err
	}
	src, _, err := t.source(ctx, t.sourceOf(req, a.Source))
	if err != nil {
		return nil, err
	}
	for i, f := range src.Functions {
		if f.Function == q {
			src.Functions = append(src.Functions[:i], src.Functions[i+1:]...)
			t.changed = true
			return success, nil
		}
	}
	return nil, badRequest(apierr.CodeNotExists, "function not found in metadata: %q", schemacache.DisplayName(q))
}
