// Package kriti is Kriti, the JSON templating language of Hasura's
// request and response transforms (https://github.com/hasura/kriti-lang,
// version 0.3.3 as Hasura v2 uses it): a template is JSON with {{ }}
// expressions in it:
//
//	{"user": {{ $body.input.name }}, "role": "{{ $session_variables['x-hasura-role'] }}"}
//
// with paths ($body.a[0], optional ones $body?.a ?? "default"),
// if/elif/else, range loops, comparisons and boolean operators, and
// functions (Funcs). Parse and Eval give Kriti's results and Kriti's
// errors, positions included, as Hasura returns them.
//
// Values are what encoding/json decodes into `any` with UseNumber: nil,
// bool, string, json.Number, []any and map[string]any. Numbers are exact
// decimals; Encode writes values back as Hasura would.
package kriti

// Template is a parsed Kriti template.
type Template struct {
	root node
}

// Parse parses a template. The error, if any, is an *Error with Kriti's
// "Parse Error" or "Lex Error".
func Parse(src string) (*Template, error) {
	root, err := parse(src)
	if err != nil {
		return nil, err
	}
	return &Template{root: root}, nil
}

// Eval runs the template with the given variables (Hasura's are named
// $body, $session_variables, ...) and the basic functions plus funcs; a
// basic function wins over one of funcs with the same name, as in
// Hasura. The error, if any, is an *Error.
func (t *Template) Eval(vars map[string]any, funcs Funcs) (any, error) {
	ev := &evaluator{funcs: funcs}
	v, err := ev.eval(t.root, &scope{vars: vars})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Run parses and evaluates a template, as Hasura's runKritiWith does.
func Run(src string, vars map[string]any, funcs Funcs) (any, error) {
	t, err := Parse(src)
	if err != nil {
		return nil, err
	}
	return t.Eval(vars, funcs)
}
