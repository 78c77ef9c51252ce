package featurize

import (
	"fmt"
	"strconv"

	"github.com/wdstream/wdstream/schemas"
)

// column names where a feature's value lives in an Example: one of the fixed
// fields of the event contract, or a key of Features.
type column struct {
	name  string
	fixed fixedColumn
}

type fixedColumn uint8

const (
	notFixed fixedColumn = iota
	fixedImpressionID
	fixedTS
	fixedUserID
	fixedAppID
)

// resolveColumn returns the column of a name; the label columns are refused
// so that no feature can read the label.
func resolveColumn(name string) (column, error) {
	switch name {
	case schemas.ColImpressionID:
		return column{name, fixedImpressionID}, nil
	case schemas.ColTS:
		return column{name, fixedTS}, nil
	case schemas.ColUserID:
		return column{name, fixedUserID}, nil
	case schemas.ColAppID:
		return column{name, fixedAppID}, nil
	case schemas.ColLabel, schemas.ColInstallTS:
		return column{}, fmt.Errorf("column %q is (or leaks) the label and cannot be a feature", name)
	case "":
		return column{}, fmt.Errorf("empty column name")
	}
	return column{name: name}, nil
}

// value is the one accessor that reads a column of an example. A column
// absent from Features reads as KindNull.
func (c column) value(ex *schemas.Example) schemas.Value {
	switch c.fixed {
	case fixedImpressionID:
		return schemas.Value{Kind: schemas.KindString, Str: ex.ImpressionID}
	case fixedTS:
		return schemas.Value{Kind: schemas.KindNumber, Num: float64(ex.TS)}
	case fixedUserID:
		return schemas.Value{Kind: schemas.KindString, Str: ex.UserID}
	case fixedAppID:
		return schemas.Value{Kind: schemas.KindString, Str: ex.AppID}
	}
	return ex.Features[c.name]
}

// ColumnReader reads one column of examples as the featurizer does, for
// other readers of the same inputs (package drift's statistics): one of
// the fixed fields of the event contract, or a feature column.
type ColumnReader struct{ col column }

// NewColumnReader returns the reader of the named column; the label
// columns are refused, as for a feature.
func NewColumnReader(name string) (ColumnReader, error) {
	c, err := resolveColumn(name)
	return ColumnReader{c}, err
}

// Value returns the column's value in ex (KindNull when absent).
func (r ColumnReader) Value(ex *schemas.Example) schemas.Value { return r.col.value(ex) }

// ExampleError is a bad example met by Fit or Transform: a column holds a
// kind that its feature cannot read. Index is the example's position in the
// slice passed in, so that a caller can dead-letter it and go on with the
// rest.
type ExampleError struct {
	Index        int
	ImpressionID string
	Column       string
	Want         string
	Got          schemas.Kind
}

func (e *ExampleError) Error() string {
	return fmt.Sprintf("example %d (impression %q): column %q holds %s, want %s",
		e.Index, e.ImpressionID, e.Column, e.Got, e.Want)
}

func kindError(i int, ex *schemas.Example, col, want string, got schemas.Kind) error {
	return &ExampleError{Index: i, ImpressionID: ex.ImpressionID, Column: col, Want: want, Got: got}
}

// CategoricalText returns the text of a single categorical value: a string
// as is, a bool as "true"/"false", a number as its shortest decimal text
// (strconv 'g' format, appended to buf and returned as bytes), null as the
// empty string. ok is false for a list.
func CategoricalText(v *schemas.Value, buf []byte) (s string, b []byte, isBytes, ok bool) {
	switch v.Kind {
	case schemas.KindString:
		return v.Str, nil, false, true
	case schemas.KindNull:
		return "", nil, false, true
	case schemas.KindBool:
		if v.Bool {
			return "true", nil, false, true
		}
		return "false", nil, false, true
	case schemas.KindNumber:
		return "", strconv.AppendFloat(buf[:0], v.Num, 'g', -1, 64), true, true
	}
	return "", nil, false, false
}

// NumericValue returns the number of a numeric value and whether it is
// present: null and NaN are missing; a bool reads as 0 or 1. ok is false
// for strings and lists.
func NumericValue(v *schemas.Value) (x float64, present, ok bool) {
	switch v.Kind {
	case schemas.KindNumber:
		return v.Num, v.Num == v.Num, true
	case schemas.KindNull:
		return 0, false, true
	case schemas.KindBool:
		if v.Bool {
			return 1, true, true
		}
		return 0, true, true
	}
	return 0, false, false
}
