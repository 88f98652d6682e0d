package metadata

// Actions and custom types as Hasura exports them
// (actionMetadataToOrdJSONList and customTypesToOrdJSON in
// Hasura.RQL.Types.Metadata.Serialization; defaults from the FromJSON
// instances in Hasura.RQL.Types.Action and .CustomTypes).

// action: actionMetadataToOrdJSON.
var action = inOrder(
	required("name", asIs),
	required("definition", actionDefinition),
	optional("comment", asIs),
	nonEmpty("permissions", listOf(inOrder(
		required("role", asIs),
		optional("comment", asIs),
	))),
)

// commonClientHeadersIgnored is the default of ignored_client_headers
// (Hasura.Authentication.Headers), which Hasura always writes.
var commonClientHeadersIgnored = []any{
	"Content-Length", "Content-MD5", "User-Agent", "Host", "Origin", "Referer",
	"Accept", "Accept-Encoding", "Accept-Language", "Accept-Datetime",
	"Cache-Control", "Connection", "DNT", "Content-Type",
}

// actionDefinition: actionDefinitionToOrdJSON. type defaults to mutation,
// a mutation's kind to synchronous (a query has none); timeout is written
// only when not the default 30 seconds.
func actionDefinition(v any) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return v
	}
	typ := obj["type"]
	if typ == nil {
		typ = "mutation"
	}
	typeAndKind := []field{{"type", func(any, bool) (any, bool) { return typ, true }}}
	switch typ {
	case "mutation":
		typeAndKind = append(typeAndKind, defaulted("kind", "synchronous", asIs))
	case "query":
		// Hasura reads no kind for a query and so writes none.
		typeAndKind = append(typeAndKind, field{"kind", func(any, bool) (any, bool) { return nil, false }})
	}
	fields := []field{
		required("handler", asIs),
		required("output_type", graphQLType),
		onlyIfTrue("forward_client_headers"),
		defaulted("ignored_client_headers", commonClientHeadersIgnored, asIs),
		nonEmpty("headers", listOf(headerConf)),
		nonEmpty("arguments", listOf(inOrder(
			required("name", asIs),
			required("type", graphQLType),
			optional("description", asIs),
		))),
		optional("request_transform", requestTransform),
		optional("response_transform", responseTransform),
	}
	fields = append(fields, typeAndKind...)
	fields = append(fields, unlessDefault("timeout", num("30"), integer))
	return inOrderObject(obj, fields)
}

// customTypes: customTypesToOrdJSON, left out when it has no type. The
// lists keep their order (Hasura does not sort them).
func customTypes(v any) (any, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		return v, true
	}
	out := inOrderObject(obj, []field{
		nonEmpty("input_objects", listOf(inputObjectType)),
		nonEmpty("objects", listOf(objectType)),
		nonEmpty("scalars", listOf(scalarType)),
		nonEmpty("enums", listOf(enumType)),
	})
	return out, len(out) > 0
}

// inputObjectType: inputObjectToOrdJSON (description after fields).
var inputObjectType = inOrder(
	required("name", asIs),
	required("fields", listOf(inOrder(
		required("name", asIs),
		required("type", graphQLType),
		optional("description", asIs),
	))),
	optional("description", asIs),
)

// objectType: objectTypeToOrdJSON.
var objectType = inOrder(
	required("name", asIs),
	required("fields", listOf(inOrder(
		required("name", asIs),
		required("type", graphQLType),
		optional("arguments", asIs),
		optional("description", asIs),
	))),
	optional("description", asIs),
	nonEmpty("relationships", listOf(typeRelationship)),
)

// typeRelationship: TypeRelationshipDefinition through aeson's derived
// encoder; source defaults to "default", remote_table is a qualified
// table.
var typeRelationship = keySorted(
	required("name", asIs),
	required("type", asIs),
	defaulted("source", "default", asIs),
	required("remote_table", qualifiedTable),
	required("field_mapping", asIs),
)

// scalarType: scalarTypeToOrdJSON.
var scalarType = inOrder(
	required("name", asIs),
	optional("description", asIs),
)

// enumType: enumTypeToOrdJSON. Its values go through aeson's derived
// encoder, which writes Nothing as null: description and is_deprecated
// are always there.
var enumType = inOrder(
	required("name", asIs),
	required("values", listOf(keySorted(
		required("value", asIs),
		nullable("description", asIs),
		nullable("is_deprecated", asIs),
	))),
	optional("description", asIs),
)

// qualifiedTable: "name" or {schema, name}, written as {name, schema}
// with schema defaulting to public.
func qualifiedTable(v any) any {
	switch x := v.(type) {
	case string:
		return map[string]any{"name": x, "schema": "public"}
	case map[string]any:
		return keySortedObject(x, []field{
			required("name", asIs),
			defaulted("schema", "public", asIs),
		})
	}
	return v
}
