package schemas

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// countingWriter discards what it is given and counts the bytes.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func benchImpressions(n int) []Impression {
	r := rand.New(rand.NewPCG(11, 12))
	imps := make([]Impression, n)
	for i := range imps {
		imps[i] = genImpression(r, i)
	}
	return imps
}

// BenchmarkWriteImpressions writes simulator-like impressions (12 feature
// columns, one a list of 10-40 app ids) through an ImpressionWriter; one op
// is one row, and rows/s is reported. The file is finished every 256Ki rows
// so that footers and row-group flushes are part of the cost.
func BenchmarkWriteImpressions(b *testing.B) {
	for _, bc := range []struct {
		name string
		opt  Compression
	}{{"zstd", CompressionZstd}, {"snappy", CompressionSnappy}} {
		b.Run(bc.name, func(b *testing.B) {
			imps := benchImpressions(4096)
			var out countingWriter
			newWriter := func() *ImpressionWriter {
				w, err := NewImpressionWriter(&out, testColumns, WithCompression(bc.opt))
				if err != nil {
					b.Fatal(err)
				}
				return w
			}
			w := newWriter()
			b.ReportAllocs()
			cpu0 := processCPU()
			rows := 0
			for i := 0; b.Loop(); i++ {
				if err := w.Write(&imps[i%len(imps)]); err != nil {
					b.Fatal(err)
				}
				if rows++; rows == 256<<10 {
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
					w, rows = newWriter(), 0
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/row")
			b.ReportMetric(float64(out.n)/float64(b.N), "file-bytes/row")
		})
	}
}

// BenchmarkReadImpressions reads back a file of 64Ki impressions; one op is
// one row.
func BenchmarkReadImpressions(b *testing.B) {
	imps := benchImpressions(64 << 10)
	data := writeImpressions(b, testColumns, imps)
	b.ReportAllocs()
	cpu0 := processCPU()
	var imp Impression
	var r *ImpressionReader
	for b.Loop() {
		if r == nil {
			var err error
			if r, err = NewImpressionReader(bytes.NewReader(data), int64(len(data)), "bench.parquet"); err != nil {
				b.Fatal(err)
			}
		}
		err := r.Read(&imp)
		if errors.Is(err, io.EOF) {
			r.Close()
			r = nil
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/row")
}
