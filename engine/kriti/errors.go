package kriti

import (
	"fmt"

	"github.com/strata-dev/strata/engine/aeson"
)

// Error codes, as Hasura writes them in "error_code".
const (
	CodeParse     = "Parse Error"
	CodeLex       = "Lex Error"
	CodeAttribute = "Attribute Error"
	CodeName      = "Name Error"
	CodeType      = "Type Error"
	CodeIndex     = "Index Error"
	CodeFunction  = "Function Error"
)

// Pos is a place in a template: Line counts from 0 and Column from 1,
// Kriti's own convention. Only ASCII characters advance the column (a
// quirk of Kriti's lexer that its positions keep).
type Pos struct{ Line, Column int }

func (p Pos) before(q Pos) bool {
	return p.Line < q.Line || p.Line == q.Line && p.Column < q.Column
}

// Span is a range of a template, End exclusive.
type Span struct{ Start, End Pos }

// join is the smallest span covering both.
func (s Span) join(o Span) Span {
	if o.Start.before(s.Start) {
		s.Start = o.Start
	}
	if s.End.before(o.End) {
		s.End = o.End
	}
	return s
}

// Error is a template that does not parse or does not evaluate. Its JSON
// is the object Hasura puts in an error's "internal" list.
type Error struct {
	Code    string
	Message string
	Span    Span
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (line %d, column %d)", e.Code, e.Message, e.Span.Start.Line, e.Span.Start.Column)
}

// MarshalJSON writes the error as Hasura does: aeson's sorted keys and
// escapes (a message may quote '<' or '&', which stay as they are).
func (e *Error) MarshalJSON() ([]byte, error) {
	b := []byte(`{"error_code":`)
	b = aeson.AppendString(b, e.Code)
	b = append(b, `,"message":`...)
	b = aeson.AppendString(b, e.Message)
	b = fmt.Appendf(b, `,"source_position":{"end_column":%d,"end_line":%d,"start_column":%d,"start_line":%d}}`,
		e.Span.End.Column, e.Span.End.Line, e.Span.Start.Column, e.Span.Start.Line)
	return b, nil
}

func typeError(sp Span, v any, expected string) *Error {
	return &Error{CodeType, "Couldn't match expected type '" + expected + "' with actual type '" + typeName(v) + "'", sp}
}
