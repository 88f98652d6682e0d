package compile

import "strings"

// NumericText is the text of a JSON number as Postgres receives it from
// Hasura for a numeric column. Hasura sends numerics in the binary format,
// where a value's display scale is its fraction padded to whole base-10000
// digits: 1.1 arrives as 1.1000, so 45 * 1.1 is 49.5000 and an
// unconstrained numeric column stores 1.1000. Strata pads the same way so
// stored values and results read the same. Integers and exponent forms are
// left as they are.
func NumericText(number string) string {
	dot := strings.IndexByte(number, '.')
	if dot < 0 || strings.ContainsAny(number, "eE") {
		return number
	}
	frac := len(number) - dot - 1
	if pad := (4 - frac%4) % 4; pad > 0 {
		return number + strings.Repeat("0", pad)
	}
	return number
}

// IsNumeric reports whether a column type (as format_type prints it) is
// numeric, with or without precision and scale.
func IsNumeric(typ string) bool {
	return typ == "numeric" || strings.HasPrefix(typ, "numeric(")
}
