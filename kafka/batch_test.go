package ingest

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// batchRecords covers what the stage produces: keys, JSON values, headers,
// and the edge cases of the encoding (no key, no value, an empty value, a
// header without value, a value long enough for multi-byte lengths).
func batchRecords() []outRecord {
	recs := []outRecord{
		{key: []byte("u000875"), value: []byte(`{"impression_id":"i7-1","ts":1,"label":0,"install_ts":null}`),
			headers: []kafka.Header{{Key: "impression_id", Value: []byte("i7-1")}, {Key: "src_offset", Value: []byte("0")}}},
		{value: []byte("no key")},
		{key: []byte("no value")},
		{key: []byte("empty value"), value: []byte{}},
		{key: []byte("k"), value: []byte("v"), headers: []kafka.Header{{Key: "reason", Value: nil}, {Key: "", Value: []byte{}}}},
		{key: []byte("long"), value: []byte(strings.Repeat("x", 70_000))},
	}
	for i := range 300 {
		recs = append(recs, outRecord{key: []byte(fmt.Sprint("u", i%7)), value: []byte(fmt.Sprintf(`{"n":%d}`, i))})
	}
	return recs
}

// TestBatchEncoderMatchesKafkaGo checks the uncompressed batch byte for byte
// against kafka-go's own encoder (which the stage used before), and that
// kafka-go's decoder (which checks the CRC) reads every codec's batch back.
func TestBatchEncoderMatchesKafkaGo(t *testing.T) {
	recs := batchRecords()
	now := time.UnixMilli(1_704_068_659_227)
	kr := make([]kafka.Record, len(recs))
	for i, r := range recs {
		kr[i] = kafka.Record{Time: now, Headers: r.headers}
		if r.key != nil {
			kr[i].Key = kafka.NewBytes(r.key)
		}
		if r.value != nil {
			kr[i].Value = kafka.NewBytes(r.value)
		}
	}
	var want bytes.Buffer
	rs := protocol.RecordSet{Version: 2, Records: kafka.NewRecordReader(kr...)}
	if _, err := rs.WriteTo(&want); err != nil {
		t.Fatal(err)
	}
	got, err := newBatchEncoder(0).encode(recs, now)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("uncompressed batch differs from kafka-go's: %d bytes, want %d", len(got), want.Len())
	}

	for _, c := range []kafka.Compression{0, kafka.Gzip, kafka.Snappy, kafka.Lz4, kafka.Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			enc := newBatchEncoder(c)
			for round := range 2 { // the encoder reuses its buffers
				b, err := enc.encode(recs[round:], now)
				if err != nil {
					t.Fatal(err)
				}
				var back protocol.RecordSet
				if _, err := back.ReadFrom(bytes.NewReader(b)); err != nil {
					t.Fatal(err)
				}
				if back.Attributes.Compression() != c {
					t.Errorf("compression %v, want %v", back.Attributes.Compression(), c)
				}
				checkRecords(t, back.Records, recs[round:], now)
			}
		})
	}
}

func checkRecords(t *testing.T, rr protocol.RecordReader, want []outRecord, now time.Time) {
	t.Helper()
	for i, w := range want {
		r, err := rr.ReadRecord()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if r.Offset != int64(i) || !r.Time.Equal(now) {
			t.Errorf("record %d: offset %d time %v, want %d %v", i, r.Offset, r.Time, i, now)
		}
		for _, f := range []struct {
			name string
			got  protocol.Bytes
			want []byte
		}{{"key", r.Key, w.key}, {"value", r.Value, w.value}} {
			if (f.got == nil) != (f.want == nil) {
				t.Fatalf("record %d: %s nil is %v, want %v", i, f.name, f.got == nil, f.want == nil)
			}
			if f.got != nil {
				b, err := io.ReadAll(f.got)
				if err != nil || !bytes.Equal(b, f.want) {
					t.Fatalf("record %d: %s %.40q (%v), want %.40q", i, f.name, b, err, f.want)
				}
			}
		}
		if len(r.Headers) != len(w.headers) {
			t.Fatalf("record %d: %d headers, want %d", i, len(r.Headers), len(w.headers))
		}
		for k, h := range r.Headers {
			if h.Key != w.headers[k].Key || !bytes.Equal(h.Value, w.headers[k].Value) || (h.Value == nil) != (w.headers[k].Value == nil) {
				t.Errorf("record %d header %d: %q=%q, want %q=%q", i, k, h.Key, h.Value, w.headers[k].Key, w.headers[k].Value)
			}
		}
	}
	if _, err := rr.ReadRecord(); err != io.EOF {
		t.Fatalf("after the last record: %v, want io.EOF", err)
	}
}
