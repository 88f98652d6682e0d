package kriti

import (
	"strings"
	"unicode"
)

// Case conversions as Haskell's Data.Text does them: full Unicode
// mappings, so "ß" is "SS" in upper case and "ss" folded, which Go's
// one-rune unicode.To* cannot give alone; the multi-rune mappings are in
// casing_tables.go, generated with Python's str methods:
//
//	for c in map(chr, range(0x110000)):  # skipping surrogates
//	    if len(c.upper()) > 1: upperSpecial[c] = c.upper()   # and likewise
//	    # title (c.title()), lower (c.lower()), fold (c.casefold())

func mapRunes(s string, special map[rune]string, simple func(rune) rune) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if m, ok := special[r]; ok {
			b.WriteString(m)
		} else {
			b.WriteRune(simple(r))
		}
	}
	return b.String()
}

func upper(s string) string { return mapRunes(s, upperSpecial, unicode.ToUpper) }

func lower(s string) string { return mapRunes(s, lowerSpecial, unicode.ToLower) }

// caseFold is Data.Text's toCaseFold: Unicode's full case folding.
func caseFold(s string) string { return mapRunes(s, foldSpecial, foldRune) }

// foldRune is the one-rune ("C") case folding: mostly the lower case of
// the upper case (which takes ſ to s and ς to σ), except that Cherokee
// folds to its upper case and dotless ı does not fold.
func foldRune(r rune) rune {
	switch {
	case r == 'ı':
		return r
	case 0x13A0 <= r && r <= 0x13F5:
		return r
	case 0x13F8 <= r && r <= 0x13FD:
		return r - 8
	case 0xAB70 <= r && r <= 0xABBF:
		return r - 0xAB70 + 0x13A0
	}
	return unicode.ToLower(unicode.ToUpper(r))
}

// title is Data.Text's toTitle: in each word (a run of characters
// started by a letter and ended by a space) the first letter in title
// case and the rest in lower case.
func title(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	inWord := false
	for _, r := range s {
		if inWord {
			if m, ok := lowerSpecial[r]; ok {
				b.WriteString(m)
			} else {
				b.WriteRune(unicode.ToLower(r))
			}
			inWord = !hsIsSpace(r)
			continue
		}
		if m, ok := titleSpecial[r]; ok {
			b.WriteString(m)
		} else {
			b.WriteRune(unicode.ToTitle(r))
		}
		inWord = unicode.IsLetter(r)
	}
	return b.String()
}

// hsIsSpace is Haskell's Data.Char.isSpace: the ASCII blanks, no-break
// space, and the other Unicode space separators.
func hsIsSpace(r rune) bool {
	switch {
	case r == ' ' || '\t' <= r && r <= '\r' || r == 0xA0:
		return true
	case r <= 0x377:
		return false
	}
	return unicode.Is(unicode.Zs, r)
}

// strip is Data.Text's strip.
func strip(s string) string { return strings.TrimFunc(s, hsIsSpace) }

// CaseFold is Haskell's Data.Text.toCaseFold, Hasura's case-insensitive
// form of a name (of a session variable, say).
func CaseFold(s string) string { return caseFold(s) }
