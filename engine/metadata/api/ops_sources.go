package api

import (
	"context"
	"encoding/json"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/metadata"
)

type sourceArgs struct {
	Name                 string          `json:"name"`
	Configuration        json.RawMessage `json:"configuration"`
	Customization        json.RawMessage `json:"customization"`
	ReplaceConfiguration bool            `json:"replace_configuration"`
	Cascade              bool            `json:"cascade"`
}

func (a *sourceArgs) parse(req *request) error {
	if err := decodeArgs(req.Args, a); err != nil {
		return err
	}
	if a.Name == "" {
		return badRequest(apierr.CodeParseFailed, `key "name" not found`)
	}
	if !isNull(a.Customization) {
		custom, err := metadata.NormalizeSourceCustomization(a.Customization)
		if err != nil {
			pe := err.(*metadata.ParseError)
			return apierr.BadRequest(apierr.CodeParseFailed, "%s", pe.Message).WithPath("$.args.customization" + pe.Path[1:])
		}
		if custom == nil {
			// Given though empty: it still replaces the one there was.
			custom = json.RawMessage("{}")
		}
		a.Customization = custom
	}
	return nil
}

// addSource attaches a database. An unreachable one is a new
// inconsistency of this operation, so it fails with the reason.
func addSource(_ context.Context, t *txn, req *request) (any, error) {
	var a sourceArgs
	if err := a.parse(req); err != nil {
		return nil, err
	}
	if isNull(a.Configuration) {
		return nil, badRequest(apierr.CodeParseFailed, `key "configuration" not found`)
	}
	if s, ok := t.md.Source(a.Name); ok {
		if !a.ReplaceConfiguration {
			return nil, badRequest(apierr.CodeAlreadyExists, "source with name %q already exists", a.Name)
		}
		s.Configuration, s.Customization = a.Configuration, a.Customization
		delete(t.catalogs, a.Name)
	} else {
		t.md.Sources = append(t.md.Sources, &metadata.Source{Name: a.Name, Kind: "postgres", Configuration: a.Configuration, Customization: a.Customization})
	}
	t.changed = true
	t.target = "source " + a.Name
	return success, nil
}

func updateSource(_ context.Context, t *txn, req *request) (any, error) {
	var a sourceArgs
	if err := a.parse(req); err != nil {
		return nil, err
	}
	s, ok := t.md.Source(a.Name)
	if !ok {
		return nil, notExists("source with name %q does not exist", a.Name)
	}
	if !isNull(a.Configuration) {
		s.Configuration = a.Configuration
		delete(t.catalogs, a.Name)
	}
	if !isNull(a.Customization) {
		s.Customization = a.Customization
	}
	t.changed = true
	t.target = "source " + a.Name
	return success, nil
}

func dropSource(_ context.Context, t *txn, req *request) (any, error) {
	var a sourceArgs
	if err := a.parse(req); err != nil {
		return nil, err
	}
	if _, ok := t.md.Source(a.Name); !ok {
		return nil, notExists("source with name %q does not exist", a.Name)
	}
	t.md.Sources = removeSource(t.md.Sources, a.Name)
	delete(t.catalogs, a.Name)
	t.changed = true
	return success, nil
}

func removeSource(ss []*metadata.Source, name string) []*metadata.Source {
	out := ss[:0]
	for _, s := range ss {
		if s.Name != name {
			out = append(out, s)
		}
	}
	return out
}

// renameSource renames a source; its pool and catalog carry over.
func renameSource(_ context.Context, t *txn, req *request) (any, error) {
	var a struct {
		Name    string `json:"name"`
		NewName string `json:"new_name"`
	}
	if err := decodeArgs(req.Args, &a); err != nil {
		return nil, err
	}
	s, ok := t.md.Source(a.Name)
	if !ok {
		return nil, notExists("Could not find source with name %q", a.Name)
	}
	if a.NewName == "" {
		return nil, badRequest(apierr.CodeParseFailed, `key "new_name" not found`)
	}
	if _, clash := t.md.Source(a.NewName); clash {
		return nil, badRequest(apierr.CodeAlreadyExists, "source with name %q already exists", a.NewName)
	}
	s.Name = a.NewName
	if c, ok := t.catalogs[a.Name]; ok {
		t.catalogs[a.NewName] = c
		delete(t.catalogs, a.Name)
	}
	t.changed = true
	return success, nil
}
