package metadata

import "encoding/json"

// TableConfig is the part of a table's `configuration` the engine acts
// on: its custom names. The schema builder and the consistency check both
// read it through here, so they agree on what a column is called.
type TableConfig struct {
	CustomName        string                     `json:"custom_name"`
	CustomRootFields  map[string]json.RawMessage `json:"custom_root_fields"`
	ColumnConfig      map[string]ColumnConfig    `json:"column_config"`
	CustomColumnNames map[string]string          `json:"custom_column_names"`
}

// ColumnConfig is one column's entry of column_config.
type ColumnConfig struct {
	CustomName string  `json:"custom_name"`
	Comment    *string `json:"comment"`
}

// ParseTableConfig reads a table's configuration; it was validated when
// the metadata was written, so a malformed one reads as empty.
func ParseTableConfig(raw json.RawMessage) TableConfig {
	var c TableConfig
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &c)
	}
	return c
}

// ColumnField is the GraphQL name of a column: column_config's
// custom_name, else the older custom_column_names, else the column's own.
func (c TableConfig) ColumnField(col string) string {
	if cc, ok := c.ColumnConfig[col]; ok && cc.CustomName != "" {
		return cc.CustomName
	}
	if n, ok := c.CustomColumnNames[col]; ok && n != "" {
		return n
	}
	return col
}
