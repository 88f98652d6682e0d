package pgdump

import (
	"fmt"
	"strings"
)

// A pg_dump option the API passes on: its long name, its short letter (0
// for none), and whether it takes a value.
type option struct {
	long  string
	short byte
	value bool
}

// allowed are the options that shape what is dumped. Anything that would
// write a file, connect elsewhere, change the output to a binary format or
// prompt is refused, as are options this list does not know.
var allowed = []option{
	{"data-only", 'a', false}, {"schema-only", 's', false},
	{"blobs", 'b', false}, {"no-blobs", 'B', false}, {"large-objects", 0, false}, {"no-large-objects", 0, false},
	{"clean", 'c', false}, {"create", 'C', false}, {"if-exists", 0, false},
	{"no-owner", 'O', false}, {"no-privileges", 'x', false}, {"no-acl", 0, false},
	{"verbose", 'v', false}, {"no-password", 'w', false},
	{"inserts", 0, false}, {"column-inserts", 0, false}, {"attribute-inserts", 0, false},
	{"on-conflict-do-nothing", 0, false}, {"rows-per-insert", 0, true},
	{"disable-dollar-quoting", 0, false}, {"disable-triggers", 0, false}, {"enable-row-security", 0, false},
	{"load-via-partition-root", 0, false}, {"quote-all-identifiers", 0, false},
	{"no-comments", 0, false}, {"no-publications", 0, false}, {"no-subscriptions", 0, false},
	{"no-security-labels", 0, false}, {"no-tablespaces", 0, false}, {"no-table-access-method", 0, false},
	{"no-toast-compression", 0, false}, {"no-unlogged-table-data", 0, false},
	{"serializable-deferrable", 0, false}, {"strict-names", 0, false}, {"use-set-session-authorization", 0, false},
	{"no-sync", 0, false},
	{"schema", 'n', true}, {"exclude-schema", 'N', true},
	{"table", 't', true}, {"exclude-table", 'T', true}, {"exclude-table-data", 0, true},
	{"table-and-children", 0, true}, {"exclude-table-and-children", 0, true}, {"exclude-table-data-and-children", 0, true},
	{"extension", 'e', true}, {"exclude-extension", 0, true}, {"include-foreign-data", 0, true},
	{"encoding", 'E', true}, {"extra-float-digits", 0, true}, {"lock-wait-timeout", 0, true},
	{"section", 0, true}, {"snapshot", 0, true}, {"superuser", 'S', true},
	{"format", 'F', true}, // plain only, checked below
}

// refused says why an option pg_dump knows is not passed on.
var refused = map[string]string{
	"file":           "the dump is returned in the response, not written to a file",
	"dbname":         "the source's database is dumped",
	"host":           "the source's database is dumped",
	"port":           "the source's database is dumped",
	"username":       "the source's database is dumped",
	"password":       "pg_dump cannot prompt for a password",
	"role":           "the source's database is dumped as its configured user",
	"jobs":           "only the plain text format is supported",
	"compress":       "only uncompressed plain text is supported",
	"filter":         "options are given in opts, not read from a file",
	"restrict-key":   "the engine sets it",
	"binary-upgrade": "it is for upgrade utilities only",
	"version":        "it does not dump",
	"help":           "it does not dump",
}

var shortRefused = map[byte]string{'f': "file", 'd': "dbname", 'h': "host", 'p': "port", 'U': "username", 'W': "password", 'j': "jobs", 'Z': "compress", 'V': "version", '?': "help"}

func lookupLong(name string) (option, bool) {
	for _, o := range allowed {
		if o.long == name {
			return o, true
		}
	}
	return option{}, false
}

func lookupShort(c byte) (option, bool) {
	for _, o := range allowed {
		if o.short == c && c != 0 {
			return o, true
		}
	}
	return option{}, false
}

// optError is a refused option; index is its position in opts.
type optError struct {
	index int
	msg   string
}

func (e *optError) Error() string { return e.msg }

// checkOpts validates opts the way pg_dump's getopt_long will read them:
// long options exactly by name (with "=value" or the next element as
// the value), short ones clustered ("-Ox") with a value glued on or in
// the next element. No positional argument is allowed, nor "--".
func checkOpts(opts []string) error {
	for i := 0; i < len(opts); i++ {
		a := opts[i]
		if strings.IndexByte(a, 0) >= 0 {
			return &optError{i, fmt.Sprintf("option %q contains a NUL character", a)}
		}
		switch {
		case a == "--":
			return &optError{i, `"--" is not allowed`}
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			o, ok := lookupLong(name)
			if !ok {
				if why, known := refused[name]; known {
					return &optError{i, fmt.Sprintf("pg_dump option %q is not allowed: %s", "--"+name, why)}
				}
				return &optError{i, fmt.Sprintf("pg_dump option %q is not supported", "--"+name)}
			}
			if !o.value {
				if hasVal {
					return &optError{i, fmt.Sprintf("pg_dump option %q takes no value", "--"+name)}
				}
				continue
			}
			if !hasVal {
				if i+1 >= len(opts) {
					return &optError{i, fmt.Sprintf("pg_dump option %q needs a value", "--"+name)}
				}
				i++
				val = opts[i]
				if strings.IndexByte(val, 0) >= 0 {
					return &optError{i, fmt.Sprintf("option %q contains a NUL character", val)}
				}
			}
			if err := checkValue(o, val, i); err != nil {
				return err
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				c := a[j]
				o, ok := lookupShort(c)
				if !ok {
					if long, known := shortRefused[c]; known {
						return &optError{i, fmt.Sprintf("pg_dump option %q is not allowed: %s", "-"+string(c), refused[long])}
					}
					return &optError{i, fmt.Sprintf("pg_dump option %q is not supported", "-"+string(c))}
				}
				if !o.value {
					continue
				}
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(opts) {
						return &optError{i, fmt.Sprintf("pg_dump option %q needs a value", "-"+string(c))}
					}
					i++
					val = opts[i]
					if strings.IndexByte(val, 0) >= 0 {
						return &optError{i, fmt.Sprintf("option %q contains a NUL character", val)}
					}
				}
				if err := checkValue(o, val, i); err != nil {
					return err
				}
				break
			}
		default:
			return &optError{i, fmt.Sprintf("argument %q is not an option: the database dumped is the source's", a)}
		}
	}
	return nil
}

func checkValue(o option, val string, i int) error {
	if o.long == "format" && !strings.EqualFold(val, "p") && !strings.EqualFold(val, "plain") {
		return &optError{i, fmt.Sprintf("pg_dump format %q is not allowed: only the plain text format is supported", val)}
	}
	return nil
}
