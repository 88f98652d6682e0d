package api

import (
	"encoding/json"

	"github.com/strata-dev/strata/engine/metadata"
)

// renameInUsing rewrites the remote table named in a relationship's using
// clause (foreign_key_constraint_on.table or manual_configuration
// .remote_table) from one name to another; other clauses are returned as
// they are.
func renameInUsing(using json.RawMessage, from, to metadata.QualifiedName) json.RawMessage {
	var u map[string]json.RawMessage
	if json.Unmarshal(using, &u) != nil {
		return using
	}
	changed := false
	for key, field := range map[string]string{"foreign_key_constraint_on": "table", "manual_configuration": "remote_table"} {
		var inner map[string]json.RawMessage
		if json.Unmarshal(u[key], &inner) != nil {
			continue
		}
		var q metadata.QualifiedName
		if json.Unmarshal(inner[field], &q) != nil || q != from {
			continue
		}
		inner[field], _ = json.Marshal(to)
		u[key], _ = json.Marshal(inner)
		changed = true
	}
	if !changed {
		return using
	}
	out, _ := json.Marshal(u)
	return out
}
