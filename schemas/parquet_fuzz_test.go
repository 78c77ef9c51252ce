package schemas

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
)

// FuzzReadParquet feeds corrupted files to the readers: they must return
// errors, never panic (parquet-go's own panics on bad input are recovered
// into errors).
func FuzzReadParquet(f *testing.F) {
	for _, name := range []string{"testdata/pyarrow_impressions.parquet", "testdata/pyarrow_examples.parquet"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(writeImpressions(f, testColumns, benchImpressions(3), WithCompression(CompressionNone)))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewImpressionReader(bytes.NewReader(data), int64(len(data)), "fuzz.parquet")
		if err != nil {
			return
		}
		defer r.Close()
		var imp Impression
		for range 1000 {
			if err := r.Read(&imp); err != nil {
				if !errors.Is(err, io.EOF) && err.Error() == "" {
					t.Fatal("empty error")
				}
				return
			}
		}
	})
}

// TestParquetCorruptFiles mutates valid files (bytes replaced, deleted,
// inserted) and reads them: every outcome must be a clean error or data,
// never a panic or a huge allocation. Regressions found this way: a
// footer length past the file made parquet-go allocate 2.4 GiB, and a
// bad page made it panic with a slice out of range.
func TestParquetCorruptFiles(t *testing.T) {
	pyarrow, err := os.ReadFile("testdata/pyarrow_impressions.parquet")
	if err != nil {
		t.Fatal(err)
	}
	ours := writeImpressions(t, testColumns, benchImpressions(3), WithCompression(CompressionNone))
	for _, seed := range []struct {
		name string
		data []byte
	}{{"pyarrow", pyarrow}, {"ours", ours}} {
		t.Run(seed.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 1))
			var ms runtime.MemStats
			for k := range 1500 {
				data := bytes.Clone(seed.data)
				for range 1 + r.IntN(3) {
					i, v := r.IntN(len(data)), byte(r.IntN(256))
					switch r.IntN(3) {
					case 0:
						data[i] = v
					case 1:
						data = append(data[:i:i], data[i+1:]...)
					default:
						data = append(data[:i:i], append([]byte{v}, data[i:]...)...)
					}
				}
				runtime.ReadMemStats(&ms)
				before := ms.TotalAlloc
				readAllImpressions(data)
				runtime.ReadMemStats(&ms)
				if grew := ms.TotalAlloc - before; grew > 256<<20 {
					t.Fatalf("mutation %d: reading a %d-byte file allocated %d MiB", k, len(data), grew>>20)
				}
			}
		})
	}
}

// readAllImpressions reads data to its end or first error.
func readAllImpressions(data []byte) {
	r, err := NewImpressionReader(bytes.NewReader(data), int64(len(data)), "corrupt.parquet")
	if err != nil {
		return
	}
	defer r.Close()
	var imp Impression
	for range 1000 {
		if r.Read(&imp) != nil {
			return
		}
	}
}
