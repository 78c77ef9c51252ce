package schemas

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkDecodeImpression decodes simulator-like impressions (4 fixed
// columns, 12 feature columns including a list of 10-40 app ids): in full
// (Impression) and only their join key after checking them (ImpressionKey).
func BenchmarkDecodeImpression(b *testing.B) {
	msgs := simulatedImpressions(256)
	for _, bc := range impressionDecoders {
		b.Run(bc.name, func(b *testing.B) {
			var d Decoder
			var imp Impression
			benchDecode(b, &d, &imp, bc.decode, msgs)
		})
	}
}

// BenchmarkDecodeAfterHostile decodes simulator-like impressions as
// BenchmarkDecodeImpression does, with a fresh Decoder and with one that
// first decoded a valid impression of about 1 MiB with 96,000 feature keys
// (into the same Impression): a hostile record must not slow the messages
// after it, so both ns/op match.
func BenchmarkDecodeAfterHostile(b *testing.B) {
	msgs := simulatedImpressions(256)
	hostile := hostileImpression(96_000, false)
	for _, bc := range impressionDecoders {
		for _, after := range []bool{false, true} {
			name := bc.name + "/fresh"
			if after {
				name = bc.name + "/after-hostile"
			}
			b.Run(name, func(b *testing.B) {
				var d Decoder
				var imp Impression
				if after {
					if err := bc.decode(&d, hostile, &imp); err != nil {
						b.Fatal(err)
					}
				}
				benchDecode(b, &d, &imp, bc.decode, msgs)
			})
		}
	}
}

// impressionDecoders are the two ways to decode an impression: in full
// (Impression) and only its join key after checking it (ImpressionKey).
var impressionDecoders = []struct {
	name   string
	decode func(*Decoder, []byte, *Impression) error
}{{"full", (*Decoder).Impression}, {"key", (*Decoder).ImpressionKey}}

// simulatedImpressions returns n generated impressions as JSON.
func simulatedImpressions(n int) [][]byte {
	r := rand.New(rand.NewPCG(7, 8))
	msgs := make([][]byte, n)
	for i := range msgs {
		imp := genImpression(r, i)
		msgs[i] = AppendImpressionJSON(nil, &imp)
	}
	return msgs
}

// benchDecode decodes msgs in turn with d into imp, b.N times in all.
func benchDecode(b *testing.B, d *Decoder, imp *Impression, decode func(*Decoder, []byte, *Impression) error, msgs [][]byte) {
	size := 0
	for _, m := range msgs {
		size += len(m)
	}
	b.SetBytes(int64(size / len(msgs)))
	b.ReportAllocs()
	cpu0 := processCPU()
	for i := 0; b.Loop(); i++ {
		if err := decode(d, msgs[i%len(msgs)], imp); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
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
