package schemas

import (
	"fmt"

	"github.com/parquet-go/parquet-go"
)

// fileLayout is how a reader maps a file's leaf columns onto records.
type fileLayout struct {
	leaves   []leaf   // by leaf column index; slot -1 marks a skipped column
	features []Column // inferred feature columns, in file order
	has      [slotInstallTS + 1]bool
}

// skipSlot marks a leaf column the reader ignores (an install file's extra
// columns).
const skipSlot slot = 255

// layoutOf checks a file's schema against a record kind and infers its
// feature columns. Errors name the column; the caller adds the file.
func layoutOf(kind recordKind, schema *parquet.Schema) (*fileLayout, error) {
	lay := &fileLayout{leaves: make([]leaf, len(schema.Columns()))}
	for _, field := range schema.Fields() {
		name := field.Name()
		s := slotOf(kind, name)
		if kind == impressionRecords && (name == ColLabel || name == ColInstallTS) {
			return nil, &FieldError{Field: name, Problem: "reserved for examples, not allowed in an impression file"}
		}
		if kind == installRecords && s == slotFeature {
			s = skipSlot
		}
		leaves, err := leavesOf(schema, name)
		if err != nil {
			return nil, err
		}
		got, k := describe(field, leaves)
		switch s {
		case skipSlot:
		case slotFeature:
			if k == KindNull {
				return nil, &FieldError{Field: name, Problem: "type " + got + ", want string, number, bool or list<string>"}
			}
			lay.features = append(lay.features, Column{Name: name, Kind: k})
		case slotImpressionID, slotUserID, slotAppID:
			if k != KindString {
				return nil, &FieldError{Field: name, Problem: "type " + got + ", want BYTE_ARRAY (string)"}
			}
		case slotTS, slotInstallTS:
			if !field.Leaf() || field.Repeated() || field.Type().Kind() != parquet.Int64 {
				return nil, &FieldError{Field: name, Problem: "type " + got + ", want INT64"}
			}
		case slotLabel:
			if !field.Leaf() || field.Repeated() || (field.Type().Kind() != parquet.Int32 && field.Type().Kind() != parquet.Int64) {
				return nil, &FieldError{Field: name, Problem: "type " + got + ", want INT32 or INT64"}
			}
		}
		if s != skipSlot && s != slotFeature {
			lay.has[s] = true
		}
		for _, lc := range leaves {
			l := leaf{index: lc.ColumnIndex, name: name, slot: s, kind: k, phys: lc.Node.Type().Kind(), maxDef: lc.MaxDefinitionLevel}
			l.nullDef, l.emptyDef = levelsOf(schema, schema.Columns()[lc.ColumnIndex])
			lay.leaves[lc.ColumnIndex] = l
		}
	}
	for _, need := range requiredSlots(kind) {
		if !lay.has[need.slot] {
			return nil, &FieldError{Field: need.name, Problem: "missing column"}
		}
	}
	return lay, nil
}

// requiredSlots lists the columns a file of a record kind must have. An
// examples file needs only label (backfill --examples reads training input
// that may carry nothing else the contract names).
func requiredSlots(kind recordKind) []struct {
	slot slot
	name string
} {
	type req = struct {
		slot slot
		name string
	}
	switch kind {
	case installRecords:
		return []req{{slotTS, ColTS}}
	case exampleRecords:
		return []req{{slotLabel, ColLabel}}
	}
	return []req{{slotImpressionID, ColImpressionID}, {slotTS, ColTS}, {slotUserID, ColUserID}, {slotAppID, ColAppID}}
}

// leavesOf returns the leaf columns under the top-level field name.
func leavesOf(schema *parquet.Schema, name string) ([]parquet.LeafColumn, error) {
	var out []parquet.LeafColumn
	for _, path := range schema.Columns() {
		if path[0] != name {
			continue
		}
		lc, ok := schema.Lookup(path...)
		if !ok {
			return nil, &FieldError{Field: name, Problem: fmt.Sprintf("leaf %v not found in the schema", path)}
		}
		out = append(out, lc)
	}
	return out, nil
}

// describe returns a readable type of a top-level field and the feature
// Kind it maps to (KindNull when it maps to none). Lists are accepted in
// the standard three-level encoding and the legacy two-level ones: any
// group with a single BYTE_ARRAY leaf under exactly one repeated node, or a
// repeated BYTE_ARRAY leaf.
func describe(field parquet.Field, leaves []parquet.LeafColumn) (string, Kind) {
	if field.Leaf() {
		phys := field.Type().Kind()
		got := phys.String()
		if lt := field.Type().LogicalType(); lt != nil {
			got += " (" + lt.String() + ")"
		}
		if field.Repeated() {
			if phys == parquet.ByteArray {
				return "repeated " + got, KindStrings
			}
			return "repeated " + got, KindNull
		}
		switch phys {
		case parquet.ByteArray:
			return got, KindString
		case parquet.Double, parquet.Float, parquet.Int32, parquet.Int64:
			return got, KindNumber
		case parquet.Boolean:
			return got, KindBool
		}
		return got, KindNull
	}
	if len(leaves) != 1 {
		return fmt.Sprintf("group of %d leaf columns", len(leaves)), KindNull
	}
	lc := leaves[0]
	phys := lc.Node.Type().Kind()
	switch {
	case lc.MaxRepetitionLevel == 0:
		return "group of " + phys.String(), KindNull
	case lc.MaxRepetitionLevel > 1:
		return "nested list of " + phys.String(), KindNull
	case phys != parquet.ByteArray:
		return "list of " + phys.String(), KindNull
	}
	return "list of BYTE_ARRAY", KindStrings
}

// levelsOf walks a leaf's path and returns nullDef, the number of optional
// levels above its repeated node (a definition level below it means the
// column is null), and emptyDef, the level at which the repeated node is
// present (at or above it a value is a list element; between the two the
// list is empty). For a column with no repeated node both are maxDef.
func levelsOf(schema *parquet.Schema, path []string) (nullDef, emptyDef int) {
	var node parquet.Node = schema
	def := 0
	for _, name := range path {
		node = fieldNamed(node, name)
		if node == nil {
			break
		}
		switch {
		case node.Optional():
			def++
		case node.Repeated():
			return def, def + 1
		}
	}
	return def, def
}

func fieldNamed(n parquet.Node, name string) parquet.Node {
	for _, f := range n.Fields() {
		if f.Name() == name {
			return f
		}
	}
	return nil
}
