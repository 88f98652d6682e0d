package pgmeta

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// /pg/query renders each value the way Postgres' own to_json() would
// (src/backend/utils/adt/json.c, datum_to_json): numbers as JSON numbers
// (NaN and infinities as strings), booleans, json/jsonb inline, timestamps
// as ISO 8601 strings ("2024-01-02T03:04:05+00:00"), arrays as (nested)
// JSON arrays, NULL as null, and every other type as the string of its
// text output.
//
// Why not in Postgres, as the catalog endpoints do? /pg/query runs
// arbitrary SQL, possibly several statements, which cannot be wrapped in a
// SELECT json_agg(...). Why not pgx's decoded Go values? Decoding jsonb
// into Go maps loses key order and number precision, numeric becomes a
// float or a struct, and timestamps change format. So the SQL runs with
// the simple protocol, every value arrives in text format with its type
// OID, and the JSON is written here from the text with to_json's rules.
// Domains count as their base type; types the tables below do not know
// are looked up in pg_type once per request.
//
// Deviation from to_json: composite (row) values are rendered as their
// text form, e.g. "(1,abc)", not as an object, and types with a cast to
// json (hstore) are not special-cased.

type typeKind uint8

const (
	kString typeKind = iota
	kBool
	kNumber
	kJSON
	kTimestamp   // timestamp without time zone
	kTimestampTZ // timestamp with time zone
	kArray
	kVector // int2vector, oidvector
)

type typeInfo struct {
	kind  typeKind
	elem  uint32 // kArray: element type
	delim byte   // kArray: element delimiter (array_out uses the element's typdelim)
}

// builtinTypes are the types whose rendering is not a plain string, and
// the built-in array types. Everything else built in is a string.
var builtinTypes = map[uint32]typeInfo{
	16:   {kind: kBool},
	20:   {kind: kNumber}, // int8
	21:   {kind: kNumber}, // int2
	23:   {kind: kNumber}, // int4
	700:  {kind: kNumber}, // float4
	701:  {kind: kNumber}, // float8
	1700: {kind: kNumber}, // numeric
	114:  {kind: kJSON},
	3802: {kind: kJSON},
	1114: {kind: kTimestamp},
	1184: {kind: kTimestampTZ},
}

// builtinArrays maps the built-in array types (pg_type.typcategory 'A',
// OID < 10000, as of Postgres 15) to their element type.
var builtinArrays = map[uint32]uint32{
	143: 142, 199: 114, 210: 71, 270: 75, 271: 5069, 272: 81, 273: 83, 629: 628, 651: 650,
	719: 718, 775: 774, 791: 790, 1000: 16, 1001: 17, 1002: 18, 1003: 19, 1005: 21, 1006: 22,
	1007: 23, 1008: 24, 1009: 25, 1010: 27, 1011: 28, 1012: 29, 1013: 30, 1014: 1042,
	1015: 1043, 1016: 20, 1017: 600, 1018: 601, 1019: 602, 1020: 603, 1021: 700, 1022: 701,
	1027: 604, 1028: 26, 1034: 1033, 1040: 829, 1041: 869, 1115: 1114, 1182: 1082,
	1183: 1083, 1185: 1184, 1187: 1186, 1231: 1700, 1263: 2275, 1270: 1266, 1561: 1560,
	1563: 1562, 2201: 1790, 2207: 2202, 2208: 2203, 2209: 2204, 2210: 2205, 2211: 2206,
	2949: 2970, 2951: 2950, 3221: 3220, 3643: 3614, 3644: 3642, 3645: 3615, 3735: 3734,
	3770: 3769, 3807: 3802, 3905: 3904, 3907: 3906, 3909: 3908, 3911: 3910, 3913: 3912,
	3927: 3926, 4073: 4072, 4090: 4089, 4097: 4096, 4192: 4191, 5039: 5038, 6150: 4451,
	6151: 4532, 6152: 4533, 6153: 4534, 6155: 4535, 6157: 4536,
}

// builtinVectors are int2vector and oidvector: to_json renders them as
// arrays, but their text form is space-separated without braces.
var builtinVectors = map[uint32]uint32{22: 21, 30: 26}

// builtinDelim is the element delimiter of built-in types: box is the only
// one that is not a comma.
func builtinDelim(elem uint32) byte {
	if elem == 603 {
		return ';'
	}
	return ','
}

// knownOID reports whether the renderer knows oid without a lookup.
// Built-in OIDs are below 10000 (FirstGenbkiObjectId); anything else
// (user types, extension types, information_schema domains) is looked up.
func knownOID(oid uint32) bool {
	if _, ok := builtinTypes[oid]; ok {
		return true
	}
	if _, ok := builtinArrays[oid]; ok {
		return true
	}
	return oid < 10000
}

// renderer turns text-format values into JSON.
type renderer struct {
	// extra holds looked-up non-built-in types.
	extra map[uint32]typeInfo
	// isoDates: DateStyle is ISO, so timestamps can be rewritten as
	// to_json writes them. Otherwise they are left as Postgres printed them.
	isoDates bool
}

func (r *renderer) info(oid uint32) typeInfo {
	if ti, ok := builtinTypes[oid]; ok {
		return ti
	}
	if elem, ok := builtinArrays[oid]; ok {
		return typeInfo{kind: kArray, elem: elem, delim: builtinDelim(elem)}
	}
	if elem, ok := builtinVectors[oid]; ok {
		return typeInfo{kind: kVector, elem: elem}
	}
	if ti, ok := r.extra[oid]; ok {
		return ti
	}
	return typeInfo{kind: kString}
}

// value appends the JSON for one value (nil is SQL NULL).
func (r *renderer) value(buf *bytes.Buffer, oid uint32, v []byte) {
	if v == nil {
		buf.WriteString("null")
		return
	}
	ti := r.info(oid)
	switch ti.kind {
	case kBool:
		if len(v) == 1 && v[0] == 't' {
			buf.WriteString("true")
		} else if len(v) == 1 && v[0] == 'f' {
			buf.WriteString("false")
		} else {
			writeJSONString(buf, v)
		}
	case kNumber:
		if validJSONNumber(v) {
			buf.Write(v)
		} else {
			writeJSONString(buf, v) // NaN, Infinity, -Infinity
		}
	case kJSON:
		buf.Write(bytes.TrimSpace(v))
	case kTimestamp, kTimestampTZ:
		if r.isoDates {
			writeJSONString(buf, isoToXSD(v, ti.kind))
		} else {
			writeJSONString(buf, v)
		}
	case kArray:
		elems, ok := parseArray(v, ti.delim)
		if !ok {
			writeJSONString(buf, v)
			return
		}
		r.arrayValue(buf, ti.elem, elems)
	case kVector:
		var elems []any
		for _, f := range bytes.Fields(v) {
			elems = append(elems, f)
		}
		r.arrayValue(buf, ti.elem, elems)
	default:
		writeJSONString(buf, v)
	}
}

func (r *renderer) arrayValue(buf *bytes.Buffer, elem uint32, a []any) {
	buf.WriteByte('[')
	for i, e := range a {
		if i > 0 {
			buf.WriteByte(',')
		}
		switch x := e.(type) {
		case []any:
			r.arrayValue(buf, elem, x)
		case []byte:
			r.value(buf, elem, x)
		default: // nil: NULL element
			buf.WriteString("null")
		}
	}
	buf.WriteByte(']')
}

// parseArray parses array_out's text: an optional "[l:u]=" dimension
// prefix, then nested {...} with elements separated by delim, quoted
// ("..." with backslash escapes) or bare (NULL being SQL NULL). Elements
// are []byte, nil (NULL) or []any (a sub-array).
func parseArray(s []byte, delim byte) ([]any, bool) {
	i := 0
	if len(s) > 0 && s[0] == '[' {
		eq := bytes.IndexByte(s, '=')
		if eq < 0 {
			return nil, false
		}
		i = eq + 1
	}
	p := arrayParser{s: s, i: i, delim: delim}
	out, ok := p.array()
	if !ok {
		return nil, false
	}
	p.skipSpace()
	return out, p.i == len(s)
}

type arrayParser struct {
	s     []byte
	i     int
	delim byte
}

func (p *arrayParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *arrayParser) array() ([]any, bool) {
	p.skipSpace()
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, false
	}
	p.i++
	out := []any{}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return out, true
	}
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, false
		}
		switch p.s[p.i] {
		case '{':
			sub, ok := p.array()
			if !ok {
				return nil, false
			}
			out = append(out, sub)
		case '"':
			p.i++
			var b []byte
			for {
				if p.i >= len(p.s) {
					return nil, false
				}
				c := p.s[p.i]
				if c == '\\' && p.i+1 < len(p.s) {
					b = append(b, p.s[p.i+1])
					p.i += 2
					continue
				}
				if c == '"' {
					p.i++
					break
				}
				b = append(b, c)
				p.i++
			}
			if b == nil {
				b = []byte{}
			}
			out = append(out, b)
		default:
			start := p.i
			for p.i < len(p.s) && p.s[p.i] != p.delim && p.s[p.i] != '}' {
				p.i++
			}
			tok := bytes.TrimSpace(p.s[start:p.i])
			if string(tok) == "NULL" {
				out = append(out, nil)
			} else {
				out = append(out, append([]byte{}, tok...))
			}
		}
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, false
		}
		if p.s[p.i] == p.delim {
			p.i++
			continue
		}
		if p.s[p.i] == '}' {
			p.i++
			return out, true
		}
		return nil, false
	}
}

// isoToXSD rewrites an ISO-DateStyle timestamp as to_json writes it
// (EncodeDateTime with USE_XSD_DATES): a "T" between date and time, and
// for timestamptz an offset that always has minutes ("+00" becomes
// "+00:00"). Infinity and anything unexpected are returned unchanged.
func isoToXSD(v []byte, kind typeKind) []byte {
	s := string(v)
	bc := ""
	if strings.HasSuffix(s, " BC") {
		s, bc = s[:len(s)-3], " BC"
	}
	sp := strings.IndexByte(s, ' ')
	if sp < 0 || sp+1 >= len(s) || s[sp+1] < '0' || s[sp+1] > '9' {
		return v
	}
	s = s[:sp] + "T" + s[sp+1:]
	if kind == kTimestampTZ {
		if k := strings.LastIndexAny(s[sp:], "+-"); k >= 0 {
			if off := s[sp+k+1:]; len(off) == 2 && isDigits(off) {
				s += ":00"
			}
		}
	}
	return []byte(s + bc)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// validJSONNumber is Postgres' IsValidJsonNumber: the JSON number grammar.
func validJSONNumber(b []byte) bool {
	return jsonNumberRE.Match(b)
}

const hexDigits = "0123456789abcdef"

// writeJSONString writes s as a JSON string, escaping what JSON requires
// (and no more: '<', '>' and '&' stay as they are, as in Postgres).
// Invalid UTF-8 becomes U+FFFD.
func writeJSONString(buf *bytes.Buffer, s []byte) {
	buf.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"':
				buf.WriteString(`\"`)
			case c == '\\':
				buf.WriteString(`\\`)
			case c == '\n':
				buf.WriteString(`\n`)
			case c == '\r':
				buf.WriteString(`\r`)
			case c == '\t':
				buf.WriteString(`\t`)
			case c == '\b':
				buf.WriteString(`\b`)
			case c == '\f':
				buf.WriteString(`\f`)
			case c < 0x20:
				buf.WriteString(`\u00`)
				buf.WriteByte(hexDigits[c>>4])
				buf.WriteByte(hexDigits[c&0xf])
			default:
				buf.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf.WriteString(`\ufffd`)
		} else {
			buf.Write(s[i : i+size])
		}
		i += size
	}
	buf.WriteByte('"')
}

func writeJSONStr(buf *bytes.Buffer, s string) { writeJSONString(buf, []byte(s)) }

// itoa for uint32 OIDs in SQL text.
func oidText(o uint32) string { return strconv.FormatUint(uint64(o), 10) }
