package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/serve"
)

// TestServeArrow: the same candidates sent as JSON and as an Arrow IPC
// stream (in the example layout, or bare and in three batches, or from
// Python with pyarrow) get bit-identical scores and the same ranking, the
// answer an Arrow stream with the model and version in its metadata; bad
// Arrow bodies get a 4xx naming the column at fault.
func TestServeArrow(t *testing.T) {
	bf := newBackfilled(t)
	v := bf.publishAs(t, "sv", nil)
	base, _ := startServe(t, "--store", bf.url, "--model", "sv", "--split", "3")
	url := base + "/v1/models/sv/score"

	imps := readImpressions(t, filepath.Join(bf.world, "impressions", "day-002.parquet"))[:150]
	// The request's user_id and ts are imps[0]'s, for every candidate (the
	// spec reads neither, so the bare Arrow body may leave ts to the
	// server's clock).
	req := serve.Request{UserID: imps[0].UserID, TS: imps[0].TS}
	exs := make([]schemas.Example, len(imps))
	for i, imp := range imps {
		req.Candidates = append(req.Candidates, serve.CandidateOf(&imp))
		exs[i].Impression = imp
		exs[i].UserID, exs[i].TS = req.UserID, req.TS
		exs[i].Label = int32(i % 2)
	}
	want := score(t, base, "sv", req, 200)
	if want.Version != v {
		t.Fatalf("JSON answer by %s, want %s", want.Version, v)
	}
	sameAnswer := func(what string, bits []uint32, ranks []int32, model, version string) {
		t.Helper()
		if model != "sv" || version != v {
			t.Errorf("%s: model %q version %q, want sv %s", what, model, version, v)
		}
		if len(bits) != len(want.Scores) || len(ranks) != len(want.Scores) {
			t.Fatalf("%s: %d scores and %d ranks for %d candidates", what, len(bits), len(ranks), len(want.Scores))
		}
		for i, s := range want.Scores {
			if bits[i] != math.Float32bits(s) {
				t.Fatalf("%s: row %d scored %v, JSON %v (not bit-identical)", what, i, math.Float32frombits(bits[i]), s)
			}
		}
		for pos, i := range want.Ranking {
			if ranks[i] != int32(pos) {
				t.Fatalf("%s: row %d ranked %d, JSON ranks it %d", what, i, ranks[i], pos)
			}
		}
	}

	cols := featureColumns(exs)
	layout := schemas.ExampleArrowSchema(cols)
	bare := arrow.NewSchema(slices.DeleteFunc(slices.Clone(layout.Fields()), func(f arrow.Field) bool {
		return f.Name == schemas.ColImpressionID || f.Name == schemas.ColTS || f.Name == schemas.ColLabel || f.Name == schemas.ColInstallTS
	}), nil)
	for _, c := range []struct {
		name    string
		schema  *arrow.Schema
		batches int
	}{{"example layout", layout, 1}, {"bare, 3 batches", bare, 3}} {
		code, ct, body := postBody(t, url, serve.ArrowStream, arrowRequest(t, c.schema, exs, c.batches))
		if code != 200 || ct != serve.ArrowStream {
			t.Fatalf("%s: %d %s %q", c.name, code, ct, body)
		}
		bits, ranks, md := readArrowAnswer(t, body)
		sameAnswer(c.name, bits, ranks, md[serve.ArrowMetaModel], md[serve.ArrowMetaVersion])
	}

	// Bad bodies: 4xx naming the column, the error in JSON.
	many := slices.Repeat([]schemas.Example{{Impression: schemas.Impression{UserID: "u", AppID: "a"}}}, 10_001)
	numeric := ""
	for _, c := range cols {
		if c.Kind == schemas.KindNumber {
			numeric = c.Name
			break
		}
	}
	if numeric == "" {
		t.Fatalf("no numeric feature among %v", cols)
	}
	for _, c := range []struct {
		name string
		body []byte
		code int
		want string
	}{
		{"not Arrow", []byte(`{"user_id":"u","candidates":[{"app_id":"a"}]}`), 400, "body: not an Arrow IPC stream"},
		{"no app_id", arrowRows(t, `[{"name":"user_id","type":"utf8"}]`, `[{"user_id":"u"}]`), 400, "app_id: required column missing"},
		{"app_id int64", arrowRows(t, `[{"name":"user_id","type":"utf8"},{"name":"app_id","type":"int64"}]`, `[{"user_id":"u","app_id":1}]`), 400, "app_id: type int64, want utf8"},
		{"feature int64", arrowRows(t, `[{"name":"user_id","type":"utf8"},{"name":"app_id","type":"utf8"},{"name":"`+numeric+`","type":"int64"}]`, `[{"user_id":"u","app_id":"a","`+numeric+`":3}]`), 400, numeric + ": type int64"},
		{"feature of the wrong kind", arrowRows(t, `[{"name":"user_id","type":"utf8"},{"name":"app_id","type":"utf8"},{"name":"`+numeric+`","type":"utf8"}]`, `[{"user_id":"u","app_id":"a","`+numeric+`":"3"}]`), 400, numeric},
		{"null user_id", arrowRows(t, `[{"name":"user_id","type":"utf8"},{"name":"app_id","type":"utf8"}]`, `[{"user_id":null,"app_id":"a"}]`), 400, "user_id: row 0: null"},
		{"10,001 rows", arrowRequest(t, bare, many, 2), 400, "at most 10000 candidates"},
		{"past --max-body", bytes.Repeat([]byte{0}, 4<<20+1), 413, "body: more than"},
	} {
		code, ct, body := postBody(t, url, serve.ArrowStream, c.body)
		if code != c.code || ct != "application/json" || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: %d %s %s, want %d naming %q", c.name, code, ct, body, c.code, c.want)
		}
	}

	t.Run("python", func(t *testing.T) {
		py := testenv.Python(t)
		doc := struct {
			Columns [][2]string      `json:"columns"`
			Rows    []map[string]any `json:"rows"`
		}{}
		types := map[schemas.Kind]string{schemas.KindString: "utf8", schemas.KindNumber: "float64", schemas.KindBool: "bool", schemas.KindStrings: "list<utf8>"}
		for _, c := range cols {
			doc.Columns = append(doc.Columns, [2]string{c.Name, types[c.Kind]})
		}
		for i, c := range req.Candidates {
			row := map[string]any{"user_id": req.UserID, "app_id": c.AppID}
			for k, v := range c.Features {
				row[k] = v
			}
			if i == 0 {
				row[cols[0].Name] = nil // null: absent, as for JSON
			}
			doc.Rows = append(doc.Rows, row)
		}
		// The JSON answer for the rows as Python sends them.
		delete(req.Candidates[0].Features, cols[0].Name)
		want = score(t, base, "sv", req, 200)
		raw, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "candidates.json")
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(py, "testdata/score_arrow.py", url, path).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("score_arrow.py: %v\n%s%s", err, out, stderr)
		}
		var got struct {
			ContentType string   `json:"content_type"`
			Model       string   `json:"model"`
			Version     string   `json:"version"`
			ScoreBits   []uint32 `json:"score_bits"`
			Rank        []int32  `json:"rank"`
			Refused     struct {
				Status int    `json:"status"`
				Error  string `json:"error"`
			} `json:"refused"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("score_arrow.py printed %q: %v", out, err)
		}
		if got.ContentType != serve.ArrowStream {
			t.Errorf("answer's Content-Type %q, want %s", got.ContentType, serve.ArrowStream)
		}
		sameAnswer("python", got.ScoreBits, got.Rank, got.Model, got.Version)
		if got.Refused.Status != 400 || !strings.Contains(got.Refused.Error, "app_id: type int64") {
			t.Errorf("pyarrow table with an int64 app_id: %d %q, want 400 naming app_id", got.Refused.Status, got.Refused.Error)
		}
		t.Logf("%d candidates scored from pyarrow, bit-identical to JSON", len(got.ScoreBits))
	})
}

// arrowRequest writes exs as an Arrow IPC stream of schema's columns, in
// the given number of record batches.
func arrowRequest(t *testing.T, schema *arrow.Schema, exs []schemas.Example, batches int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	for k := range batches {
		rec, err := schemas.ExamplesToRecord(memory.DefaultAllocator, schema, exs[k*len(exs)/batches:(k+1)*len(exs)/batches])
		if err != nil {
			t.Fatal(err)
		}
		err = w.Write(rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// arrowRows writes one record batch of rows (arrow's JSON row format) with
// the fields of fieldsJSON ([{"name": ..., "type": "utf8"|"int64"}]).
func arrowRows(t *testing.T, fieldsJSON, rows string) []byte {
	t.Helper()
	var specs []struct{ Name, Type string }
	if err := json.Unmarshal([]byte(fieldsJSON), &specs); err != nil {
		t.Fatal(err)
	}
	var fs []arrow.Field
	for _, s := range specs {
		typ := arrow.DataType(arrow.BinaryTypes.String)
		if s.Type == "int64" {
			typ = arrow.PrimitiveTypes.Int64
		}
		fs = append(fs, arrow.Field{Name: s.Name, Type: typ, Nullable: true})
	}
	schema := arrow.NewSchema(fs, nil)
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(rows))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func postBody(t *testing.T, url, contentType string, body []byte) (int, string, []byte) {
	t.Helper()
	resp, err := testHTTP.Post(url, contentType, bytes.NewReader(body))
	return httpAnswer(t, resp, err)
}

// readArrowAnswer reads an Arrow answer: its scores' bit patterns, ranks
// and schema metadata, checking the columns' types.
func readArrowAnswer(t *testing.T, body []byte) ([]uint32, []int32, map[string]string) {
	t.Helper()
	r, err := ipc.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	want := arrow.NewSchema([]arrow.Field{{Name: serve.ArrowColScore, Type: arrow.PrimitiveTypes.Float32}, {Name: serve.ArrowColRank, Type: arrow.PrimitiveTypes.Int32}}, nil)
	if !r.Schema().Equal(want) {
		t.Fatalf("answer schema %v, want %v", r.Schema(), want)
	}
	md := map[string]string{}
	for i, k := range r.Schema().Metadata().Keys() {
		md[k] = r.Schema().Metadata().Values()[i]
	}
	var bits []uint32
	var ranks []int32
	for r.Next() {
		rec := r.Record()
		for _, s := range rec.Column(0).(*array.Float32).Float32Values() {
			bits = append(bits, math.Float32bits(s))
		}
		ranks = append(ranks, rec.Column(1).(*array.Int32).Int32Values()...)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return bits, ranks, md
}
