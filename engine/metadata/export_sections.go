package metadata

// The top-level sections Strata keeps verbatim, rebuilt on export as
// Hasura's metadataToOrdJSON does (Hasura.RQL.Types.Metadata and
// .Metadata.Serialization): which lists are sorted and by what, the key
// order of each object, which defaults are filled in and which are left
// out.

import (
	"bytes"
	"encoding/json"
)

// section exports one top-level section from its decoded value; false
// leaves it out, as Hasura does with an empty or default one.
type section func(v any) (any, bool)

// sectionExports holds, by key, the sections rebuilt on export. A section
// not listed is written as it is, compacted.
var sectionExports = map[string]section{
	"remote_schemas":               nonEmptyList(sortedBy("name", remoteSchema)),
	"query_collections":            nonEmptyList(sortedBy("name", queryCollection)),
	"allowlist":                    nonEmptyList(sortedBy("collection", allowlistEntry)),
	"actions":                      nonEmptyList(sortedBy("name", action)),
	"custom_types":                 customTypes,
	"cron_triggers":                nonEmptyList(sortedBy("name", cronTrigger)),
	"rest_endpoints":               nonEmptyList(sortedBy("url", restEndpoint)),
	"api_limits":                   apiLimits,
	"metrics_config":               metricsConfig,
	"inherited_roles":              nonEmptyList(sortedBy("role_name", inheritedRole)),
	"graphql_schema_introspection": introspectionOptions,
	"network":                      network,
	"backend_configs":              nonEmptyValue,
	"opentelemetry":                openTelemetry,
}

// exportSection rebuilds a verbatim section; nil means leave it out.
func exportSection(key string, raw json.RawMessage) (json.RawMessage, error) {
	if isEmptyJSON(raw) {
		return nil, nil
	}
	exp, ok := sectionExports[key]
	if !ok {
		return compact(raw)
	}
	return exportRaw(raw, exp)
}

// exportRaw decodes raw, exports it and encodes the result; raw that does
// not decode is kept as it is.
func exportRaw(raw json.RawMessage, exp section) (json.RawMessage, error) {
	v, err := decodeValue(raw)
	if err != nil {
		return compact(raw)
	}
	out, keep := exp(v)
	if !keep {
		return nil, nil
	}
	return marshalValue(out)
}

// compact is raw without insignificant whitespace.
func compact(raw json.RawMessage) (json.RawMessage, error) {
	var c bytes.Buffer
	if err := json.Compact(&c, raw); err != nil {
		return nil, err
	}
	return c.Bytes(), nil
}

// nonEmptyList is a list section: left out when empty (Hasura's
// listToMaybeArraySort), each element exported by c.
func nonEmptyList(c conv) section {
	return func(v any) (any, bool) {
		if l, ok := v.([]any); v == nil || ok && len(l) == 0 {
			return nil, false
		}
		return c(v), true
	}
}

// nonEmptyValue is a plain aeson value, left out when null, {} or [].
func nonEmptyValue(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case map[string]any:
		return x, len(x) > 0
	case []any:
		return x, len(x) > 0
	}
	return v, true
}

// ---- remote schemas (Hasura.RemoteSchema.Metadata.Core) ----

// remoteSchema: remoteSchemaQToOrdJSON.
var remoteSchema = inOrder(
	required("name", asIs),
	required("definition", remoteSchemaDef),
	optional("comment", asIs),
	nonEmpty("permissions", listOf(inOrder(
		required("role", asIs),
		// RemoteSchemaPermissionDefinition: {schema}. Hasura reprints
		// the SDL with its own printer; the text is kept as written.
		required("definition", asIs),
		optional("comment", asIs),
	))),
	nonEmpty("remote_relationships", asIs),
)

// remoteSchemaDef: remoteSchemaDefToOrdJSON.
var remoteSchemaDef = inOrder(
	optional("url", asIs),
	optional("url_from_env", asIs),
	optional("timeout_seconds", integer),
	optional("customization", remoteSchemaCustomization),
	nonEmpty("headers", listOf(headerConf)),
	onlyIfTrue("forward_client_headers"),
)

// remoteSchemaCustomization: generic encoding, Nothing fields omitted,
// mapping defaulting to {}.
var remoteSchemaCustomization = keySorted(
	optional("root_fields_namespace", asIs),
	optional("type_names", keySorted(
		optional("prefix", asIs),
		optional("suffix", asIs),
		defaulted("mapping", map[string]any{}, asIs),
	)),
	optional("field_names", listOf(keySorted(
		required("parent_type", asIs),
		optional("prefix", asIs),
		optional("suffix", asIs),
		defaulted("mapping", map[string]any{}, asIs),
	))),
)

// headerConf: {name, value} or {name, value_from_env}.
var headerConf = keySorted(
	required("name", asIs),
	optional("value", asIs),
	optional("value_from_env", asIs),
)

// ---- query collections, allowlist, REST endpoints, inherited roles ----

// queryCollection: createCollectionToOrdJSON; the definition ({queries:
// [{name, query}]}) goes through aeson.
var queryCollection = inOrder(
	required("name", asIs),
	required("definition", asIs),
	optional("comment", asIs),
)

// allowlistEntry: aeson's generic encoding of AllowlistEntry, whose scope
// defaults to global.
var allowlistEntry = keySorted(
	required("collection", asIs),
	defaulted("scope", map[string]any{"global": true}, asIs),
)

// restEndpoint: aeson's generic encoding of EndpointMetadata: comment is
// written, null when absent.
var restEndpoint = keySorted(
	required("name", asIs),
	required("url", asIs),
	required("methods", asIs),
	required("definition", asIs),
	nullable("comment", asIs),
)

// inheritedRole: inheritedRolesQToOrdJSON. Hasura keeps role_set in a
// HashSet and writes it in hash order, which is not reproduced: the list
// is kept as given.
var inheritedRole = inOrder(
	required("role_name", asIs),
	required("role_set", asIs),
)

// ---- settings ----

// apiLimits: ApiLimit's generic encoding (Nothing omitted, disabled
// always written), left out when equal to emptyApiLimit.
func apiLimits(v any) (any, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		return v, true
	}
	rate := limitOf(keySorted(
		required("max_reqs_per_min", integer),
		nullable("unique_params", asIs),
	))
	other := limitOf(integer)
	out := keySortedObject(obj, []field{
		optional("rate_limit", rate),
		optional("depth_limit", other),
		optional("node_limit", other),
		optional("time_limit", other),
		optional("batch_limit", other),
		defaulted("disabled", false, asIs),
	})
	if len(out) == 1 && out["disabled"] == false {
		return nil, false
	}
	return out, true
}

// limitOf: Limit {global, per_role (default {})}, c exporting each value.
func limitOf(c conv) conv {
	return keySorted(
		required("global", c),
		defaulted("per_role", map[string]any{}, func(v any) any {
			m, ok := v.(map[string]any)
			if !ok {
				return v
			}
			out := make(map[string]any, len(m))
			for k, x := range m {
				out[k] = c(x)
			}
			return out
		}),
	)
}

// metricsConfig: left out when both flags are false (emptyMetricsConfig).
func metricsConfig(v any) (any, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		return v, true
	}
	out := keySortedObject(obj, []field{
		defaulted("analyze_query_variables", false, asIs),
		defaulted("analyze_response_body", false, asIs),
	})
	if len(out) == 2 && out["analyze_query_variables"] == false && out["analyze_response_body"] == false {
		return nil, false
	}
	return out, true
}

// introspectionOptions: {disabled_for_roles}, left out when no role is
// listed. Hasura writes the roles in HashSet order; they are kept as given.
func introspectionOptions(v any) (any, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		return v, true
	}
	out := keySortedObject(obj, []field{defaulted("disabled_for_roles", []any{}, asIs)})
	if roles, ok := out["disabled_for_roles"].([]any); ok && len(roles) == 0 && len(out) == 1 {
		return nil, false
	}
	return out, true
}

// network: {tls_allowlist}, left out when the list is empty; an entry is
// a host name or {host, suffix, permissions}, written as the object with
// nulls.
func network(v any) (any, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		return v, true
	}
	tlsAllow := func(v any) any {
		if host, ok := v.(string); ok {
			v = map[string]any{"host": host}
		}
		return keySorted(
			required("host", asIs),
			nullable("suffix", asIs),
			nullable("permissions", asIs),
		)(v)
	}
	out := keySortedObject(obj, []field{defaulted("tls_allowlist", []any{}, listOf(tlsAllow))})
	if l, ok := out["tls_allowlist"].([]any); ok && len(l) == 0 && len(out) == 1 {
		return nil, false
	}
	return out, true
}

// openTelemetry: openTelemetryConfigToOrdJSON's key order. Hasura fills in
// the defaults of each part; those are not reproduced here.
func openTelemetry(v any) (any, bool) {
	if _, ok := nonEmptyValue(v); !ok {
		return nil, false
	}
	return inOrder(
		required("status", asIs),
		required("data_types", asIs),
		required("exporter_otlp", asIs),
		required("batch_span_processor", asIs),
	)(v), true
}
