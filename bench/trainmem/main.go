// Command trainmem is the memory benchmark of the trainer (issue 4): it
// simulates a world, joins and featurizes it, trains a model of a spec on
// it with Trainer.Train (the training loop of backfill), and prints, as
// key=value lines:
//
//   - params: Model.Params();
//   - heap_model_bytes: heap in use after training minus heap in use
//     before the model was built (after a GC each time): the model, its
//     optimizer state and the trainer's buffers; bytes_per_param is it over
//     params;
//   - heap_total_bytes: heap in use after training, examples included;
//   - vmhwm_bytes: the process's peak resident memory (VmHWM of
//     /proc/self/status), the simulated world and examples included;
//     vmhwm_before_model_bytes is VmHWM just before the model was built, so
//     the difference is what training added to the peak;
//   - examples_per_s: the training loop's throughput (featurizing included).
//
// usage: go run [-tags openblas] ./bench/trainmem -spec configs/paper.yaml
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/internal/procstat"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/simulate"
	"github.com/wdstream/wdstream/trainer"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "trainmem:", err)
		os.Exit(1)
	}
}

func run() error {
	specPath := flag.String("spec", "configs/paper.yaml", "feature spec")
	users := flag.Int("users", 20000, "simulated users")
	apps := flag.Int("apps", 2000, "simulated apps")
	days := flag.Int("days", 2, "simulated days")
	perDay := flag.Int("per-day", 30000, "impressions per simulated day")
	limit := flag.Int("examples", 30000, "train on at most this many examples (0: all)")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "trainer workers")
	flag.Parse()

	sp, err := spec.Load(*specPath)
	if err != nil {
		return err
	}
	exs, err := world(simulate.Config{Seed: 1, Users: *users, Apps: *apps, Days: *days, ImpressionsPerDay: *perDay})
	if err != nil {
		return err
	}
	st, err := featurize.New(sp, featurize.Options{})
	if err != nil {
		return err
	}
	if err := st.Fit(exs); err != nil {
		return err
	}
	st.RefreshBoundaries()
	if *limit > 0 && len(exs) > *limit {
		exs = exs[:*limit]
	}
	heap0 := heapInUse()
	hwm0, err := vmHWM()
	if err != nil {
		return err
	}

	m, err := trainer.NewModel(sp, st.Layout())
	if err != nil {
		return err
	}
	tr := trainer.NewTrainer(m, *workers)
	start := time.Now()
	stats, err := tr.Train(context.Background(), st, exs, trainer.TrainOptions{BatchSize: sp.Model.BatchSize, Epochs: 1, Seed: 1})
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	heap1 := heapInUse()
	hwm1, err := vmHWM()
	if err != nil {
		return err
	}
	runtime.KeepAlive(exs)
	runtime.KeepAlive(tr)

	p := m.Params()
	fmt.Printf("spec=%s\nblas=%s\nworkers=%d\nbatch_size=%d\nexamples=%d\nparams=%d\n",
		*specPath, trainer.BLAS(), *workers, sp.Model.BatchSize, stats.Examples, p)
	fmt.Printf("examples_per_s=%.0f\nmean_loss=%.4f\n", float64(stats.Examples)/elapsed.Seconds(), stats.MeanLoss)
	fmt.Printf("heap_model_bytes=%d\nbytes_per_param=%.2f\nheap_total_bytes=%d\n", heap1-heap0, float64(heap1-heap0)/float64(p), heap1)
	fmt.Printf("vmhwm_before_model_bytes=%d\nvmhwm_bytes=%d\n", hwm0, hwm1)
	return nil
}

// world simulates a world and joins it offline with a 30-minute window.
func world(cfg simulate.Config) ([]schemas.Example, error) {
	w, err := simulate.NewWorld(cfg)
	if err != nil {
		return nil, err
	}
	return simulate.Examples(context.Background(), w, 30*time.Minute)
}

// heapInUse is the heap's bytes in use after a full collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// vmHWM reads the peak resident set size from /proc/self/status.
func vmHWM() (int64, error) { return procstat.Bytes("VmHWM") }
