package main

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// YAML to Value. Hasura's runner loads these files with a YAML loader and
// sends them with json.dumps, so types must survive exactly: 1 stays an
// int, 1.0 a float, "1" a string, null null; key order is kept (it is part
// of what GraphQL responses are checked for); anchors, aliases and merge
// keys (<<) resolve as Python's loader resolves them.

// maxYAMLNodes bounds alias expansion, so a "billion laughs" file is an
// error instead of an out-of-memory crash.
const maxYAMLNodes = 2_000_000

// ParseYAML converts the first document of a YAML file. An empty file is
// null.
func ParseYAML(data []byte) (Value, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Value{}, err
	}
	if doc.Kind == 0 {
		return Null(), nil
	}
	c := &yamlConverter{}
	return c.convert(&doc, 0)
}

type yamlConverter struct {
	nodes int
}

func (c *yamlConverter) convert(n *yaml.Node, depth int) (Value, error) {
	c.nodes++
	if c.nodes > maxYAMLNodes {
		return Value{}, errors.New("YAML expands to too many nodes (alias bomb?)")
	}
	if depth > 500 {
		return Value{}, errors.New("YAML nested too deeply (recursive alias?)")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return Null(), nil
		}
		return c.convert(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return Value{}, fmt.Errorf("line %d: unresolved alias", n.Line)
		}
		return c.convert(n.Alias, depth+1)
	case yaml.ScalarNode:
		return scalarValue(n)
	case yaml.SequenceNode:
		arr := Value{Kind: KindArray, Arr: make([]Value, 0, len(n.Content))}
		for _, e := range n.Content {
			v, err := c.convert(e, depth+1)
			if err != nil {
				return Value{}, err
			}
			arr.Arr = append(arr.Arr, v)
		}
		return arr, nil
	case yaml.MappingNode:
		return c.mapping(n, depth)
	}
	return Value{}, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// mapping follows PyYAML's flatten_mapping: the pairs merged in by << keys
// come first (for a list of merged maps, later maps first so earlier ones
// win), then the explicit pairs; a repeated key keeps its first position
// and takes the last value. So explicit keys override merged ones.
func (c *yamlConverter) mapping(n *yaml.Node, depth int) (Value, error) {
	if len(n.Content)%2 != 0 {
		return Value{}, fmt.Errorf("line %d: malformed mapping", n.Line)
	}
	var merged, explicit []Member
	for i := 0; i < len(n.Content); i += 2 {
		kn, vn := resolveAlias(n.Content[i]), n.Content[i+1]
		if kn.Kind == yaml.ScalarNode && kn.ShortTag() == "!!merge" {
			pairs, err := c.mergePairs(vn, depth)
			if err != nil {
				return Value{}, err
			}
			merged = append(merged, pairs...)
			continue
		}
		key, err := keyText(kn)
		if err != nil {
			return Value{}, err
		}
		val, err := c.convert(vn, depth+1)
		if err != nil {
			return Value{}, err
		}
		explicit = append(explicit, Member{key, val})
	}
	obj := Value{Kind: KindObject, Obj: make([]Member, 0, len(merged)+len(explicit))}
	for _, m := range append(merged, explicit...) {
		obj.set(m.Key, m.Val)
	}
	return obj, nil
}

func (c *yamlConverter) mergePairs(vn *yaml.Node, depth int) ([]Member, error) {
	vn = resolveAlias(vn)
	switch vn.Kind {
	case yaml.MappingNode:
		v, err := c.convert(vn, depth+1)
		if err != nil {
			return nil, err
		}
		return v.Obj, nil
	case yaml.SequenceNode:
		var groups [][]Member
		for _, e := range vn.Content {
			e = resolveAlias(e)
			if e.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("line %d: a merge key (<<) list must hold mappings", e.Line)
			}
			v, err := c.convert(e, depth+1)
			if err != nil {
				return nil, err
			}
			groups = append(groups, v.Obj)
		}
		var out []Member
		for i := len(groups) - 1; i >= 0; i-- {
			out = append(out, groups[i]...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("line %d: a merge key (<<) needs a mapping or a list of mappings", vn.Line)
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// keyText is the JSON key for a mapping key, as json.dumps writes Python's
// non-string keys (True -> "true", None -> "null", 1.0 -> "1.0").
func keyText(n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("line %d: mapping keys must be scalars to become JSON", n.Line)
	}
	v, err := scalarValue(n)
	if err != nil {
		return "", err
	}
	switch v.Kind {
	case KindString:
		return v.Str, nil
	case KindNumber:
		return v.Num, nil
	case KindBool:
		return strconv.FormatBool(v.Bool), nil
	default:
		return "null", nil
	}
}

// scalarValue types a scalar by its resolved tag. Timestamps and unknown
// tags stay strings with the text as written: that is what they are on the
// JSON wire.
func scalarValue(n *yaml.Node) (Value, error) {
	switch n.ShortTag() {
	case "!!null":
		return Null(), nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return Value{}, fmt.Errorf("line %d: %v", n.Line, err)
		}
		return Bool(b), nil
	case "!!int":
		return intValue(n)
	case "!!float":
		// yaml.v3 types integers beyond 64 bits as floats; Python's
		// loader keeps them exact ints, and so do we.
		if n.Style&yaml.TaggedStyle == 0 && bigIntLiteral.MatchString(n.Value) {
			return intValue(n)
		}
		var f float64
		if err := n.Decode(&f); err != nil {
			return Value{}, fmt.Errorf("line %d: %v", n.Line, err)
		}
		return Number(pyFloatRepr(f)), nil
	}
	return String(n.Value), nil
}

var bigIntLiteral = regexp.MustCompile(`^[-+]?[0-9][0-9_]*$`)

func intValue(n *yaml.Node) (Value, error) {
	s, err := intText(n)
	if err != nil {
		return Value{}, err
	}
	return Number(s), nil
}

// intText is the decimal text of a YAML integer of any size (0x1F, 0o17,
// 1_000, +5 included).
func intText(n *yaml.Node) (string, error) {
	clean := strings.ReplaceAll(n.Value, "_", "")
	if i, ok := new(big.Int).SetString(clean, 0); ok {
		return i.String(), nil
	}
	var x int64
	if err := n.Decode(&x); err == nil {
		return strconv.FormatInt(x, 10), nil
	}
	return "", fmt.Errorf("line %d: invalid integer %q", n.Line, n.Value)
}

// pyFloatRepr writes a float as Python's repr (which json.dumps uses): the
// shortest digits that round-trip, always with a '.' or an exponent, and
// exponent form outside 1e-4 <= |f| < 1e16. Requests then carry the same
// bytes Hasura's runner sent, and the number stays recognisably a float.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX, shortest digits
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e // Go's shortest 'e' form is Python's: 1e+16, 1.5e-05
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsRune(s, '.') {
		s += ".0"
	}
	return s
}
