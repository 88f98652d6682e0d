package runsql

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"unicode"
	"unicode/utf8"

	"github.com/strata-dev/strata/engine/aeson"

	"github.com/strata-dev/strata/engine/apierr"
)

// DefaultSource is the source run_sql targets when "source" is absent or
// null, as in Hasura (defaultSource).
const DefaultSource = "default"

// Args are run_sql's arguments. Build them with ParseArgs: decoding the
// JSON straight into this struct skips Hasura's defaults and error
// messages. The json tags are only for encoding (Hasura's ToJSON RunSQL).
type Args struct {
	SQL     string `json:"sql"`
	Source  string `json:"source"`
	Cascade bool   `json:"cascade"`
	// CheckMetadataConsistency is nil when absent or null: then the
	// keyword heuristic decides (see NeedsConsistencyCheck).
	CheckMetadataConsistency *bool `json:"check_metadata_consistency"`
	ReadOnly                 bool  `json:"read_only"`
}

// ParseArgs parses run_sql's "args" the way Hasura's aeson instance does
// (server/src-lib/Hasura/Backends/Postgres/DDL/RunSQL.hs), so a client
// sees the same parse-failed errors:
//
//   - fields are read in Hasura's order (sql, source, cascade,
//     check_metadata_consistency, read_only) and the first failure wins;
//   - "sql" is required and must be a string, even null is an error
//     (aeson's .:);
//   - the optional fields treat null like absence (aeson's .:?);
//   - unknown keys are ignored, and a repeated key keeps its last value,
//     as aeson's object parser does.
//
// Messages are aeson's. A missing key or a non-object reports path
// "$.args"; a field of the wrong type reports the field's own path
// ("$.args.sql"), because aeson adds the key to the path while parsing it.
func ParseArgs(raw json.RawMessage) (Args, *apierr.Error) {
	const path = "$.args"
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		// No args value at all: Hasura's request parser reports the
		// missing key on the enclosing object.
		return Args{}, parseFailed("$", `key "args" not found`)
	}
	if !json.Valid(trimmed) {
		return Args{}, parseFailed(path, "invalid JSON in args")
	}
	if k := aeson.Kind(trimmed); k != "Object" {
		return Args{}, parseFailed(path, "parsing RunSQL failed, expected Object, but encountered "+k)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return Args{}, parseFailed(path, "invalid JSON in args")
	}

	a := Args{Source: DefaultSource}

	v, ok := obj["sql"]
	if !ok {
		return Args{}, parseFailed(path, `key "sql" not found`)
	}
	if k := aeson.Kind(v); k != "String" {
		return Args{}, parseFailed(path+".sql", "parsing Text failed, expected String, but encountered "+k)
	}
	_ = json.Unmarshal(v, &a.SQL)

	if v, ok := present(obj, "source"); ok {
		// Hasura's SourceName: withText "String", then NonEmptyText.
		if k := aeson.Kind(v); k != "String" {
			return Args{}, parseFailed(path+".source", "parsing String failed, expected String, but encountered "+k)
		}
		_ = json.Unmarshal(v, &a.Source)
		if a.Source == "" {
			return Args{}, parseFailed(path+".source", "empty string not allowed")
		}
	}

	var e *apierr.Error
	if a.Cascade, e = optBool(obj, "cascade", path); e != nil {
		return Args{}, e
	}
	if v, ok := present(obj, "check_metadata_consistency"); ok {
		b, e := parseBool(v, path+".check_metadata_consistency")
		if e != nil {
			return Args{}, e
		}
		a.CheckMetadataConsistency = &b
	}
	if a.ReadOnly, e = optBool(obj, "read_only", path); e != nil {
		return Args{}, e
	}
	return a, nil
}

// present returns obj[key] unless it is absent or JSON null.
func present(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	v, ok := obj[key]
	if !ok || aeson.Kind(v) == "Null" {
		return nil, false
	}
	return v, true
}

func optBool(obj map[string]json.RawMessage, key, path string) (bool, *apierr.Error) {
	v, ok := present(obj, key)
	if !ok {
		return false, nil
	}
	return parseBool(v, path+"."+key)
}

func parseBool(v json.RawMessage, path string) (bool, *apierr.Error) {
	if k := aeson.Kind(v); k != "Boolean" {
		return false, parseFailed(path, "parsing Bool failed, expected Boolean, but encountered "+k)
	}
	return bytes.Equal(bytes.TrimSpace(v), []byte("true")), nil
}

func parseFailed(path, msg string) *apierr.Error {
	return &apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeParseFailed, Message: msg, Path: path}
}

// ddlKeyword is Hasura's containsDDLKeyword pattern without its \b
// anchors; mutatesSchema checks the word boundaries itself because Go's
// \b only knows ASCII word characters while regex-tdfa's is Unicode-aware
// (a letter or number of any script, or '_').
var ddlKeyword = regexp.MustCompile(`(?i)alter|drop|replace|create function|comment on`)

// MutatesSchema is Hasura's (admittedly crude) heuristic for whether SQL
// may change the database schema: a case-insensitive match of
// \balter\b|\bdrop\b|\breplace\b|\bcreate function\b|\bcomment on\b.
// It looks at the raw text, so keywords inside comments or string
// literals count too, exactly as upstream. The caller uses it to decide
// whether metadata has to be reloaded and checked after run_sql; see
// Hasura's Note [Checking metadata consistency in run_sql].
func MutatesSchema(sql string) bool {
	for _, loc := range ddlKeyword.FindAllStringIndex(sql, -1) {
		if !isWordRuneBefore(sql, loc[0]) && !isWordRuneAfter(sql, loc[1]) {
			return true
		}
	}
	return false
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

func isWordRuneBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return isWordRune(r)
}

func isWordRuneAfter(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return isWordRune(r)
}

// NeedsConsistencyCheck reports whether the caller must reload metadata
// and check its consistency after running args, as Hasura's
// isSchemaCacheBuildRequiredRunSQL: never for a read-only run (the schema
// cannot have changed, so even check_metadata_consistency: true is
// ignored), otherwise check_metadata_consistency when given, otherwise
// the MutatesSchema heuristic.
func NeedsConsistencyCheck(a Args) bool {
	if a.ReadOnly {
		return false
	}
	if a.CheckMetadataConsistency != nil {
		return *a.CheckMetadataConsistency
	}
	return MutatesSchema(a.SQL)
}
