package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// arg is a value given for a variable: from the path or the query string
// (text, typed by the variable's declared type) or from the JSON body
// (passed through as is).
type arg struct {
	name string
	text string
	json json.RawMessage // set for body values
}

var graphQLName = regexp.MustCompile(`^[_A-Za-z][_0-9A-Za-z]*$`)

// resolveVariables pairs the given values with the query's variable
// definitions as Hasura's Rest.hs does. Later values win (path over body
// over query string); names that are not GraphQL names are ignored; a
// value for an undeclared variable is an error; a declared variable with
// no value is left out, for the engine to default or refuse.
func resolveVariables(defs ast.VariableDefinitionList, given []arg) (json.RawMessage, error) {
	byName := map[string]arg{}
	for _, a := range given {
		if graphQLName.MatchString(a.name) {
			byName[a.name] = a
		}
	}
	declared := map[string]*ast.VariableDefinition{}
	for _, d := range defs {
		declared[d.Variable] = d
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	out := map[string]json.RawMessage{}
	for _, n := range names {
		d := declared[n]
		if d == nil {
			return nil, fmt.Errorf("Unexpected variable %s", n)
		}
		v, ok, err := resolveVar(d, byName[n])
		if err != nil {
			return nil, err
		}
		if ok {
			out[n] = v
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return json.Marshal(out)
}

// Scalars whose text Hasura reads as JSON first (Server/Rest.hs).
var (
	boolTypes   = []string{"Bool", "Boolean"}
	numberTypes = []string{"Int", "Float", "Number", "Double", "float8", "numeric"}
)

// resolveVar types one value; ok is false when the variable is to be left
// unset.
func resolveVar(d *ast.VariableDefinition, a arg) (json.RawMessage, bool, error) {
	if a.json != nil {
		return a.json, true, nil
	}
	t := d.Type
	if t.Elem != nil {
		return nil, false, fmt.Errorf("List variables are not currently supported in URL or Query parameters. (Variable %s, with value %s)", d.Variable, haskellShow(a.text))
	}
	switch {
	case t.NamedType == "Boolean" && a.text == "":
		return json.RawMessage("true"), true, nil // a bare ?flag is true
	case !t.NonNull && a.text == "":
		return nil, false, nil
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(a.text))
	dec.UseNumber()
	if dec.Decode(&v) == nil && !dec.More() && json.Valid([]byte(a.text)) {
		switch v.(type) {
		case bool:
			if slices.Contains(boolTypes, t.NamedType) {
				return json.RawMessage(bytes.TrimSpace([]byte(a.text))), true, nil
			}
		case json.Number:
			if slices.Contains(numberTypes, t.NamedType) {
				return json.RawMessage(bytes.TrimSpace([]byte(a.text))), true, nil
			}
		}
	}
	b, _ := json.Marshal(a.text)
	return b, true, nil
}

// asciiNames are Haskell's escapes of the control characters.
var asciiNames = [...]string{"NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "a", "b", "t", "n", "v", "f", "r", "SO", "SI",
	"DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US"}

// haskellShow writes a string as Haskell's show does, which is how
// Hasura quotes a value in its messages.
func haskellShow(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	prev := ""
	for _, r := range s {
		switch {
		case prev == "num" && r >= '0' && r <= '9', prev == "SO" && r == 'H':
			b.WriteString(`\&`)
		}
		prev = ""
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20:
			b.WriteString(`\` + asciiNames[r])
			prev = asciiNames[r]
		case r == 0x7f:
			b.WriteString(`\DEL`)
		case r > 0x7f:
			b.WriteString(`\` + strconv.Itoa(int(r)))
			prev = "num"
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
