package spec

import (
	"os"
	"testing"
)

// BenchmarkParse measures loading the shipped specs (done once per process
// and once per stored model, so this only guards against pathologies).
func BenchmarkParse(b *testing.B) {
	for _, path := range shippedConfigs {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(path[len("../../configs/"):], func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Parse(path, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
