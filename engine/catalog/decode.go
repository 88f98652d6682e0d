package catalog

// The shapes loadSQL emits, and their conversion to the public types.

type rawCatalog struct {
	Tables    []rawTable    `json:"tables"`
	Functions []rawFunction `json:"functions"`
	Enums     []rawEnum     `json:"enums"`
	Domains   []rawDomain   `json:"domains"`
}

type rawTable struct {
	Schema       string          `json:"schema"`
	Name         string          `json:"name"`
	OID          uint32          `json:"oid"`
	Kind         string          `json:"kind"`
	Comment      *string         `json:"comment"`
	Columns      []rawColumn     `json:"columns"`
	PK           []rawConstraint `json:"pk"`
	Uniques      []rawConstraint `json:"uniques"`
	FKs          []rawForeignKey `json:"fks"`
	Writable     int             `json:"writable"` // pg_relation_is_updatable bits
	ParentSchema *string         `json:"parent_schema"`
	ParentName   *string         `json:"parent_name"`
}

type rawColumn struct {
	Name       string  `json:"name"`
	Num        int     `json:"num"`
	Type       string  `json:"type"`
	TypeOID    uint32  `json:"type_oid"`
	TypeSchema string  `json:"type_schema"`
	TypeName   string  `json:"type_name"`
	TypeKind   string  `json:"type_kind"`
	IsArray    bool    `json:"is_array"`
	NotNull    bool    `json:"not_null"`
	Default    *string `json:"default"`
	Identity   string  `json:"identity"`
	Generated  string  `json:"generated"`
	Comment    *string `json:"comment"`
}

type rawConstraint struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
}

type rawForeignKey struct {
	Name       string   `json:"name"`
	Columns    []string `json:"columns"`
	RefSchema  string   `json:"ref_schema"`
	RefName    string   `json:"ref_name"`
	RefColumns []string `json:"ref_columns"`
	OnUpdate   string   `json:"on_update"`
	OnDelete   string   `json:"on_delete"`
}

type rawFunction struct {
	Schema       string   `json:"schema"`
	Name         string   `json:"name"`
	OID          uint32   `json:"oid"`
	Comment      *string  `json:"comment"`
	Args         []rawArg `json:"args"`
	IdentityArgs string   `json:"identity_args"`
	RetSchema    string   `json:"ret_schema"`
	RetName      string   `json:"ret_name"`
	RetKind      string   `json:"ret_kind"`
	RetIsArray   bool     `json:"ret_is_array"`
	ReturnsSet   bool     `json:"returns_set"`
	ReturnsTable bool     `json:"returns_table"`
	Volatility   string   `json:"volatility"`
	Language     string   `json:"language"`
}

type rawArg struct {
	Name       string `json:"name"`
	Mode       string `json:"mode"`
	Type       string `json:"type"`
	TypeSchema string `json:"type_schema"`
	TypeName   string `json:"type_name"`
	TypeKind   string `json:"type_kind"`
	IsArray    bool   `json:"is_array"`
	HasDefault bool   `json:"has_default"`
}

type rawEnum struct {
	Schema string   `json:"schema"`
	Name   string   `json:"name"`
	Labels []string `json:"labels"`
}

type rawDomain struct {
	Schema      string  `json:"schema"`
	Name        string  `json:"name"`
	Type        string  `json:"type"`
	BaseSchema  string  `json:"base_schema"`
	BaseName    string  `json:"base_name"`
	BaseKind    string  `json:"base_kind"`
	BaseIsArray bool    `json:"base_is_array"`
	NotNull     bool    `json:"not_null"`
	Default     *string `json:"default"`
}

// pg_relation_is_updatable bits: 1 << CMD_UPDATE, CMD_INSERT, CMD_DELETE.
const (
	bitUpdate = 4
	bitInsert = 8
	bitDelete = 16
)

func (r *rawCatalog) build() *Catalog {
	c := &Catalog{
		Tables:    make(map[QualifiedName]*Table, len(r.Tables)),
		Functions: make(map[QualifiedName][]*Function, len(r.Functions)),
		Enums:     make(map[QualifiedName][]string, len(r.Enums)),
		Domains:   make(map[QualifiedName]*Domain, len(r.Domains)),
	}
	for i := range r.Tables {
		t := r.Tables[i].build()
		c.Tables[t.Name] = t
	}
	for i := range r.Functions {
		f := r.Functions[i].build()
		c.Functions[f.Name] = append(c.Functions[f.Name], f)
	}
	for _, e := range r.Enums {
		labels := e.Labels
		if labels == nil {
			labels = []string{}
		}
		c.Enums[QualifiedName{Schema: e.Schema, Name: e.Name}] = labels
	}
	for _, d := range r.Domains {
		c.Domains[QualifiedName{Schema: d.Schema, Name: d.Name}] = &Domain{
			Name:         QualifiedName{Schema: d.Schema, Name: d.Name},
			Type:         d.Type,
			BaseType:     QualifiedName{Schema: d.BaseSchema, Name: d.BaseName},
			BaseTypeKind: typeKind(d.BaseKind),
			BaseIsArray:  d.BaseIsArray,
			NotNull:      d.NotNull,
			Default:      d.Default,
		}
	}
	c.refs = indexRefs(c)
	return c
}

func (r *rawTable) build() *Table {
	t := &Table{
		Name:              QualifiedName{Schema: r.Schema, Name: r.Name},
		OID:               r.OID,
		Kind:              tableKind(r.Kind),
		Comment:           r.Comment,
		Columns:           make([]*Column, len(r.Columns)),
		UniqueConstraints: make([]*Constraint, len(r.Uniques)),
		ForeignKeys:       make([]*ForeignKey, len(r.FKs)),
		Insertable:        r.Writable&bitInsert != 0,
		Updatable:         r.Writable&bitUpdate != 0,
		Deletable:         r.Writable&bitDelete != 0,
		byName:            make(map[string]*Column, len(r.Columns)),
	}
	for i, rc := range r.Columns {
		col := &Column{
			Name:               rc.Name,
			Position:           rc.Num,
			Type:               rc.Type,
			TypeOID:            rc.TypeOID,
			TypeName:           QualifiedName{Schema: rc.TypeSchema, Name: rc.TypeName},
			TypeKind:           typeKind(rc.TypeKind),
			IsArray:            rc.IsArray,
			Nullable:           !rc.NotNull,
			Default:            rc.Default,
			IsIdentity:         rc.Identity != "",
			IdentityGeneration: identityGeneration(rc.Identity),
			IsGenerated:        rc.Generated != "",
			Comment:            rc.Comment,
		}
		if col.IsGenerated {
			col.GenerationExpression, col.Default = col.Default, nil
		}
		t.Columns[i] = col
		t.byName[col.Name] = col
	}
	if len(r.PK) > 0 {
		t.PrimaryKey = &Constraint{Name: r.PK[0].Name, Columns: nonNil(r.PK[0].Columns)}
	}
	for i, u := range r.Uniques {
		t.UniqueConstraints[i] = &Constraint{Name: u.Name, Columns: nonNil(u.Columns)}
	}
	for i, fk := range r.FKs {
		t.ForeignKeys[i] = &ForeignKey{
			Name:       fk.Name,
			Columns:    nonNil(fk.Columns),
			RefTable:   QualifiedName{Schema: fk.RefSchema, Name: fk.RefName},
			RefColumns: nonNil(fk.RefColumns),
			OnUpdate:   fkAction(fk.OnUpdate),
			OnDelete:   fkAction(fk.OnDelete),
		}
	}
	if r.ParentSchema != nil && r.ParentName != nil {
		t.PartitionOf = &QualifiedName{Schema: *r.ParentSchema, Name: *r.ParentName}
	}
	return t
}

func (r *rawFunction) build() *Function {
	f := &Function{
		Name:           QualifiedName{Schema: r.Schema, Name: r.Name},
		OID:            r.OID,
		Comment:        r.Comment,
		Args:           make([]FunctionArg, len(r.Args)),
		IdentityArgs:   r.IdentityArgs,
		ReturnType:     QualifiedName{Schema: r.RetSchema, Name: r.RetName},
		ReturnTypeKind: typeKind(r.RetKind),
		ReturnsArray:   r.RetIsArray,
		ReturnsSet:     r.ReturnsSet,
		ReturnsTable:   r.ReturnsTable,
		Volatility:     volatility(r.Volatility),
		Language:       r.Language,
	}
	for i, a := range r.Args {
		f.Args[i] = FunctionArg{
			Name:       a.Name,
			Type:       a.Type,
			TypeName:   QualifiedName{Schema: a.TypeSchema, Name: a.TypeName},
			TypeKind:   typeKind(a.TypeKind),
			IsArray:    a.IsArray,
			Mode:       argMode(a.Mode),
			HasDefault: a.HasDefault,
		}
	}
	return f
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func tableKind(relkind string) TableKind {
	switch relkind {
	case "r":
		return KindTable
	case "v":
		return KindView
	case "m":
		return KindMaterializedView
	case "f":
		return KindForeignTable
	case "p":
		return KindPartitionedTable
	}
	return TableKind(relkind)
}

func typeKind(typtype string) TypeKind {
	switch typtype {
	case "b":
		return TypeBase
	case "c":
		return TypeComposite
	case "d":
		return TypeDomain
	case "e":
		return TypeEnum
	case "p":
		return TypePseudo
	case "r":
		return TypeRange
	case "m":
		return TypeMultirange
	}
	return TypeKind(typtype)
}

func identityGeneration(attidentity string) string {
	switch attidentity {
	case "a":
		return "ALWAYS"
	case "d":
		return "BY DEFAULT"
	}
	return ""
}

func fkAction(code string) string {
	switch code {
	case "a":
		return "NO ACTION"
	case "r":
		return "RESTRICT"
	case "c":
		return "CASCADE"
	case "n":
		return "SET NULL"
	case "d":
		return "SET DEFAULT"
	}
	return code
}

func volatility(provolatile string) string {
	switch provolatile {
	case "i":
		return "IMMUTABLE"
	case "s":
		return "STABLE"
	case "v":
		return "VOLATILE"
	}
	return provolatile
}

func argMode(proargmode string) string {
	switch proargmode {
	case "i":
		return "IN"
	case "b":
		return "INOUT"
	case "v":
		return "VARIADIC"
	}
	return proargmode
}
