package kriti

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Numbers are exact decimals, as Haskell's Scientific holds them: Kriti
// compares them by value (1.0 == 1), and aeson writes them in a form that
// depends on how they were written (1.0 stays "1.0", 1e2 becomes "100").
// Values carry numbers as json.Number; decimal is their parsed form.

// decimal is coef × 10^exp, with coef a run of digits without leading
// zeros ("" is zero). It is not normalized: "1.50" is 150 × 10^-2, as
// Scientific keeps it, which is what decides how aeson writes it.
type decimal struct {
	neg  bool
	coef string
	exp  int64
}

// maxExponent bounds exponents so that the arithmetic on them cannot
// overflow; no JSON a client sends comes near it.
const maxExponent = 1 << 40

// parseDecimal reads a JSON number (or Kriti's number literal, the same
// syntax with a leading '+' or leading zeros tolerated).
func parseDecimal(s string) (decimal, bool) {
	var d decimal
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		d.neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[start:i]
	if intPart == "" {
		return decimal{}, false
	}
	frac := ""
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		frac = s[fs:i]
		if frac == "" {
			return decimal{}, false
		}
	}
	var e int64
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		es := i
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		ds := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if ds == i {
			return decimal{}, false
		}
		v, err := strconv.ParseInt(s[es:i], 10, 64)
		if err != nil || v > maxExponent || v < -maxExponent {
			// Saturate: such a number is absurd either way.
			if s[es] == '-' {
				v = -maxExponent
			} else {
				v = maxExponent
			}
		}
		e = v
	}
	if i != len(s) {
		return decimal{}, false
	}
	d.coef = strings.TrimLeft(intPart+frac, "0")
	d.exp = e - int64(len(frac))
	if d.coef == "" {
		d.neg = false
	}
	return d, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// normalized moves the trailing zeros of the coefficient into the exponent.
func (d decimal) normalized() decimal {
	if d.coef == "" {
		return decimal{}
	}
	t := strings.TrimRight(d.coef, "0")
	d.exp += int64(len(d.coef) - len(t))
	d.coef = t
	return d
}

// cmpDecimal orders two numbers by value.
func cmpDecimal(a, b decimal) int {
	a, b = a.normalized(), b.normalized()
	sa, sb := a.sign(), b.sign()
	if sa != sb {
		if sa < sb {
			return -1
		}
		return 1
	}
	if sa == 0 {
		return 0
	}
	c := cmpMagnitude(a, b)
	if sa < 0 {
		return -c
	}
	return c
}

func (d decimal) sign() int {
	switch {
	case d.coef == "":
		return 0
	case d.neg:
		return -1
	}
	return 1
}

// cmpMagnitude compares |a| and |b|, both normalized and non-zero.
func cmpMagnitude(a, b decimal) int {
	// The position of the leading digit decides first.
	la, lb := int64(len(a.coef))+a.exp, int64(len(b.coef))+b.exp
	if la != lb {
		if la < lb {
			return -1
		}
		return 1
	}
	// Same magnitude: compare digit strings, the shorter padded with zeros.
	n := max(len(a.coef), len(b.coef))
	for i := range n {
		ca, cb := byte('0'), byte('0')
		if i < len(a.coef) {
			ca = a.coef[i]
		}
		if i < len(b.coef) {
			cb = b.coef[i]
		}
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	return 0
}

// int64 is Scientific's toBoundedInteger at Int: the value if it is a
// whole number that fits.
func (d decimal) int64() (int64, bool) {
	d = d.normalized()
	if d.coef == "" {
		return 0, true
	}
	if d.exp < 0 || int64(len(d.coef))+d.exp > 19 {
		return 0, false
	}
	s := d.coef + strings.Repeat("0", int(d.exp))
	if d.neg {
		s = "-" + s
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// aesonNumber writes a number as aeson does: a whole number with a
// non-negative exponent (up to 1024) as an integer, anything else in
// Scientific's own notation ("1.0", "0.25", "1.0e-2", "1.2345678e8").
func aesonNumber(n json.Number) string {
	d, ok := parseDecimal(string(n))
	if !ok {
		return "null"
	}
	if d.exp >= 0 && d.exp <= 1024 {
		if d.coef == "" {
			return "0"
		}
		s := d.coef + strings.Repeat("0", int(d.exp))
		if d.neg {
			return "-" + s
		}
		return s
	}
	return showScientific(d)
}

// showScientific is Scientific's formatScientific Generic: fixed
// notation for magnitudes in [0.1, 10^7), exponent notation otherwise,
// and always a fractional part ("1.0").
func showScientific(d decimal) string {
	d = d.normalized()
	if d.coef == "" {
		return "0.0"
	}
	sign := ""
	if d.neg {
		sign = "-"
	}
	digits := d.coef
	e := int64(len(digits)) + d.exp // value is 0.digits × 10^e
	if e < 0 || e > 7 {
		rest := digits[1:]
		if rest == "" {
			rest = "0"
		}
		return sign + digits[:1] + "." + rest + "e" + strconv.FormatInt(e-1, 10)
	}
	if e == 0 {
		return sign + "0." + digits
	}
	if int64(len(digits)) <= e {
		return sign + digits + strings.Repeat("0", int(e)-len(digits)) + ".0"
	}
	return sign + digits[:e] + "." + digits[e:]
}

// numberOf returns v as a number, if it is one. Besides json.Number it
// takes the Go numbers a caller may have put in the variables.
func numberOf(v any) (decimal, bool) {
	switch n := v.(type) {
	case json.Number:
		return parseDecimal(string(n))
	case float64:
		return floatDecimal(n)
	case float32:
		return floatDecimal(float64(n))
	case int:
		return parseDecimal(strconv.Itoa(n))
	case int64:
		return parseDecimal(strconv.FormatInt(n, 10))
	case int32:
		return parseDecimal(strconv.FormatInt(int64(n), 10))
	case uint64:
		return parseDecimal(strconv.FormatUint(n, 10))
	}
	return decimal{}, false
}

func floatDecimal(f float64) (decimal, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return decimal{}, false
	}
	return parseDecimal(strconv.FormatFloat(f, 'g', -1, 64))
}

// asNumber is the json.Number of a Go number (numbers already in
// json.Number come back as they are).
func asNumber(v any) (json.Number, bool) {
	if n, ok := v.(json.Number); ok {
		_, valid := parseDecimal(string(n))
		return n, valid
	}
	d, ok := numberOf(v)
	if !ok {
		return "", false
	}
	return d.text(), true
}

// text writes d back as a JSON number with the same coefficient and
// exponent, so that aesonNumber treats it the same way.
func (d decimal) text() json.Number {
	coef := d.coef
	if coef == "" {
		coef = "0"
	}
	sign := ""
	if d.neg {
		sign = "-"
	}
	if d.exp == 0 {
		return json.Number(sign + coef)
	}
	return json.Number(sign + coef + "e" + strconv.FormatInt(d.exp, 10))
}

// intNumber is a whole number, as Kriti makes them (sizes, indexes).
func intNumber(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

// reciprocal is 1/d as Scientific's division gives it: exact, so only
// for numbers whose reciprocal is a finite decimal; ok is false for zero
// and for repeating decimals (where Haskell throws).
func reciprocal(d decimal) (decimal, bool) {
	d = d.normalized()
	if d.coef == "" {
		return decimal{}, false
	}
	c, _ := new(big.Int).SetString(d.coef, 10)
	// 1/c is finite iff c = 2^a × 5^b; then 1/c = 2^(n-a) × 5^(n-b) / 10^n
	// with n = max(a, b).
	rest := new(big.Int).Set(c)
	two, five := big.NewInt(2), big.NewInt(5)
	var a, b int64
	m := new(big.Int)
	for {
		q, r := new(big.Int).QuoRem(rest, two, m)
		if r.Sign() != 0 {
			break
		}
		rest, a = q, a+1
	}
	for {
		q, r := new(big.Int).QuoRem(rest, five, m)
		if r.Sign() != 0 {
			break
		}
		rest, b = q, b+1
	}
	if rest.Cmp(big.NewInt(1)) != 0 {
		return decimal{}, false
	}
	n := max(a, b)
	q := new(big.Int).Exp(two, big.NewInt(n-a), nil)
	q.Mul(q, new(big.Int).Exp(five, big.NewInt(n-b), nil))
	r := decimal{neg: d.neg, coef: q.String(), exp: -n - d.exp}
	// Scientific's long division stops at the last non-zero digit, and
	// gives a whole number an exponent of 0 (absurdly large ones keep
	// theirs rather than spelling out every zero).
	r = r.normalized()
	if r.exp > 0 && r.exp <= 1024 {
		r.coef += strings.Repeat("0", int(r.exp))
		r.exp = 0
	}
	return r, true
}

// ShowNumber is Haskell's show of a number (Scientific): "1.0", "0.25",
// "1.0e-2"; "" if v is not a number. Some Hasura messages quote values
// that way.
func ShowNumber(v any) string {
	d, ok := numberOf(v)
	if !ok {
		return ""
	}
	return showScientific(d)
}
