package ingest

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wdstream/wdstream/schemas"
)

// TestAppendExample checks the examples encoding of the join stage: the
// impression's message with label and install_ts appended decodes
// (schemas.Decoder.Example) to the same example as the compact encoding
// schemas.AppendExampleJSON writes of the decoded impression.
func TestAppendExample(t *testing.T) {
	raws := []string{
		`{"impression_id":"a","ts":1,"user_id":"u","app_id":"x"}`,
		" \t{ \"app_id\" : \"x\", \"ts\":2 ,\"user_id\":\"u\",\"impression_id\":\"b\" }\r\n ",
		`{"impression_id":"c\u00e9\"q","ts":3,"user_id":"u","app_id":"x","n":1.5e3,"z":null,"l":["p","q"],"b":true,"s":"v"}`,
	}
	for _, e := range simEvents(t, 300) {
		if e.Impression != nil {
			raws = append(raws, string(schemas.AppendImpressionJSON(nil, e.Impression)))
		}
	}
	var dec schemas.Decoder
	for _, raw := range raws {
		var imp schemas.Impression
		if err := dec.Impression([]byte(raw), &imp); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		for _, label := range []int32{0, 1} {
			want := schemas.Example{Impression: imp, Label: label, InstallTS: 77, HasInstallTS: label == 1}
			if label == 0 {
				want.InstallTS = 0
			}
			var fromCompact, fromSplice schemas.Example
			if err := dec.Example(schemas.AppendExampleJSON(nil, &want), &fromCompact); err != nil {
				t.Fatal(err)
			}
			spliced := appendExample([]byte("prefix"), []byte(raw), label, 77)
			if string(spliced[:6]) != "prefix" {
				t.Fatalf("dst not kept: %q", spliced)
			}
			if err := dec.Example(spliced[6:], &fromSplice); err != nil {
				t.Fatalf("%s: %v", spliced[6:], err)
			}
			if !reflect.DeepEqual(fromSplice, fromCompact) {
				t.Fatalf("%s:\nspliced %+v\ncompact %+v", spliced[6:], fromSplice, fromCompact)
			}
		}
	}
}

func TestReasonHeaderCapped(t *testing.T) {
	if got := string(reasonHeader("short")); got != "short" {
		t.Fatalf("short reason: %q", got)
	}
	long := strings.Repeat("é", 600_000) // 1.2 MB, two bytes a rune
	got := reasonHeader("bad key " + long)
	if len(got) > maxReasonBytes+64 {
		t.Fatalf("reason of %d bytes, want at most %d", len(got), maxReasonBytes+64)
	}
	if !utf8.Valid(got) || !strings.HasSuffix(string(got), "more bytes)") {
		t.Fatalf("reason %q...: not valid UTF-8 or without the note of what was cut", got[:40])
	}
}
