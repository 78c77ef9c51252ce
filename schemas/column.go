package schemas

import (
	"fmt"
	"slices"
)

// Column declares one feature column of a Parquet file or Arrow schema: its
// name and the kind of value it holds (KindString, KindNumber, KindBool or
// KindStrings). Feature columns are always nullable.
type Column struct {
	Name string
	Kind Kind
}

// checkColumns validates a feature column list: names non-empty, unique and
// not a fixed column; kinds one of the four value kinds.
func checkColumns(cols []Column) error {
	seen := make(map[string]struct{}, len(cols))
	for i, c := range cols {
		switch {
		case c.Name == "":
			return fmt.Errorf("feature column %d: empty name", i)
		case isFixedColumn(c.Name):
			return fmt.Errorf("feature column %q: name of a fixed column", c.Name)
		case c.Kind == KindNull || c.Kind > KindStrings:
			return fmt.Errorf("feature column %q: kind %s is not string, number, bool or list<string>", c.Name, c.Kind)
		}
		if _, dup := seen[c.Name]; dup {
			return fmt.Errorf("feature column %q: listed twice", c.Name)
		}
		seen[c.Name] = struct{}{}
	}
	return nil
}

// sortedColumns returns a copy of cols sorted by name: files written from
// the same column set get the same schema whatever the caller's order.
func sortedColumns(cols []Column) []Column {
	out := slices.Clone(cols)
	slices.SortFunc(out, func(a, b Column) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}
