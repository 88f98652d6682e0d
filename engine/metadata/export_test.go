package metadata

import (
	"encoding/json"
	"strings"
	"testing"
)

// ignoredHeaders is Hasura's default ignored_client_headers, which its
// export always writes for an action.
const ignoredHeaders = `"ignored_client_headers":["Content-Length","Content-MD5","User-Agent","Host","Origin","Referer","Accept","Accept-Encoding","Accept-Language","Accept-Datetime","Cache-Control","Connection","DNT","Content-Type"]`

// Each case is a section as the Hasura CLI sends it (keys sorted
// alphabetically, lists in file order, defaults spelled out) and the
// exact bytes Hasura's export_metadata writes for it, worked out from
// Hasura.RQL.Types.Metadata.Serialization and the types' FromJSON
// instances.
var sectionCases = []struct {
	name, in, want string
}{
	{
		name: "cron triggers: sorted by name, Hasura's key order, default retry_conf dropped, payload keys sorted",
		in: `"cron_triggers":[
			{"comment":null,"headers":[],"include_in_metadata":true,"name":"b","payload":{"z":1,"a":{"y":2,"b":3}},
			 "retry_conf":{"num_retries":0,"retry_interval_seconds":10,"timeout_seconds":60,"tolerance_seconds":21600},"schedule":"* * * * *","webhook":"http://x"},
			{"comment":"c","headers":[{"name":"h","value":"v"}],"include_in_metadata":true,"name":"a","retry_conf":{"num_retries":3},"schedule":"0 0 * * *","webhook":"{{URL}}/a"}]`,
		want: `"cron_triggers":[` +
			`{"name":"a","webhook":"{{URL}}/a","schedule":"0 0 * * *","include_in_metadata":true,` +
			`"retry_conf":{"num_retries":3,"retry_interval_seconds":10,"timeout_seconds":60,"tolerance_seconds":21600},` +
			`"headers":[{"name":"h","value":"v"}],"comment":"c"},` +
			`{"name":"b","webhook":"http://x","schedule":"* * * * *","include_in_metadata":true,"payload":{"a":{"b":3,"y":2},"z":1}}]`,
	},
	{
		name: "cron triggers: retry_conf equal to the default in any spelling is dropped",
		in: `"cron_triggers":[
			{"include_in_metadata":true,"name":"a","retry_conf":{},"schedule":"* * * * *","webhook":"w"},
			{"include_in_metadata":true,"name":"b","retry_conf":null,"schedule":"* * * * *","webhook":"w"},
			{"include_in_metadata":true,"name":"c","retry_conf":{"retry_interval_seconds":10.0,"tolerance_seconds":2.16e4},"schedule":"* * * * *","webhook":"w"},
			{"include_in_metadata":false,"name":"d","retry_conf":{"tolerance_seconds":3600},"schedule":"* * * * *","webhook":"w","request_transform":{"url":"{{$base_url}}/x","method":"GET"}}]`,
		want: `"cron_triggers":[` +
			`{"name":"a","webhook":"w","schedule":"* * * * *","include_in_metadata":true},` +
			`{"name":"b","webhook":"w","schedule":"* * * * *","include_in_metadata":true},` +
			`{"name":"c","webhook":"w","schedule":"* * * * *","include_in_metadata":true},` +
			`{"name":"d","webhook":"w","schedule":"* * * * *","include_in_metadata":false,` +
			`"retry_conf":{"num_retries":0,"retry_interval_seconds":10,"timeout_seconds":60,"tolerance_seconds":3600},` +
			`"request_transform":{"method":"GET","template_engine":"Kriti","url":"{{$base_url}}/x","version":1}}]`,
	},
	{
		name: "cron triggers: unknown keys are kept after the known ones",
		in:   `"cron_triggers":[{"include_in_metadata":true,"name":"a","schedule":"* * * * *","webhook":"w","zz_extra":{"b":1,"a":2},"aa_extra":1}]`,
		want: `"cron_triggers":[{"name":"a","webhook":"w","schedule":"* * * * *","include_in_metadata":true,"aa_extra":1,"zz_extra":{"a":2,"b":1}}]`,
	},
	{
		name: "remote schemas: sorted by name, definition in Hasura's order, defaults dropped",
		in: `"remote_schemas":[
			{"comment":"c","definition":{"customization":{"root_fields_namespace":"ns","type_names":{"prefix":"P_"}},"forward_client_headers":true,
			  "headers":[{"name":"a","value":"b"}],"timeout_seconds":60,"url":"http://r"},
			 "name":"zz","permissions":[{"definition":{"schema":"type Query { a: Int }"},"role":"user"}]},
			{"definition":{"forward_client_headers":false,"headers":[],"url_from_env":"RS_URL"},"name":"aa","permissions":[],"remote_relationships":[]}]`,
		want: `"remote_schemas":[` +
			`{"name":"aa","definition":{"url_from_env":"RS_URL"}},` +
			`{"name":"zz","definition":{"url":"http://r","timeout_seconds":60,` +
			`"customization":{"root_fields_namespace":"ns","type_names":{"mapping":{},"prefix":"P_"}},` +
			`"headers":[{"name":"a","value":"b"}],"forward_client_headers":true},` +
			`"comment":"c","permissions":[{"role":"user","definition":{"schema":"type Query { a: Int }"}}]}]`,
	},
	{
		name: "actions: sorted by name, definition in Hasura's order with its defaults",
		in: `"actions":[
			{"definition":{"arguments":[{"description":null,"name":"x","type":"Int !"}],"handler":"http://h","kind":"asynchronous","output_type":"[Out!]","type":"mutation"},
			 "name":"b","permissions":[{"role":"user"}]},
			{"comment":"q","definition":{"forward_client_headers":true,"handler":"{{H}}","headers":[{"name":"h","value_from_env":"E"}],"kind":"synchronous",
			  "output_type":"Out","timeout":30,"type":"query"},"name":"a"},
			{"definition":{"handler":"h","output_type":"Out","timeout":5,"ignored_client_headers":[],
			  "request_transform":{"body":{"action":"transform","template":"{}"},"method":"POST","version":2}},"name":"c"}]`,
		want: `"actions":[` +
			`{"name":"a","definition":{"handler":"{{H}}","output_type":"Out","forward_client_headers":true,` + ignoredHeaders + `,` +
			`"headers":[{"name":"h","value_from_env":"E"}],"type":"query"},"comment":"q"},` +
			`{"name":"b","definition":{"handler":"http://h","output_type":"[Out!]",` + ignoredHeaders + `,` +
			`"arguments":[{"name":"x","type":"Int!"}],"type":"mutation","kind":"asynchronous"},"permissions":[{"role":"user"}]},` +
			`{"name":"c","definition":{"handler":"h","output_type":"Out","ignored_client_headers":[],` +
			`"request_transform":{"body":{"action":"transform","template":"{}"},"method":"POST","template_engine":"Kriti","version":2},` +
			`"type":"mutation","kind":"synchronous","timeout":5}}]`,
	},
	{
		name: "custom types: Hasura's key order, descriptions left out when null, enum values with nulls",
		in: `"custom_types":{
			"enums":[{"name":"E","values":[{"value":"A"},{"description":"b","is_deprecated":true,"value":"B"}]}],
			"input_objects":[{"description":"in","fields":[{"name":"f","type":"Int"}],"name":"I"}],
			"objects":[{"fields":[{"arguments":null,"name":"id","type":"Int!"}],"name":"Out",
			  "relationships":[{"field_mapping":{"id":"id"},"name":"r","remote_table":"t","type":"object"}]}],
			"scalars":[{"description":null,"name":"S"}]}`,
		want: `"custom_types":{` +
			`"input_objects":[{"name":"I","fields":[{"name":"f","type":"Int"}],"description":"in"}],` +
			`"objects":[{"name":"Out","fields":[{"name":"id","type":"Int!"}],` +
			`"relationships":[{"field_mapping":{"id":"id"},"name":"r","remote_table":{"name":"t","schema":"public"},"source":"default","type":"object"}]}],` +
			`"scalars":[{"name":"S"}],` +
			`"enums":[{"name":"E","values":[{"description":null,"is_deprecated":null,"value":"A"},{"description":"b","is_deprecated":true,"value":"B"}]}]}`,
	},
	{
		name: "custom types: all lists empty leaves the section out",
		in:   `"custom_types":{"enums":[],"input_objects":[],"objects":[],"scalars":[]}`,
		want: ``,
	},
	{
		name: "query collections sorted by name, allowlist by collection with its default scope",
		in: `"allowlist":[{"collection":"z","scope":{"global":false,"roles":["r"]}},{"collection":"a"}],
			"query_collections":[{"definition":{"queries":[{"query":"query { b }","name":"b"}]},"name":"z"},{"comment":null,"definition":{"queries":[]},"name":"a"}]`,
		want: `"query_collections":[{"name":"a","definition":{"queries":[]}},{"name":"z","definition":{"queries":[{"name":"b","query":"query { b }"}]}}],` +
			`"allowlist":[{"collection":"a","scope":{"global":true}},{"collection":"z","scope":{"global":false,"roles":["r"]}}]`,
	},
	{
		name: "REST endpoints sorted by url, inherited roles by name",
		in: `"inherited_roles":[{"role_name":"z","role_set":["a","b"]},{"role_name":"m","role_set":["c"]}],
			"rest_endpoints":[{"comment":"x","definition":{"query":{"collection_name":"z","query_name":"b"}},"methods":["POST"],"name":"n1","url":"b/path"},
			  {"definition":{"query":{"collection_name":"z","query_name":"b"}},"methods":["GET"],"name":"n2","url":"a/path"}]`,
		want: `"rest_endpoints":[` +
			`{"comment":null,"definition":{"query":{"collection_name":"z","query_name":"b"}},"methods":["GET"],"name":"n2","url":"a/path"},` +
			`{"comment":"x","definition":{"query":{"collection_name":"z","query_name":"b"}},"methods":["POST"],"name":"n1","url":"b/path"}],` +
			`"inherited_roles":[{"role_name":"m","role_set":["c"]},{"role_name":"z","role_set":["a","b"]}]`,
	},
	{
		name: "settings: default api_limits and metrics_config left out, network entries spelled out",
		in: `"api_limits":{"disabled":false},"metrics_config":{"analyze_query_variables":false,"analyze_response_body":false},
			"network":{"tls_allowlist":["h",{"host":"i","suffix":"8443"}]}`,
		want: `"network":{"tls_allowlist":[{"host":"h","permissions":null,"suffix":null},{"host":"i","permissions":null,"suffix":"8443"}]}`,
	},
	{
		name: "settings: api_limits with its defaults",
		in:   `"api_limits":{"depth_limit":{"global":5},"rate_limit":{"global":{"max_reqs_per_min":10},"per_role":{"u":{"max_reqs_per_min":1,"unique_params":"IP"}}}}`,
		want: `"api_limits":{"depth_limit":{"global":5,"per_role":{}},"disabled":false,` +
			`"rate_limit":{"global":{"max_reqs_per_min":10,"unique_params":null},"per_role":{"u":{"max_reqs_per_min":1,"unique_params":"IP"}}}}`,
	},
}

func TestSectionsExportAsHasuraDoes(t *testing.T) {
	for _, tc := range sectionCases {
		t.Run(tc.name, func(t *testing.T) {
			want := `{"version":3,"sources":[]}`
			if tc.want != "" {
				want = `{"version":3,"sources":[],` + tc.want + `}`
			}
			got := export(t, `{"version":3,"sources":[],`+tc.in+`}`)
			if got != want {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
			if again := export(t, got); again != got {
				t.Errorf("export not stable:\n first %s\nsecond %s", got, again)
			}
		})
	}
}

// Tables: event triggers, remote relationships and the configuration.
var tableCases = []struct {
	name, in, want string
}{
	{
		name: "event triggers: sorted by name, Hasura's key order and defaults",
		in: `"event_triggers":[
			{"definition":{"enable_manual":false,"insert":{"columns":"*"},"update":{"columns":["a"],"payload":null}},"headers":[{"name":"X","value_from_env":"ENV"}],
			 "name":"t2","retry_conf":{"interval_sec":10,"num_retries":0,"timeout_sec":60},"webhook":"http://hook"},
			{"cleanup_config":{"clear_older_than":168,"schedule":"0 0 * * *"},"definition":{"delete":{"columns":"*"}},"headers":[],"name":"t1",
			 "retry_conf":{"interval_sec":10,"num_retries":1},"trigger_on_replication":false,"webhook_from_env":"HOOK"},
			{"definition":{"enable_manual":true},"name":"t3","retry_conf":{"interval_sec":10,"num_retries":0},"trigger_on_replication":true,"webhook":"w",
			 "response_transform":{"body":{"action":"remove","template":"x"},"version":2}}]`,
		want: `"event_triggers":[` +
			`{"name":"t1","definition":{"delete":{"columns":"*"}},"retry_conf":{"interval_sec":10,"num_retries":1},"webhook_from_env":"HOOK",` +
			`"cleanup_config":{"batch_size":10000,"clean_invocation_logs":false,"clear_older_than":168,"paused":false,"schedule":"0 0 * * *","timeout":60}},` +
			`{"name":"t2","definition":{"enable_manual":false,"insert":{"columns":"*"},"update":{"columns":["a"]}},` +
			`"retry_conf":{"interval_sec":10,"num_retries":0,"timeout_sec":60},"webhook":"http://hook","headers":[{"name":"X","value_from_env":"ENV"}]},` +
			`{"name":"t3","definition":{"enable_manual":true},"retry_conf":{"interval_sec":10,"num_retries":0},"webhook":"w",` +
			`"response_transform":{"body":{"action":"remove"},"template_engine":"Kriti","version":2},"trigger_on_replication":true}]`,
	},
	{
		name: "remote relationships: sorted by name, keys sorted",
		in: `"remote_relationships":[
			{"name":"z","definition":{"to_source":{"table":"t","source":"s","relationship_type":"object","field_mapping":{"id":"id"}}}},
			{"name":"a","definition":{"to_remote_schema":{"remote_field":{"f":{"arguments":{}}},"lhs_fields":["id"],"remote_schema":"rs"}}}]`,
		want: `"remote_relationships":[` +
			`{"definition":{"to_remote_schema":{"lhs_fields":["id"],"remote_field":{"f":{"arguments":{}}},"remote_schema":"rs"}},"name":"a"},` +
			`{"definition":{"to_source":{"field_mapping":{"id":"id"},"relationship_type":"object","source":"s","table":"t"}},"name":"z"}]`,
	},
	{
		name: "configuration: custom_column_names alone comes out expanded",
		in:   `"configuration":{"custom_column_names":{"id":"myId"}}`,
		want: `"configuration":{"column_config":{"id":{"custom_name":"myId"}},"custom_column_names":{"id":"myId"},"custom_root_fields":{}}`,
	},
	{
		name: "configuration: column_config wins over custom_column_names, root fields in their short form",
		in: `"configuration":{"column_config":{"a":{"comment":null,"custom_name":"A"}},"custom_column_names":{"a":"X","b":"B"},
			"custom_name":null,"custom_root_fields":{"delete":{"name":"d"},"insert":null,"select":"s","update":{"comment":"c","name":null}}}`,
		want: `"configuration":{"column_config":{"a":{"custom_name":"A"},"b":{"custom_name":"B"}},"custom_column_names":{"a":"A","b":"B"},` +
			`"custom_root_fields":{"delete":"d","select":"s","update":{"comment":"c","name":null}}}`,
	},
	{
		name: "configuration: the empty one is left out",
		in:   `"configuration":{"column_config":{},"custom_column_names":{},"custom_name":null,"custom_root_fields":{"select":null,"insert":{"name":null}}}`,
		want: ``,
	},
	{
		// Hasura writes the three empty keys here, and nothing once that is
		// read back; Strata goes straight to the stable form.
		name: "configuration: a column entry with nothing set counts as empty",
		in:   `"configuration":{"column_config":{"a":{"comment":null}}}`,
		want: ``,
	},
	{
		name: "configuration: an empty comment is kept",
		in:   `"configuration":{"comment":"","custom_name":"Thing"}`,
		want: `"configuration":{"column_config":{},"comment":"","custom_column_names":{},"custom_name":"Thing","custom_root_fields":{}}`,
	},
}

func TestTablePartsExportAsHasuraDoes(t *testing.T) {
	for _, tc := range tableCases {
		t.Run(tc.name, func(t *testing.T) {
			doc := func(table string) string {
				return `{"version":3,"sources":[{"name":"default","kind":"postgres","tables":[` + table + `],"configuration":{}}]}`
			}
			want := doc(`{"table":{"name":"t","schema":"public"}}`)
			if tc.want != "" {
				want = doc(`{"table":{"name":"t","schema":"public"},` + tc.want + `}`)
			}
			got := export(t, doc(`{"table":{"name":"t","schema":"public"},`+tc.in+`}`))
			if got != want {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
			if again := export(t, got); again != got {
				t.Errorf("export not stable:\n first %s\nsecond %s", got, again)
			}
		})
	}
}

// The configuration Hasura writes reads back the same in the engine.
func TestExpandedTableConfigReadsTheSame(t *testing.T) {
	m, err := Parse([]byte(`{"version":3,"sources":[{"name":"d","tables":[{"table":"t","configuration":{"custom_column_names":{"id":"myId"}}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := ParseTableConfig(m2.Sources[0].Tables[0].Configuration).ColumnField("id"); got != "myId" {
		t.Errorf("column field after round trip: %q", got)
	}
}

// A value of the wrong kind is passed through, not dropped.
func TestMalformedSectionsArePassedThrough(t *testing.T) {
	in := `{"version":3,"sources":[],"remote_schemas":{"b":1,"a":2},"actions":[5,{"name":"a","definition":"x"}]}`
	want := `{"version":3,"sources":[],"remote_schemas":{"a":2,"b":1},"actions":[5,{"name":"a","definition":"x"}]}`
	if got := export(t, in); got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

// export_metadata leaves out the cron triggers not included in metadata;
// the stored document keeps them.
func TestExportLeavesOutCronTriggersNotInMetadata(t *testing.T) {
	m, err := Parse([]byte(`{"version":3,"sources":[],"cron_triggers":[
		{"name":"kept","include_in_metadata":true,"schedule":"* * * * *","webhook":"w"},
		{"name":"hidden","include_in_metadata":false,"schedule":"* * * * *","webhook":"w"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	exported, err := json.Marshal(m.ForExport())
	if err != nil {
		t.Fatal(err)
	}
	if s := string(exported); !strings.Contains(s, `"kept"`) || strings.Contains(s, `"hidden"`) {
		t.Errorf("export: %s", s)
	}
	stored, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(stored), `"hidden"`) {
		t.Errorf("stored document lost the trigger: %s", stored)
	}
	all, err := json.Marshal((&Metadata{CronTriggers: json.RawMessage(`[{"name":"h","include_in_metadata":false}]`)}).ForExport())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(all), "cron_triggers") {
		t.Errorf("an all-hidden section must be left out: %s", all)
	}
}

// Numbers come out as aeson renders the Scientific it parsed.
func TestNumbersAreWrittenAsAesonWrites(t *testing.T) {
	for lit, want := range map[string]string{
		"0": "0", "-0": "0", "10": "10", "-7": "-7", "1e3": "1000", "1.5e3": "1500", "1E+2": "100",
		"10.0": "10.0", "100.0": "100.0", "2.50": "2.5", "0.5": "0.5", "0.1": "0.1", "-3.25": "-3.25",
		"0.01": "1.0e-2", "1e-7": "1.0e-7", "-0.0": "0.0", "1234567.5": "1234567.5",
		"12345678.5": "1.23456785e7", "1e2000": "1.0e2000", "1e99999999999": "1e99999999999",
	} {
		if got := aesonNumber(lit); got != want {
			t.Errorf("%s: got %s, want %s", lit, got, want)
		}
	}
}

// Strings are escaped as aeson escapes them: no HTML escaping, U+2028 as
// it is. The payload goes through the whole export.
func TestPayloadStringsAreWrittenAsAesonWrites(t *testing.T) {
	in := `{"version":3,"sources":[],"cron_triggers":[{"include_in_metadata":true,"name":"a","payload":{"s":"<a&b>\u2028\"q\"","n":0.01},"schedule":"* * * * *","webhook":"w"}]}`
	want := `{"version":3,"sources":[],"cron_triggers":[{"name":"a","webhook":"w","schedule":"* * * * *","include_in_metadata":true,"payload":{"n":1.0e-2,"s":"<a&b>` + "\u2028" + `\"q\""}}]}`
	if got := export(t, in); got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}
