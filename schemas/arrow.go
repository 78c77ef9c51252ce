package schemas

import (
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// ExampleArrowSchema returns the Arrow schema of a batch of examples with
// the given feature columns: impression_id, ts, user_id, app_id, label and
// install_ts (nullable), then the feature columns sorted by name, all
// nullable: string as utf8, number as float64, bool as boolean and
// list<string> as list of non-null utf8. The columns should follow the
// writers' rules (unique names, none a fixed column, a value kind);
// ExamplesToRecord reports a schema that does not.
func ExampleArrowSchema(features []Column) *arrow.Schema {
	fields := []arrow.Field{
		{Name: ColImpressionID, Type: arrow.BinaryTypes.String},
		{Name: ColTS, Type: arrow.PrimitiveTypes.Int64},
		{Name: ColUserID, Type: arrow.BinaryTypes.String},
		{Name: ColAppID, Type: arrow.BinaryTypes.String},
		{Name: ColLabel, Type: arrow.PrimitiveTypes.Int32},
		{Name: ColInstallTS, Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}
	for _, c := range sortedColumns(features) {
		fields = append(fields, arrow.Field{Name: c.Name, Type: arrowType(c.Kind), Nullable: true})
	}
	md := arrow.NewMetadata([]string{"wdstream.record"}, []string{exampleRecords.String()})
	return arrow.NewSchema(fields, &md)
}

func arrowType(k Kind) arrow.DataType {
	switch k {
	case KindNumber:
		return arrow.PrimitiveTypes.Float64
	case KindBool:
		return arrow.FixedWidthTypes.Boolean
	case KindStrings:
		return arrow.ListOfNonNullable(arrow.BinaryTypes.String)
	}
	return arrow.BinaryTypes.String
}

// kindOfArrow maps an Arrow feature type back to a Kind (KindNull: none).
func kindOfArrow(t arrow.DataType) Kind {
	switch t.ID() {
	case arrow.STRING:
		return KindString
	case arrow.FLOAT64:
		return KindNumber
	case arrow.BOOL:
		return KindBool
	case arrow.LIST:
		if t.(*arrow.ListType).Elem().ID() == arrow.STRING {
			return KindStrings
		}
	}
	return KindNull
}

// ExamplesToRecord builds one Arrow record (record batch) of exs in the
// layout of schema, which ExampleArrowSchema made (the fixed fields are
// found by name; every other field is a feature column). An example whose
// feature value has another kind than its field, or a schema field of an
// unsupported type, is an error naming the field (and the example's index).
// Feature columns of the examples that the schema lacks are not copied.
// The caller releases the record.
func ExamplesToRecord(mem memory.Allocator, schema *arrow.Schema, exs []Example) (arrow.Record, error) {
	if err := CheckExampleArrowSchema(schema); err != nil {
		return nil, fmt.Errorf("arrow schema: %w", err)
	}
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Reserve(len(exs))
	for i, f := range schema.Fields() {
		if err := appendArrowColumn(b.Field(i), f, exs); err != nil {
			return nil, fmt.Errorf("building arrow record: %w", err)
		}
	}
	return b.NewRecord(), nil
}

// CheckExampleArrowSchema checks that schema follows ExampleArrowSchema's
// conventions, whichever of its fields it has: unique names, the fixed
// columns with their types (impression_id, user_id and app_id utf8, ts and
// install_ts int64, label int32), every other field a feature column of
// utf8, float64, bool or list<utf8>. The error is a *FieldError naming
// the first field at fault.
func CheckExampleArrowSchema(schema *arrow.Schema) error {
	seen := make(map[string]bool, schema.NumFields())
	for _, f := range schema.Fields() {
		if seen[f.Name] {
			return &FieldError{Field: f.Name, Problem: "listed twice"}
		}
		seen[f.Name] = true
		if err := checkArrowField(f); err != nil {
			return err
		}
	}
	return nil
}

// checkArrowField checks that a field has the type its name calls for.
func checkArrowField(f arrow.Field) error {
	want := arrow.DataType(nil)
	switch slotOf(exampleRecords, f.Name) {
	case slotImpressionID, slotUserID, slotAppID:
		want = arrow.BinaryTypes.String
	case slotTS, slotInstallTS:
		want = arrow.PrimitiveTypes.Int64
	case slotLabel:
		want = arrow.PrimitiveTypes.Int32
	default:
		if kindOfArrow(f.Type) == KindNull {
			return &FieldError{Field: f.Name, Problem: "type " + f.Type.String() + ", want utf8, float64, bool or list<utf8>"}
		}
		return nil
	}
	if !arrow.TypeEqual(f.Type, want) {
		return &FieldError{Field: f.Name, Problem: "type " + f.Type.String() + ", want " + want.String()}
	}
	return nil
}

func appendArrowColumn(b array.Builder, f arrow.Field, exs []Example) error {
	switch slotOf(exampleRecords, f.Name) {
	case slotImpressionID, slotUserID, slotAppID:
		sb := b.(*array.StringBuilder)
		for i := range exs {
			switch f.Name {
			case ColImpressionID:
				sb.Append(exs[i].ImpressionID)
			case ColUserID:
				sb.Append(exs[i].UserID)
			default:
				sb.Append(exs[i].AppID)
			}
		}
	case slotTS:
		ib := b.(*array.Int64Builder)
		for i := range exs {
			ib.Append(exs[i].TS)
		}
	case slotLabel:
		lb := b.(*array.Int32Builder)
		for i := range exs {
			lb.Append(exs[i].Label)
		}
	case slotInstallTS:
		ib := b.(*array.Int64Builder)
		for i := range exs {
			if exs[i].HasInstallTS {
				ib.Append(exs[i].InstallTS)
			} else {
				ib.AppendNull()
			}
		}
	default:
		return appendArrowFeature(b, f, exs)
	}
	return nil
}

func appendArrowFeature(b array.Builder, f arrow.Field, exs []Example) error {
	kind := kindOfArrow(f.Type)
	for i := range exs {
		v, ok := exs[i].Features[f.Name]
		if !ok || v.Kind == KindNull {
			b.AppendNull()
			continue
		}
		if v.Kind != kind {
			return fmt.Errorf("example %d: %w", i, &FieldError{Field: f.Name, Problem: "value is " + v.Kind.String() + ", column holds " + kind.String()})
		}
		switch kind {
		case KindString:
			b.(*array.StringBuilder).Append(v.Str)
		case KindNumber:
			b.(*array.Float64Builder).Append(v.Num)
		case KindBool:
			b.(*array.BooleanBuilder).Append(v.Bool)
		case KindStrings:
			lb := b.(*array.ListBuilder)
			lb.Append(true)
			vb := lb.ValueBuilder().(*array.StringBuilder)
			for _, s := range v.Strs {
				vb.Append(s)
			}
		}
	}
	return nil
}

// RecordExample reads row i of a record of ExampleArrowSchema's layout back
// into dst (the inverse of ExamplesToRecord), reusing dst's Features map.
// Strings are copied out of the record's buffers, so dst outlives it.
func RecordExample(rec arrow.Record, i int, dst *Example) error {
	if i < 0 || int64(i) >= rec.NumRows() {
		return fmt.Errorf("arrow record: row %d out of range [0, %d)", i, rec.NumRows())
	}
	*dst = Example{Impression: Impression{Features: dst.Features}}
	if dst.Features == nil {
		dst.Features = make(map[string]Value)
	} else {
		clear(dst.Features)
	}
	for c, f := range rec.Schema().Fields() {
		col := rec.Column(c)
		if err := checkArrowField(f); err != nil {
			return fmt.Errorf("arrow record: %w", err)
		}
		if col.IsNull(i) {
			if s := slotOf(exampleRecords, f.Name); s != slotFeature && s != slotInstallTS {
				return fmt.Errorf("arrow record: row %d: %w", i, &FieldError{Field: f.Name, Problem: "null"})
			}
			continue
		}
		switch slotOf(exampleRecords, f.Name) {
		case slotImpressionID:
			dst.ImpressionID = strings.Clone(col.(*array.String).Value(i))
		case slotUserID:
			dst.UserID = strings.Clone(col.(*array.String).Value(i))
		case slotAppID:
			dst.AppID = strings.Clone(col.(*array.String).Value(i))
		case slotTS:
			dst.TS = col.(*array.Int64).Value(i)
		case slotLabel:
			dst.Label = col.(*array.Int32).Value(i)
		case slotInstallTS:
			dst.InstallTS, dst.HasInstallTS = col.(*array.Int64).Value(i), true
		default:
			dst.Features[f.Name] = arrowValue(col, i)
		}
	}
	return nil
}

func arrowValue(col arrow.Array, i int) Value {
	switch a := col.(type) {
	case *array.String:
		return String(strings.Clone(a.Value(i)))
	case *array.Float64:
		return Number(a.Value(i))
	case *array.Boolean:
		return Bool(a.Value(i))
	case *array.List:
		start, end := a.ValueOffsets(i)
		elems := a.ListValues().(*array.String)
		strs := make([]string, 0, end-start)
		for j := start; j < end; j++ {
			strs = append(strs, strings.Clone(elems.Value(int(j))))
		}
		return Strings(strs)
	}
	return Value{} // unreachable: checkArrowField vetted the type
}
