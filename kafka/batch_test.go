package kafka

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	kg "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// batchRecords covers what the stage produces: keys, JSON values, headers,
// and the edge cases of the encoding (no key, no value, an empty value, a
// header without value, a value long enough for multi-byte lengths).
func batchRecords() []Record {
	recs := []Record{
		{Key: []byte("u000875"), Value: []byte(`{"impression_id":"i7-1","ts":1,"label":0,"install_ts":null}`),
			Headers: []Header{{Key: "impression_id", Value: []byte("i7-1")}, {Key: "src_offset", Value: []byte("0")}}},
		{Value: []byte("no key")},
		{Key: []byte("no value")},
		{Key: []byte("empty value"), Value: []byte{}},
		{Key: []byte("k"), Value: []byte("v"), Headers: []Header{{Key: "reason", Value: nil}, {Key: "", Value: []byte{}}}},
		{Key: []byte("long"), Value: []byte(strings.Repeat("x", 70_000))},
	}
	for i := range 300 {
		recs = append(recs, Record{Key: []byte(fmt.Sprint("u", i%7)), Value: []byte(fmt.Sprintf(`{"n":%d}`, i))})
	}
	return recs
}

// TestBatchEncoderMatchesKafkaGo checks the uncompressed batch byte for byte
// against kafka-go's own encoder (which the stage used before), and that
// kafka-go's decoder (which checks the CRC) reads every codec's batch back.
func TestBatchEncoderMatchesKafkaGo(t *testing.T) {
	recs := batchRecords()
	now := time.UnixMilli(1_704_068_659_227)
	kr := make([]kg.Record, len(recs))
	for i, r := range recs {
		kr[i] = kg.Record{Time: now, Headers: r.Headers}
		if r.Key != nil {
			kr[i].Key = kg.NewBytes(r.Key)
		}
		if r.Value != nil {
			kr[i].Value = kg.NewBytes(r.Value)
		}
	}
	var want bytes.Buffer
	rs := protocol.RecordSet{Version: 2, Records: kg.NewRecordReader(kr...)}
	if _, err := rs.WriteTo(&want); err != nil {
		t.Fatal(err)
	}
	got, err := newBatchEncoder(None).encode(recs, now)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("uncompressed batch differs from kafka-go's: %d bytes, want %d", len(got), want.Len())
	}

	for _, c := range []Compression{None, Gzip, Snappy, Lz4, Zstd} {
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
				if back.Attributes.Compression() != c.kafkaGo() {
					t.Errorf("compression %v, want %v", back.Attributes.Compression(), c.kafkaGo())
				}
				checkRecords(t, back.Records, recs[round:], now)
			}
		})
	}
}

func checkRecords(t *testing.T, rr protocol.RecordReader, want []Record, now time.Time) {
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
		}{{"key", r.Key, w.Key}, {"value", r.Value, w.Value}} {
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
		if len(r.Headers) != len(w.Headers) {
			t.Fatalf("record %d: %d headers, want %d", i, len(r.Headers), len(w.Headers))
		}
		for k, h := range r.Headers {
			if h.Key != w.Headers[k].Key || !bytes.Equal(h.Value, w.Headers[k].Value) || (h.Value == nil) != (w.Headers[k].Value == nil) {
				t.Errorf("record %d header %d: %q=%q, want %q=%q", i, k, h.Key, h.Value, w.Headers[k].Key, w.Headers[k].Value)
			}
		}
	}
	if _, err := rr.ReadRecord(); err != io.EOF {
		t.Fatalf("after the last record: %v, want io.EOF", err)
	}
}
