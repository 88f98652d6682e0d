package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is the type of a JSON value.
type Kind uint8

// The JSON kinds.
const (
	KindNull Kind = iota
	KindBool
	KindNumber
	KindString
	KindArray
	KindObject
)

// Value is a JSON value that remembers object key order. Expectations and
// responses both become Values so one comparison serves HTTP and websocket
// alike, and so GraphQL field order can be checked where it matters
// (map[string]any would lose it).
type Value struct {
	Kind Kind
	Bool bool
	// Num is the number's text: the JSON literal for responses, the
	// canonical integer or Python-style float repr for YAML input (see
	// yamljson.go). Comparison is numeric, never textual.
	Num string
	Str string
	Arr []Value
	Obj []Member // in document order, keys unique
}

// Member is one key of an object.
type Member struct {
	Key string
	Val Value
}

// Constructors keep call sites short.
func Null() Value                { return Value{Kind: KindNull} }
func Bool(b bool) Value          { return Value{Kind: KindBool, Bool: b} }
func Number(text string) Value   { return Value{Kind: KindNumber, Num: text} }
func String(s string) Value      { return Value{Kind: KindString, Str: s} }
func Array(vs ...Value) Value    { return Value{Kind: KindArray, Arr: vs} }
func Object(ms ...Member) Value  { return Value{Kind: KindObject, Obj: ms} }
func M(k string, v Value) Member { return Member{Key: k, Val: v} }

// Get returns the value of key in an object.
func (v Value) Get(key string) (Value, bool) {
	if v.Kind != KindObject {
		return Value{}, false
	}
	for _, m := range v.Obj {
		if m.Key == key {
			return m.Val, true
		}
	}
	return Value{}, false
}

// With returns a copy of the object with key set to val: replaced in place
// when present, appended otherwise. The receiver is not modified.
func (v Value) With(key string, val Value) Value {
	out := Value{Kind: KindObject, Obj: make([]Member, 0, len(v.Obj)+1)}
	found := false
	for _, m := range v.Obj {
		if m.Key == key {
			m.Val, found = val, true
		}
		out.Obj = append(out.Obj, m)
	}
	if !found {
		out.Obj = append(out.Obj, Member{key, val})
	}
	return out
}

// set replaces key's value in place, or appends it. Like a Python dict (and
// so like Hasura's test loader), a repeated key keeps its first position and
// takes the last value.
func (v *Value) set(key string, val Value) {
	for i := range v.Obj {
		if v.Obj[i].Key == key {
			v.Obj[i].Val = val
			return
		}
	}
	v.Obj = append(v.Obj, Member{key, val})
}

// Truthy is Python's truth value, which Hasura's runner applies to some
// fields (a request body is only sent when truthy).
func (v Value) Truthy() bool {
	switch v.Kind {
	case KindBool:
		return v.Bool
	case KindNumber:
		f, err := strconv.ParseFloat(v.Num, 64)
		return err != nil || f != 0
	case KindString:
		return v.Str != ""
	case KindArray:
		return len(v.Arr) > 0
	case KindObject:
		return len(v.Obj) > 0
	}
	return false
}

// JSON encodes the value compactly, keys in order. Non-finite floats from
// YAML (.inf, .nan) come out as Python's json.dumps writes them.
func (v Value) JSON() []byte {
	var b bytes.Buffer
	v.appendJSON(&b)
	return b.Bytes()
}

func (v Value) String() string { return string(v.JSON()) }

func (v Value) appendJSON(b *bytes.Buffer) {
	switch v.Kind {
	case KindNull:
		b.WriteString("null")
	case KindBool:
		b.WriteString(strconv.FormatBool(v.Bool))
	case KindNumber:
		b.WriteString(v.Num)
	case KindString:
		appendJSONString(b, v.Str)
	case KindArray:
		b.WriteByte('[')
		for i, e := range v.Arr {
			if i > 0 {
				b.WriteByte(',')
			}
			e.appendJSON(b)
		}
		b.WriteByte(']')
	case KindObject:
		b.WriteByte('{')
		for i, m := range v.Obj {
			if i > 0 {
				b.WriteByte(',')
			}
			appendJSONString(b, m.Key)
			b.WriteByte(':')
			m.Val.appendJSON(b)
		}
		b.WriteByte('}')
	}
}

// appendJSONString writes s as a JSON string without encoding/json's HTML
// escaping, so request bodies carry the text as written.
func appendJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(`\ufffd`)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

// ParseJSON parses one JSON document, keeping key order and number text.
// Trailing data is an error, as it is for Python's json.loads.
func ParseJSON(data []byte) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeJSON(dec)
	if err != nil {
		return Value{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return Value{}, errors.New("invalid JSON: trailing data after the value")
	}
	return v, nil
}

func decodeJSON(dec *json.Decoder) (Value, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		return Value{}, errors.New("invalid JSON: empty body")
	}
	if err != nil {
		return Value{}, fmt.Errorf("invalid JSON: %w", err)
	}
	switch t := tok.(type) {
	case nil:
		return Null(), nil
	case bool:
		return Bool(t), nil
	case json.Number:
		return Number(t.String()), nil
	case string:
		return String(t), nil
	case json.Delim:
		switch t {
		case '[':
			arr := Value{Kind: KindArray, Arr: []Value{}}
			for dec.More() {
				e, err := decodeJSON(dec)
				if err != nil {
					return Value{}, err
				}
				arr.Arr = append(arr.Arr, e)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return Value{}, fmt.Errorf("invalid JSON: %w", err)
			}
			return arr, nil
		case '{':
			obj := Value{Kind: KindObject, Obj: []Member{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return Value{}, fmt.Errorf("invalid JSON: %w", err)
				}
				key, ok := kt.(string)
				if !ok {
					return Value{}, fmt.Errorf("invalid JSON: object key %v", kt)
				}
				val, err := decodeJSON(dec)
				if err != nil {
					return Value{}, err
				}
				obj.set(key, val)
			}
			if _, err := dec.Token(); err != nil { // '}'
				return Value{}, fmt.Errorf("invalid JSON: %w", err)
			}
			return obj, nil
		}
	}
	return Value{}, fmt.Errorf("invalid JSON: unexpected token %v", tok)
}

// isIntText reports whether a number's text is an integer literal. Python
// (Hasura's runner) keeps those as exact ints and everything else as
// float64; numEqual follows the same rule.
func isIntText(s string) bool {
	return !strings.ContainsAny(s, ".eEnN") // NaN, Infinity contain n/N
}

// numEqual compares numbers the way Python compares what json.loads and the
// YAML loader produce: ints exactly, floats after rounding to float64, an
// int against a float by exact value (so 1 == 1.0).
func numEqual(a, b string) bool {
	if a == b {
		return !strings.EqualFold(a, "nan")
	}
	if isIntText(a) && isIntText(b) {
		x, ok1 := new(big.Int).SetString(a, 10)
		y, ok2 := new(big.Int).SetString(b, 10)
		return ok1 && ok2 && x.Cmp(y) == 0
	}
	x, ok1 := exactNum(a)
	y, ok2 := exactNum(b)
	if !ok1 || !ok2 {
		fa, err1 := strconv.ParseFloat(a, 64)
		fb, err2 := strconv.ParseFloat(b, 64)
		return err1 == nil && err2 == nil && fa == fb // infinities; NaN != NaN as in Python
	}
	return x.Cmp(y) == 0
}

// exactNum is the exact rational value of a number as Python holds it;
// false for non-finite or malformed text.
func exactNum(s string) (*big.Rat, bool) {
	if isIntText(s) {
		i, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, false
		}
		return new(big.Rat).SetInt(i), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, false
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, false
	}
	return new(big.Rat).SetFloat64(f), true
}
