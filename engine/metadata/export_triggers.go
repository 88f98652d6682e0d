package metadata

// Cron triggers, event triggers and webhook transforms as Hasura exports
// them (crontriggerQToOrdJSON and eventTriggerConfToOrdJSON in
// Hasura.RQL.Types.Metadata.Serialization; types and defaults in
// Hasura.RQL.Types.ScheduledTrigger, .EventTrigger and .Webhook.Transform).

// cronTrigger: crontriggerQToOrdJSON. The payload is an aeson Value, so
// its object keys come out sorted; retry_conf is left out when it equals
// the default once its own defaults are filled in. The schedule is kept
// as written (Hasura reprints the parsed cron expression).
var cronTrigger = inOrder(
	required("name", asIs),
	required("webhook", asIs),
	required("schedule", asIs),
	required("include_in_metadata", asIs),
	optional("payload", asIs),
	field{"retry_conf", scheduledRetryConf},
	nonEmpty("headers", listOf(headerConf)),
	optional("comment", asIs),
	optional("request_transform", requestTransform),
	optional("response_transform", responseTransform),
)

// defaultSTRetryConf: no retry, 10 s apart, 60 s timeout, events up to 6
// hours late still delivered.
var defaultSTRetryConf = []field{
	defaulted("num_retries", num("0"), integer),
	defaulted("retry_interval_seconds", num("10"), integer),
	defaulted("timeout_seconds", num("60"), integer),
	defaulted("tolerance_seconds", num("21600"), integer),
}

// scheduledRetryConf: STRetryConf with its defaults filled in, left out
// when it is the default (absent, null, {} or the four default values).
// Unknown keys keep it written, so they are not lost.
func scheduledRetryConf(v any, _ bool) (any, bool) {
	if v == nil {
		return nil, false
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return v, true
	}
	out := keySortedObject(obj, defaultSTRetryConf)
	if equalJSON(out, keySortedObject(map[string]any{}, defaultSTRetryConf)) {
		return nil, false
	}
	return out, true
}

// eventTrigger: eventTriggerConfToOrdJSON. trigger_on_replication is left
// out when false, Postgres' default.
var eventTrigger = inOrder(
	required("name", asIs),
	required("definition", triggerOpsDef),
	required("retry_conf", keySorted(
		required("num_retries", integer),
		required("interval_sec", integer),
		optional("timeout_sec", integer),
	)),
	optional("webhook", asIs),
	optional("webhook_from_env", asIs),
	nonEmpty("headers", listOf(headerConf)),
	optional("request_transform", requestTransform),
	optional("response_transform", responseTransform),
	optional("cleanup_config", keySorted(
		required("schedule", asIs),
		defaulted("batch_size", num("10000"), integer),
		required("clear_older_than", integer),
		defaulted("timeout", num("60"), integer),
		defaulted("clean_invocation_logs", false, asIs),
		defaulted("paused", false, asIs),
	)),
	onlyIfTrue("trigger_on_replication"),
)

// triggerOpsDef: TriggerOpsDef's generic encoding, Nothing omitted.
var triggerOpsDef = func() conv {
	op := keySorted(
		required("columns", asIs),
		optional("payload", asIs),
	)
	return keySorted(
		optional("insert", op),
		optional("update", op),
		optional("delete", op),
		optional("enable_manual", asIs),
	)
}()

// requestTransform: RequestTransform's ToJSON: version (default 1) and
// template_engine (default Kriti) always, the transforms when given.
var requestTransform = keySorted(
	defaulted("version", num("1"), integer),
	defaulted("template_engine", "Kriti", asIs),
	optional("method", asIs),
	optional("url", asIs),
	optional("query_params", asIs),
	optional("request_headers", keySorted(
		defaulted("add_headers", map[string]any{}, asIs),
		defaulted("remove_headers", []any{}, asIs),
	)),
	optional("body", bodyTransform),
)

// responseTransform: MetadataResponseTransform's ToJSON.
var responseTransform = keySorted(
	defaulted("version", num("1"), integer),
	defaulted("template_engine", "Kriti", asIs),
	optional("body", bodyTransform),
)

// bodyTransform: a version 1 body is a template string, kept; a version 2
// body is {action, template | form_template}, with only the key its
// action reads.
func bodyTransform(v any) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return v
	}
	drop := func(key string) field { return field{key, func(any, bool) (any, bool) { return nil, false }} }
	fields := []field{required("action", asIs)}
	switch obj["action"] {
	case "remove":
		fields = append(fields, drop("template"), drop("form_template"))
	case "transform":
		fields = append(fields, required("template", asIs), drop("form_template"))
	case "x_www_form_urlencoded":
		fields = append(fields, required("form_template", asIs), drop("template"))
	}
	return keySortedObject(obj, fields)
}
