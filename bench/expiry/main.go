// Command expiry is the benchmark of expiring ids (spec features[].ttl):
// it streams a simulated app store with daily launches and delistings for
// many days through the streaming trainer's own steps (featurize.State's
// FitTransform, Trainer.Step, then State.Expire and Model.Forget after
// every batch, with the clock at the batch's newest example, as the train
// stage does with one partition), one day at a time: each day's
// impressions are labeled by the pipeline's offline join once the day's
// label window has closed, scored by the model as it stood at the end of
// the day before (the day's AUC: progressive validation, on examples the
// model has not trained on), then trained on. At the end of every day it
// prints, as one JSON object per line:
//
//   - day, examples, auc and log_loss of that day's scoring;
//   - per categorical feature with a ttl in the run (or app_id), ids (the
//     rows of its tables), admitted, free ids and evicted so far;
//   - params: Model.Params();
//   - version_bytes: the bytes of the files a published version of the
//     model would hold now (spec, featurizer state, weights);
//   - heap_bytes: the Go heap in use after a GC, the day's examples
//     dropped: the world (fixed), the featurizer state and the model;
//   - rss_bytes: the process's resident memory then (VmRSS, after
//     returning freed memory to the OS), and rss_peak_bytes (VmHWM).
//
// usage: go run ./bench/expiry -ttl 7d [-days 60 -impressions-per-day 50000
// -apps 2000 -churn 500 -features app_id -spec configs/playstore.yaml]
// >ttl.jsonl; go run ./bench/expiry -compare none=none.jsonl,7d=ttl.jsonl
// prints runs side by side (bench/expiry.sh runs it with and without the
// ttl and prints the comparison).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/internal/procstat"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/simulate"
	"github.com/wdstream/wdstream/trainer"
)

type vocabLine struct {
	IDs      int    `json:"ids"`
	Admitted int    `json:"admitted"`
	Free     int    `json:"free"`
	Evicted  uint64 `json:"evicted"`
}

type dayLine struct {
	Day          int                  `json:"day"`
	Examples     int                  `json:"examples"`
	AUC          float64              `json:"auc"`
	LogLoss      float64              `json:"log_loss"`
	Vocabs       map[string]vocabLine `json:"vocabs"`
	Params       int                  `json:"params"`
	VersionBytes int                  `json:"version_bytes"`
	HeapBytes    uint64               `json:"heap_bytes"`
	RSSBytes     int64                `json:"rss_bytes"`
	RSSPeakBytes int64                `json:"rss_peak_bytes"`
	Seconds      float64              `json:"seconds"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "expiry:", err)
		os.Exit(1)
	}
}

func run() error {
	specPath := flag.String("spec", "configs/playstore.yaml", "the spec to train")
	ttlFlag := flag.String("ttl", "0", `ttl set on the -features ("7d"; 0: none, the spec as written)`)
	features := flag.String("features", "app_id", "comma-separated categorical features that get -ttl")
	days := flag.Int("days", 60, "simulated days")
	perDay := flag.Int("impressions-per-day", 50_000, "impressions per simulated day")
	apps := flag.Int("apps", 2000, "apps in the store on the first day")
	churn := flag.Int("churn", 500, "apps launching and apps delisted every later day")
	seed := flag.Uint64("seed", 1, "seed of the world")
	workers := flag.Int("workers", 2, "trainer workers")
	cmp := flag.String("compare", "", "NAME=FILE,NAME=FILE: print the runs whose output the files hold side by side, and exit")
	every := flag.Int("every", 10, "with -compare: a row every this many days")
	flag.Parse()
	if *cmp != "" {
		var names []string
		var runs [][]dayLine
		for _, nf := range strings.Split(*cmp, ",") {
			name, file, ok := strings.Cut(nf, "=")
			if !ok {
				return fmt.Errorf("-compare: %q is not NAME=FILE", nf)
			}
			r, err := readLines(file)
			if err != nil {
				return err
			}
			names, runs = append(names, name), append(runs, r)
		}
		return compare(os.Stdout, strings.Split(*features, ","), max(*every, 1), names, runs)
	}

	ttl, err := spec.ParseDuration(*ttlFlag)
	if err != nil {
		return fmt.Errorf("-ttl: %w", err)
	}
	sp, err := spec.Load(*specPath)
	if err != nil {
		return err
	}
	watch := strings.Split(*features, ",")
	for _, name := range watch {
		i := slices.IndexFunc(sp.Features, func(f spec.Feature) bool { return f.Name == name })
		if i < 0 || sp.Features[i].Type == spec.Numeric {
			return fmt.Errorf("-features: %q is not a categorical feature of %s", name, *specPath)
		}
		sp.Features[i].TTL = ttl
	}
	window := sp.Join.LabelWindow.D()
	// One day more than trained: every day measured is measured while
	// the simulator runs (its state is freed when it ends).
	w, err := simulate.NewWorld(simulate.Config{Seed: *seed, Apps: *apps, NewAppsPerDay: *churn, DelistedPerDay: *churn,
		Days: *days + 1, ImpressionsPerDay: *perDay, LabelWindow: window})
	if err != nil {
		return err
	}

	d := &dayTrainer{sp: sp, watch: watch, workers: *workers, enc: json.NewEncoder(os.Stdout)}
	start, dayMS := w.Start(), (24 * time.Hour).Milliseconds()
	var imps []schemas.Impression
	var ins []schemas.Install
	day := 0
	// A day is labeled once the first event past its end plus the label
	// window arrives: every install that can label its impressions is in.
	flush := func() error {
		exs, _, err := join.Offline(imps, ins, window)
		if err != nil {
			return err
		}
		next := start + int64(day+1)*dayMS
		clear(imps) // the buffer keeps its capacity, not the impressions
		imps = imps[:0]
		ins = slices.DeleteFunc(ins, func(in schemas.Install) bool { return in.TS < next })
		err = d.day(day, exs)
		day++
		return err
	}
	if _, err := w.Run(context.Background(), func(e simulate.Event) error {
		for day < *days && e.TS() >= start+int64(day+1)*dayMS+window.Milliseconds() {
			if err := flush(); err != nil {
				return err
			}
		}
		if e.Impression != nil {
			imps = append(imps, *e.Impression)
		} else {
			ins = append(ins, *e.Install)
		}
		return nil
	}); err != nil {
		return err
	}
	if day < *days {
		return fmt.Errorf("the world ended after %d of %d days", day, *days)
	}
	return nil
}

// dayTrainer trains day after day as the train stage does.
type dayTrainer struct {
	sp      *spec.Spec
	watch   []string
	workers int
	enc     *json.Encoder

	st    *featurize.State
	model *trainer.Model
	tr    *trainer.Trainer
	batch featurize.Batch
}

func (d *dayTrainer) day(day int, exs []schemas.Example) error {
	t0 := time.Now()
	line := dayLine{Day: day + 1, Examples: len(exs), Vocabs: map[string]vocabLine{}}
	if d.st == nil {
		// The first day bootstraps: fit it, fix the boundaries, train.
		st, err := featurize.New(d.sp, featurize.Options{})
		if err != nil {
			return err
		}
		if err := st.Fit(exs); err != nil {
			return err
		}
		st.RefreshBoundaries()
		if d.model, err = trainer.NewModel(d.sp, st.Layout()); err != nil {
			return err
		}
		d.st, d.tr = st, trainer.NewTrainer(d.model, d.workers)
	} else {
		m, _, err := d.tr.Evaluate(d.st, exs)
		if err != nil {
			return err
		}
		line.AUC, line.LogLoss = m.AUC, m.LogLoss
	}
	bs := d.sp.Model.BatchSize
	for lo := 0; lo < len(exs); lo += bs {
		chunk := exs[lo:min(lo+bs, len(exs))]
		var clock int64
		for i := range chunk {
			clock = max(clock, chunk[i].TS)
		}
		if err := d.st.FitTransform(&d.batch, chunk); err != nil {
			return err
		}
		d.tr.Step(&d.batch, nil)
		d.model.Forget(d.st.Expire(clock))
	}
	for _, name := range d.watch {
		v := d.st.Vocab(name)
		line.Vocabs[name] = vocabLine{IDs: v.Size(), Admitted: v.Len(), Free: v.Free(), Evicted: v.Evicted()}
	}
	line.Params = d.model.Params()
	files, err := (&publisher.Bundle{Spec: d.sp, State: d.st, Model: d.model}).Files()
	if err != nil {
		return err
	}
	for _, b := range files {
		line.VersionBytes += len(b)
	}
	line.Seconds = time.Since(t0).Seconds()
	runtime.GC() // exs is dead from here: the day's examples go
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	line.HeapBytes = ms.HeapAlloc
	if line.RSSBytes, err = procstat.Bytes("VmRSS"); err != nil {
		return err
	}
	if line.RSSPeakBytes, err = procstat.Bytes("VmHWM"); err != nil {
		return err
	}
	return d.enc.Encode(line)
}
