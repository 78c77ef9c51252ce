package schemas

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// Structs written with parquet-go's reflection to make files that break the
// contract in one way each.
type (
	tsAsString struct {
		ImpressionID string `parquet:"impression_id"`
		TS           string `parquet:"ts"`
		UserID       string `parquet:"user_id"`
		AppID        string `parquet:"app_id"`
	}
	noUserID struct {
		ImpressionID string `parquet:"impression_id"`
		TS           int64  `parquet:"ts"`
		AppID        string `parquet:"app_id"`
	}
	appsAsInts struct {
		ImpressionID  string  `parquet:"impression_id"`
		TS            int64   `parquet:"ts"`
		UserID        string  `parquet:"user_id"`
		AppID         string  `parquet:"app_id"`
		InstalledApps []int64 `parquet:"installed_apps,list"`
	}
	structFeature struct {
		ImpressionID string `parquet:"impression_id"`
		TS           int64  `parquet:"ts"`
		UserID       string `parquet:"user_id"`
		AppID        string `parquet:"app_id"`
		Geo          struct {
			Lat float64 `parquet:"lat"`
			Lon float64 `parquet:"lon"`
		} `parquet:"geo"`
	}
	nullableIDs struct {
		ImpressionID *string `parquet:"impression_id,optional"`
		TS           int64   `parquet:"ts"`
		UserID       string  `parquet:"user_id"`
		AppID        string  `parquet:"app_id"`
	}
	labelledImpression struct {
		ImpressionID string `parquet:"impression_id"`
		TS           int64  `parquet:"ts"`
		UserID       string `parquet:"user_id"`
		AppID        string `parquet:"app_id"`
		Label        int32  `parquet:"label"`
	}
	badLabel struct {
		Label int64 `parquet:"label"`
	}
	nullableList struct {
		ImpressionID string    `parquet:"impression_id"`
		TS           int64     `parquet:"ts"`
		UserID       string    `parquet:"user_id"`
		AppID        string    `parquet:"app_id"`
		Apps         []*string `parquet:"apps,list"`
	}
)

func writeStructs[T any](t *testing.T, rows []T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParquetReaderRejects(t *testing.T) {
	s := func(v string) *string { return &v }
	tests := []struct {
		name     string
		data     []byte
		examples bool
		field    string
		problem  string
	}{
		{name: "ts as string", data: writeStructs(t, []tsAsString{{"i", "1", "u", "a"}}), field: "ts", problem: "want INT64"},
		{name: "missing user_id", data: writeStructs(t, []noUserID{{"i", 1, "a"}}), field: "user_id", problem: "missing column"},
		{name: "list of ints", data: writeStructs(t, []appsAsInts{{"i", 1, "u", "a", []int64{1}}}), field: "installed_apps", problem: "list of INT64"},
		{name: "struct feature", data: writeStructs(t, []structFeature{{ImpressionID: "i"}}), field: "geo", problem: "group of 2 leaf columns"},
		{name: "null impression_id", data: writeStructs(t, []nullableIDs{{s("i"), 1, "u", "a"}, {nil, 2, "u", "a"}}), field: "impression_id", problem: "null"},
		{name: "label in impressions", data: writeStructs(t, []labelledImpression{{"i", 1, "u", "a", 1}}), field: "label", problem: "reserved for examples"},
		{name: "label 2", data: writeStructs(t, []badLabel{{0}, {2}}), examples: true, field: "label", problem: "got 2, want 0 or 1"},
		{name: "missing label", data: writeStructs(t, []noUserID{{"i", 1, "a"}}), examples: true, field: "label", problem: "missing column"},
		{name: "null list element", data: writeStructs(t, []nullableList{{"i", 1, "u", "a", []*string{s("x"), nil}}}), field: "apps", problem: "list element 1 is null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := readAll(tt.data, tt.examples)
			checkFieldErrorWrapped(t, err, tt.field, tt.problem)
			if !strings.Contains(err.Error(), "bad.parquet") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// readAll reads every record of data and returns the first error.
func readAll(data []byte, examples bool) error {
	ra, size := bytes.NewReader(data), int64(len(data))
	if examples {
		r, err := NewExampleReader(ra, size, "bad.parquet")
		if err != nil {
			return err
		}
		defer r.Close()
		for {
			if err := r.Read(new(Example)); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		}
	}
	r, err := NewImpressionReader(ra, size, "bad.parquet")
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		if err := r.Read(new(Impression)); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func TestParquetOpenErrors(t *testing.T) {
	good := writeImpressions(t, testColumns, benchImpressions(10))
	tests := []struct {
		name string
		open func() error
		want string
	}{
		{"missing file", func() error { _, err := OpenImpressions("testdata/no-such.parquet"); return err }, "no-such.parquet"},
		{"garbage", func() error {
			_, err := NewImpressionReader(bytes.NewReader([]byte("not parquet at all")), 18, "garbage.parquet")
			return err
		}, "garbage.parquet"},
		{"truncated", func() error {
			_, err := NewExampleReader(bytes.NewReader(good[:len(good)/2]), int64(len(good)/2), "half.parquet")
			return err
		}, "half.parquet"},
		{"impressions as examples", func() error {
			_, err := NewExampleReader(bytes.NewReader(good), int64(len(good)), "imps.parquet")
			return err
		}, `imps.parquet: field "label": missing column`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.open()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
