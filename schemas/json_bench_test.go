package schemas

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkDecodeImpression decodes simulator-like impressions (4 fixed
// columns, 12 feature columns including a list of 10-40 app ids): in full
// (Impression) and only their join key after checking them (ImpressionKey).
func BenchmarkDecodeImpression(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	msgs := make([][]byte, 256)
	size := 0
	for i := range msgs {
		imp := genImpression(r, i)
		msgs[i] = AppendImpressionJSON(nil, &imp)
		size += len(msgs[i])
	}
	for _, bc := range []struct {
		name   string
		decode func(*Decoder, []byte, *Impression) error
	}{{"full", (*Decoder).Impression}, {"key", (*Decoder).ImpressionKey}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(size / len(msgs)))
			b.ReportAllocs()
			var d Decoder
			var imp Impression
			cpu0 := processCPU()
			for i := 0; b.Loop(); i++ {
				if err := bc.decode(&d, msgs[i%len(msgs)], &imp); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

func BenchmarkEncodeImpression(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	imps := make([]Impression, 256)
	for i := range imps {
		imps[i] = genImpression(r, i)
	}
	b.ReportAllocs()
	var buf []byte
	for i := 0; b.Loop(); i++ {
		buf = AppendImpressionJSON(buf[:0], &imps[i%len(imps)])
	}
	b.SetBytes(int64(len(buf)))
}
