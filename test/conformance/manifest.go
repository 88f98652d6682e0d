package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Manifest is a manifest.json such as ../shared/conformance/hasura/manifest.json: which test
// classes exist upstream and how they use the case files. See the README
// next to it for the format.
type Manifest struct {
	Source  string  `json:"source"`
	Classes []Class `json:"classes"`

	dir string // the manifest's directory: every path in it is relative to this
}

// Class is one pytest class.
type Class struct {
	File       string                     `json:"file"`
	Name       string                     `json:"class"`
	Dir        string                     `json:"dir"`
	Fixtures   []string                   `json:"fixtures"`
	Transports []string                   `json:"transports"`
	Marks      []string                   `json:"class_marks"`
	XFail      Flag                       `json:"xfail"`
	Skip       Flag                       `json:"skip"`
	Attrs      map[string]json.RawMessage `json:"attrs"`
	Setup      map[string]string          `json:"setup"`
	Tests      []Test                     `json:"tests"`
}

// Test is one test method.
type Test struct {
	Name       string    `json:"name"`
	Cases      []CaseRef `json:"cases"`
	Replayable bool      `json:"replayable"`
	XFail      Flag      `json:"xfail"`
	Skip       Flag      `json:"skip"`
	Marks      []string  `json:"marks"`
}

// CaseRef is one check_query_f call of the test: a case file and how it is
// sent.
type CaseRef struct {
	File      string `json:"file"`
	Transport string `json:"transport"` // "http", "$transport", ...
	AddAuth   bool   `json:"add_auth"`
	GQLWS     bool   `json:"gqlws"`
}

// Flag is a pytest skip/xfail: false/null, true, or a reason string.
type Flag struct {
	Set    bool
	Reason string
}

func (f *Flag) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*f = Flag{}
	case bool:
		*f = Flag{Set: v}
	case string:
		*f = Flag{Set: v != "", Reason: v}
	default:
		return fmt.Errorf("want a boolean or a reason string, got %s", b)
	}
	return nil
}

// describe is the skip reason for a set flag.
func (f Flag) describe(what string) string {
	if f.Reason != "" {
		return what + ": " + f.Reason
	}
	return what
}

// LoadManifest reads and checks a manifest. Errors here are usage errors:
// the runner cannot say anything honest about a manifest it cannot read.
func LoadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if m.Classes == nil {
		return nil, fmt.Errorf("%s: no \"classes\" list", path)
	}
	for i, c := range m.Classes {
		if c.Name == "" {
			return nil, fmt.Errorf("%s: class #%d has no \"class\" name", path, i+1)
		}
		for j, t := range c.Tests {
			if t.Name == "" {
				return nil, fmt.Errorf("%s: %s: test #%d has no \"name\"", path, c.Name, j+1)
			}
			for k, r := range t.Cases {
				if r.File == "" {
					return nil, fmt.Errorf("%s: %s.%s: case #%d has no \"file\"", path, c.Name, t.Name, k+1)
				}
			}
		}
		for a, raw := range c.Attrs { // setup_files, teardown_files, schema_setup_files...
			if strings.HasSuffix(a, "_files") {
				if _, err := fileList(raw); err != nil {
					return nil, fmt.Errorf("%s: %s: attrs.%s: %v", path, c.Name, a, err)
				}
			}
		}
	}
	m.dir = filepath.Dir(path)
	return &m, nil
}

// Path resolves a manifest-relative path.
func (m *Manifest) Path(rel string) string {
	return filepath.Join(m.dir, filepath.FromSlash(rel))
}

// fileList reads an attrs value that is a file name or a list of them.
func fileList(raw json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("want a file name or a list of file names")
	}
	return many, nil
}

// attrString reads a string-valued class attribute ("" if absent).
func (c *Class) attrString(name string) string {
	var s string
	if raw, ok := c.Attrs[name]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

// hasFixture reports whether the class uses a pytest fixture.
func (c *Class) hasFixture(name string) bool {
	for _, f := range c.Fixtures {
		if f == name {
			return true
		}
	}
	return false
}

// transports is the class's transport list; a class without one runs on
// http, as pytest would without the parametrisation.
func (c *Class) transports() []string {
	if len(c.Transports) == 0 {
		return []string{"http"}
	}
	return c.Transports
}

// expand turns a case's transport into the concrete ones: "$transport"
// stands for each of the class's transports.
func (c *Class) expand(transport string) []string {
	if transport == "$transport" {
		return c.transports()
	}
	if transport == "" {
		return []string{"http"}
	}
	return []string{transport}
}

// Marks. Only two change how the engine runs; the rest are listed under -v.

// envVar is one hge_env setting.
type envVar struct{ Name, Value string }

// engineMarks is what a class's marks ask of the engine.
type engineMarks struct {
	AdminSecret bool
	Env         []envVar
	Unknown     []string
}

var (
	hgeEnvMark = regexp.MustCompile(`^pytest\.mark\.hge_env\(\s*(?:'([^']*)'|"([^"]*)")\s*,\s*(?:'([^']*)'|"([^"]*)")\s*\)$`)
)

// parseMarks reads marks like `pytest.mark.admin_secret` and
// `pytest.mark.hge_env('HASURA_GRAPHQL_UNAUTHORIZED_ROLE', 'anonymous')`.
func parseMarks(marks []string) engineMarks {
	var em engineMarks
	for _, raw := range marks {
		m := strings.TrimSpace(raw)
		if m == "pytest.mark.admin_secret" {
			em.AdminSecret = true
			continue
		}
		if g := hgeEnvMark.FindStringSubmatch(m); g != nil {
			em.Env = append(em.Env, envVar{Name: g[1] + g[2], Value: g[3] + g[4]})
			continue
		}
		em.Unknown = append(em.Unknown, raw)
	}
	sort.SliceStable(em.Env, func(i, j int) bool { return em.Env[i].Name < em.Env[j].Name })
	return em
}
