package kriti

import "encoding/json"

// The syntax tree of a template. Each node keeps the span Kriti gives it,
// which is where its evaluation errors are reported.
type node interface{ span() Span }

type (
	// strNode is a string: a piece of a string template, or a '...' key.
	strNode struct {
		sp  Span
		val string
	}
	numNode struct {
		sp  Span
		val json.Number
	}
	boolNode struct {
		sp  Span
		val bool
	}
	nullNode struct{ sp Span }
	// tmplNode is a string literal: its pieces concatenated, non-string
	// values written as JSON.
	tmplNode struct {
		sp    Span
		parts []node
	}
	arrayNode struct {
		sp    Span
		elems []node
	}
	// objectNode is an object literal; of a repeated key the first one
	// counts, as in Kriti.
	objectNode struct {
		sp     Span
		fields map[string]node
	}
	varNode struct {
		sp   Span
		name string
	}
	// fieldNode is a required lookup: obj.name, or obj[index].
	fieldNode struct {
		sp    Span
		obj   node
		name  string
		index node // nil for .name
	}
	// optionalNode is obj? followed by lookups, each giving null rather
	// than failing. Its span is obj's.
	optionalNode struct {
		sp   Span
		obj  node
		path []lookup
	}
	ifNode struct {
		sp    Span
		cond  node
		then  node
		elifs []elifNode
		els   node
	}
	elifNode struct {
		sp   Span // from "elif" to the end of the condition
		cond node
		then node
	}
	binaryNode struct {
		sp   Span
		op   string // ==, !=, <, >, <=, >=, &&, ||, in, ??
		l, r node
	}
	// rangeNode is {{ range i, x := over }} body {{ end }}; index is ""
	// for "_".
	rangeNode struct {
		sp    Span
		index string
		elem  string
		over  node
		body  node
	}
	callNode struct {
		sp   Span
		name string
		arg  node
	}
)

// lookup is one step of an optional chain: .name or [index].
type lookup struct {
	name  string
	index node
}

func (n *strNode) span() Span      { return n.sp }
func (n *numNode) span() Span      { return n.sp }
func (n *boolNode) span() Span     { return n.sp }
func (n *nullNode) span() Span     { return n.sp }
func (n *tmplNode) span() Span     { return n.sp }
func (n *arrayNode) span() Span    { return n.sp }
func (n *objectNode) span() Span   { return n.sp }
func (n *varNode) span() Span      { return n.sp }
func (n *fieldNode) span() Span    { return n.sp }
func (n *optionalNode) span() Span { return n.sp }
func (n *ifNode) span() Span       { return n.sp }
func (n *binaryNode) span() Span   { return n.sp }
func (n *rangeNode) span() Span    { return n.sp }
func (n *callNode) span() Span     { return n.sp }
