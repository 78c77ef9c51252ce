package featurize

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// BenchmarkJunkAdmission streams distinct junk user ids through Fit on a
// user_id vocabulary with the default 4 MiB admission sketch, with one
// genuine id out of a pool of 200 after every 100 junk ones, and reports the
// peak heap, the junk ids admitted and the genuine ids admitted. One op is
// the whole stream: run with -benchtime 1x. The stream has
// WDSTREAM_JUNK_N strings (default 10,000,000); bench/featurize-junk.sh
// runs it.
func BenchmarkJunkAdmission(b *testing.B) {
	n := 10_000_000
	if v := os.Getenv("WDSTREAM_JUNK_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("WDSTREAM_JUNK_N=%q: want a positive integer", v)
		}
	}
	for _, minCount := range []int{2, 5} {
		b.Run(fmt.Sprintf("min_count=%d/n=%d", minCount, n), func(b *testing.B) {
			for range b.N {
				junkRun(b, n, minCount)
			}
		})
	}
}

func junkRun(b *testing.B, n, minCount int) {
	sp := &spec.Spec{Version: 1, Features: []spec.Feature{{Name: "user_id", Type: spec.Categorical, Deep: true, MinCount: minCount, OOVBuckets: 100}}}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	s, err := New(sp, Options{})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 1024
	exs := make([]schemas.Example, batch)
	var buf []byte
	var peak uint64
	junk := 0
	for done := 0; done < n; {
		for i := range exs {
			if (done+i)%101 == 100 {
				exs[i].UserID = "real-" + strconv.Itoa((done+i)/101%200)
				continue
			}
			buf = strconv.AppendInt(append(buf[:0], "junk-"...), int64(junk), 10)
			exs[i].UserID = string(buf)
			junk++
		}
		if err := s.Fit(exs); err != nil {
			b.Fatal(err)
		}
		done += batch
		if done%(1<<18) < batch {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapInuse)
	v := s.Vocab("user_id")
	real, junkAdmitted := 0, 0
	for _, t := range v.tokens {
		if t[0] == 'r' {
			real++
		} else {
			junkAdmitted++
		}
	}
	b.ReportMetric(float64(peak-base)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(junkAdmitted), "junk-admitted")
	b.ReportMetric(float64(real), "real-admitted/200")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/string")
	st := s.Stats().Vocabs[0]
	b.Logf("%d strings (%d junk), min_count %d: sketch %d bytes, %d agings, %d junk admitted, %d of 200 real admitted, peak heap in use %.1f MiB above baseline",
		n, junk, minCount, st.SketchBytes, st.SketchAgings, junkAdmitted, real, float64(peak-base)/(1<<20))
}
