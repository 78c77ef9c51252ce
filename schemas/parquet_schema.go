package schemas

import (
	"github.com/parquet-go/parquet-go"
)

// recordKind is the kind of record a Parquet file holds.
type recordKind uint8

const (
	impressionRecords recordKind = iota
	installRecords
	exampleRecords
)

func (k recordKind) String() string {
	switch k {
	case impressionRecords:
		return "impression"
	case installRecords:
		return "install"
	}
	return "example"
}

// slot says where a leaf column's values go in a record.
type slot uint8

const (
	slotFeature slot = iota
	slotImpressionID
	slotTS
	slotUserID
	slotAppID
	slotLabel
	slotInstallTS
)

// slotOf returns the fixed slot of column name for a record kind, or
// slotFeature when the name is not fixed there.
func slotOf(kind recordKind, name string) slot {
	switch name {
	case ColImpressionID:
		return slotImpressionID
	case ColTS:
		return slotTS
	case ColUserID:
		return slotUserID
	case ColAppID:
		return slotAppID
	case ColLabel:
		if kind == exampleRecords {
			return slotLabel
		}
	case ColInstallTS:
		if kind == exampleRecords {
			return slotInstallTS
		}
	}
	return slotFeature
}

// fixedColumns lists the fixed columns of a record kind with whether the
// writer declares them required.
func fixedColumns(kind recordKind) []struct {
	name     string
	required bool
} {
	type col = struct {
		name     string
		required bool
	}
	switch kind {
	case installRecords:
		return []col{{ColTS, true}, {ColImpressionID, false}, {ColUserID, false}, {ColAppID, false}}
	case exampleRecords:
		return []col{{ColImpressionID, true}, {ColTS, true}, {ColUserID, true}, {ColAppID, true}, {ColLabel, true}, {ColInstallTS, false}}
	}
	return []col{{ColImpressionID, true}, {ColTS, true}, {ColUserID, true}, {ColAppID, true}}
}

// parquetSchema builds the Parquet schema of a record kind with the given
// (checked) feature columns. parquet-go orders a group's fields by name, so
// the file's columns come in name order.
func parquetSchema(kind recordKind, features []Column) *parquet.Schema {
	g := parquet.Group{}
	for _, f := range fixedColumns(kind) {
		var n parquet.Node
		switch f.name {
		case ColTS, ColInstallTS:
			n = parquet.Leaf(parquet.Int64Type)
		case ColLabel:
			n = parquet.Leaf(parquet.Int32Type)
		case ColAppID: // few distinct apps: dictionary pages
			n = parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
		default:
			n = parquet.String()
		}
		if !f.required {
			n = parquet.Optional(n)
		}
		g[f.name] = n
	}
	for _, c := range features {
		g[c.Name] = parquet.Optional(featureNode(c.Kind))
	}
	return parquet.NewSchema(kind.String(), g)
}

func featureNode(k Kind) parquet.Node {
	switch k {
	case KindNumber:
		return parquet.Leaf(parquet.DoubleType)
	case KindBool:
		return parquet.Leaf(parquet.BooleanType)
	case KindStrings:
		return parquet.List(parquet.Encoded(parquet.String(), &parquet.RLEDictionary))
	}
	return parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
}

// leaf is one leaf column of a file, as the reader or writer maps it onto
// a record: its slot, feature name and kind, and the levels that tell a
// null, an empty list and an element apart.
type leaf struct {
	index int
	name  string // top-level column name
	slot  slot
	kind  Kind         // feature kind (slotFeature only)
	phys  parquet.Kind // physical type of the leaf
	// maxDef is the definition level of a present value; nullDef is the
	// highest definition level that still means the whole column is null
	// (-1 for a required column). For lists, emptyDef is the level of an
	// empty list (the repeated node absent, the list itself present).
	maxDef, nullDef, emptyDef int
}
