package metadata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/strata-dev/strata/engine/aeson"
)

// SourceCustomization is a source's `customization`, as Hasura reads it
// (RQL/Types/SourceCustomization.hs): root field names get a prefix and
// a suffix and may all go under one namespace field; type names get a
// prefix and a suffix. Hasura has no `mapping` for a source's type names
// (remote schemas have one): like any key it does not know, it is
// dropped.
type SourceCustomization struct {
	RootFields *RootFieldsCustomization `json:"root_fields,omitempty"`
	TypeNames  *TypeNamesCustomization  `json:"type_names,omitempty"`
	// NamingConvention is kept as given; like Hasura without its
	// naming_convention experimental feature, names stay hasura-default.
	NamingConvention *string `json:"naming_convention,omitempty"`
}

// RootFieldsCustomization is `customization.root_fields`.
type RootFieldsCustomization struct {
	Namespace *string `json:"namespace,omitempty"`
	Prefix    *string `json:"prefix,omitempty"`
	Suffix    *string `json:"suffix,omitempty"`
}

// TypeNamesCustomization is `customization.type_names`.
type TypeNamesCustomization struct {
	Prefix *string `json:"prefix,omitempty"`
	Suffix *string `json:"suffix,omitempty"`
}

// Namespace is the namespace field of the source's root fields, "" for
// none.
func (c SourceCustomization) Namespace() string {
	if c.RootFields == nil {
		return ""
	}
	return deref(c.RootFields.Namespace)
}

// RootFieldName is a root field's name with the prefix and suffix.
func (c SourceCustomization) RootFieldName(name string) string {
	if c.RootFields == nil {
		return name
	}
	return deref(c.RootFields.Prefix) + name + deref(c.RootFields.Suffix)
}

// TypeAffixes are the type names' prefix and suffix ("" when none).
func (c SourceCustomization) TypeAffixes() (prefix, suffix string) {
	if c.TypeNames == nil {
		return "", ""
	}
	return deref(c.TypeNames.Prefix), deref(c.TypeNames.Suffix)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// namingConventions are the values naming_convention takes.
var namingConventions = map[string]bool{"hasura-default": true, "graphql-default": true}

// graphqlName is a GraphQL name (the prefixes and suffixes must be one
// too, as Hasura parses them as G.Name).
var graphqlName = regexp.MustCompile(`^[_A-Za-z][_0-9A-Za-z]*$`)

// ParseSourceCustomization reads and checks a source's customization;
// absent or null is the empty one. The error is a *ParseError whose path
// is relative to the customization ("$" itself, "$.root_fields.prefix").
func ParseSourceCustomization(raw json.RawMessage) (SourceCustomization, error) {
	var c SourceCustomization
	if isNull(raw) {
		return c, nil
	}
	fields, err := objectFields(raw, "$", "SourceCustomization")
	if err != nil {
		return c, err
	}
	if v := fields["root_fields"]; !isNull(v) {
		rf, err := objectFields(v, "$.root_fields", "RootFieldsCustomization")
		if err != nil {
			return c, err
		}
		c.RootFields = &RootFieldsCustomization{}
		for key, dst := range map[string]**string{"namespace": &c.RootFields.Namespace, "prefix": &c.RootFields.Prefix, "suffix": &c.RootFields.Suffix} {
			if *dst, err = optName(rf[key], "$.root_fields."+key); err != nil {
				return c, err
			}
		}
	}
	if v := fields["type_names"]; !isNull(v) {
		tn, err := objectFields(v, "$.type_names", "SourceTypeCustomization")
		if err != nil {
			return c, err
		}
		c.TypeNames = &TypeNamesCustomization{}
		for key, dst := range map[string]**string{"prefix": &c.TypeNames.Prefix, "suffix": &c.TypeNames.Suffix} {
			if *dst, err = optName(tn[key], "$.type_names."+key); err != nil {
				return c, err
			}
		}
	}
	if v := fields["naming_convention"]; !isNull(v) {
		var s string
		if aeson.Kind(v) != "String" || json.Unmarshal(v, &s) != nil {
			return c, &ParseError{"$.naming_convention", "parsing NamingCase failed, expected String, but encountered " + aeson.Kind(v)}
		}
		if !namingConventions[s] {
			return c, &ParseError{"$.naming_convention", `naming_convention can either be "hasura-default" or "graphql-default"`}
		}
		c.NamingConvention = &s
	}
	return c, nil
}

// NormalizeSourceCustomization is the customization as Hasura keeps it:
// nulls and unknown keys dropped; nil when it is empty, which Hasura
// leaves out of the metadata.
func NormalizeSourceCustomization(raw json.RawMessage) (json.RawMessage, error) {
	c, err := ParseSourceCustomization(raw)
	if err != nil {
		return nil, err
	}
	if c == (SourceCustomization{}) {
		return nil, nil
	}
	return json.Marshal(c)
}

func objectFields(raw json.RawMessage, path, what string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if aeson.Kind(raw) != "Object" || json.Unmarshal(raw, &m) != nil {
		return nil, &ParseError{path, fmt.Sprintf("parsing %s failed, expected Object, but encountered %s", what, aeson.Kind(raw))}
	}
	return m, nil
}

// optName reads an optional GraphQL name.
func optName(raw json.RawMessage, path string) (*string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var s string
	if aeson.Kind(raw) != "String" || json.Unmarshal(bytes.TrimSpace(raw), &s) != nil {
		return nil, &ParseError{path, "parsing Name failed, expected String, but encountered " + aeson.Kind(raw)}
	}
	if !graphqlName.MatchString(s) {
		return nil, &ParseError{path, s + " is not valid GraphQL name"}
	}
	return &s, nil
}
