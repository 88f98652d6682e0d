package main

import (
	"encoding/json"
	"fmt"
	"testing"
)

func stepList(ss []step) string {
	out := ""
	for _, s := range ss {
		out += fmt.Sprintf("%s>%s ", s.File, s.Endpoint)
	}
	return out
}

func TestSetupTeardownRules(t *testing.T) {
	all := map[string]string{
		"setup": "d/setup.yaml", "teardown": "d/teardown.yaml",
		"schema_setup": "d/schema_setup.yaml", "schema_teardown": "d/schema_teardown.yaml",
		"values_setup": "d/values_setup.yaml", "values_teardown": "d/values_teardown.yaml",
	}
	for _, tc := range []struct {
		name                    string
		fixtures                []string
		attrs                   string
		classSetup, classTear   string
		methodSetup, methodTear string
	}{
		{"per class", []string{"per_class_tests_db_state"}, `{}`,
			"d/setup.yaml>/v1/query ", "d/teardown.yaml>/v1/query ", "", ""},
		{"per method", []string{"per_method_tests_db_state"}, `{}`,
			"", "", "d/setup.yaml>/v1/query ", "d/teardown.yaml>/v1/query "},
		{"v2", []string{"per_class_tests_db_state"}, `{"setup_metadata_api_version": "v2"}`,
			"d/schema_setup.yaml>/v2/query d/setup.yaml>/v1/metadata ",
			"d/teardown.yaml>/v1/metadata d/schema_teardown.yaml>/v2/query ", "", ""},
		{"mutation", []string{"per_class_db_schema_for_mutation_tests", "per_method_db_data_for_mutation_tests"}, `{}`,
			"d/schema_setup.yaml>/v1/query ", "d/schema_teardown.yaml>/v1/query ",
			"d/values_setup.yaml>/v1/query ", "d/values_teardown.yaml>/v1/query "},
		{"attrs override", []string{"per_class_tests_db_state"}, `{"setup_files": ["a.yaml", "b.yaml"], "teardown_files": "c.yaml"}`,
			"a.yaml>/v1/query b.yaml>/v1/query ", "c.yaml>/v1/query ", "", ""},
		{"postgis only", []string{"postgis"}, `{}`, "", "", "", ""},
	} {
		c := &Class{Name: tc.name, Fixtures: tc.fixtures, Setup: all}
		if err := json.Unmarshal([]byte(tc.attrs), &c.Attrs); err != nil {
			t.Fatal(err)
		}
		cs, ms := classScope(c), methodScope(c)
		if got := stepList(cs.Setup); got != tc.classSetup {
			t.Errorf("%s: class setup %q, want %q", tc.name, got, tc.classSetup)
		}
		if got := stepList(cs.Teardown); got != tc.classTear {
			t.Errorf("%s: class teardown %q, want %q", tc.name, got, tc.classTear)
		}
		if got := stepList(ms.Setup); got != tc.methodSetup {
			t.Errorf("%s: method setup %q, want %q", tc.name, got, tc.methodSetup)
		}
		if got := stepList(ms.Teardown); got != tc.methodTear {
			t.Errorf("%s: method teardown %q, want %q", tc.name, got, tc.methodTear)
		}
	}
	// A file missing from the setup map is skipped.
	c := &Class{Fixtures: []string{"per_class_tests_db_state"}, Setup: map[string]string{"teardown": "d/teardown.yaml"}}
	if cs := classScope(c); len(cs.Setup) != 0 || len(cs.Teardown) != 1 {
		t.Errorf("missing setup: %+v", cs)
	}
}
