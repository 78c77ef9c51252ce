// Command featdump writes the input of the trainer benchmarks
// (trainer/train_bench_test.go) for the PyTorch reference
// (bench/reference/torch_widedeep.py): the same simulated world (seed 1:
// 4,000 users, 800 apps, 2 days of 15,000 impressions, joined with a
// 30-minute label window), featurized by the product's featurizer for each
// spec given (Fit on every example, RefreshBoundaries, Transform), as raw
// .npy files that numpy reads, with the model's shapes in meta.json. It also
// trains the Go model one pass over the spec's batches (fresh model,
// batches in order, Trainer.Step) and records its log loss, so that the
// reference can show it solves the same problem.
//
// For each spec, OUT/NAME/ (NAME the spec's name) holds, for the N examples
// in the world's order (the benchmarks cut them into batches, dropping the
// tail):
//
//   - labels.npy: float32 [N];
//   - wide_offsets.npy: int64 [N+1], example i's wide entries are
//     [wide_offsets[i], wide_offsets[i+1]) of wide_slots.npy (int32, an
//     index into meta.json's wide_slots) and wide_ids.npy (int32, the id in
//     the slot's own id space); every entry's value is 1;
//   - deep_F_ids.npy: int32, the ids of deep field F (meta.json's
//     deep_fields[F]): one per example, or, for a list field, example i's
//     ids at [deep_F_offsets[i], deep_F_offsets[i+1]) (int64 [N+1]);
//   - dense.npy: float32 [N, D], the normalized numeric columns;
//   - meta.json, written last: the layout (slot and field sizes, embedding
//     dims, combiners, dense column names), the spec's model section, and
//     the Go pass's figures.
//
// usage: go run ./bench/featdump -out DIR configs/playstore.yaml configs/paper.yaml
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/simulate"
	"github.com/wdstream/wdstream/trainer"
)

// benchWorld is the world of trainer/train_bench_test.go's worldExamples.
var benchWorld = simulate.Config{Seed: 1, Users: 4000, Apps: 800, Days: 2, ImpressionsPerDay: 15000}

const labelWindow = 30 * time.Minute

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "featdump:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "", "output directory (required)")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "trainer workers of the Go pass")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: featdump -out DIR SPEC...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	w, err := simulate.NewWorld(benchWorld)
	if err != nil {
		return err
	}
	exs, err := simulate.Examples(context.Background(), w, labelWindow)
	if err != nil {
		return err
	}
	for _, path := range flag.Args() {
		if err := dump(*out, path, exs, *workers); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

// meta is meta.json.
type meta struct {
	Spec     string      `json:"spec"`
	Name     string      `json:"name"`
	World    string      `json:"world"`
	Examples int         `json:"examples"`
	Wide     []wideSlot  `json:"wide_slots"`
	Deep     []deepField `json:"deep_fields"`
	Dense    []string    `json:"dense"`
	Model    model       `json:"model"`
	Go       goPass      `json:"go"`
}

// model is the spec's model section.
type model struct {
	Mode        string  `json:"mode"`
	Hidden      []int   `json:"hidden"`
	Interaction string  `json:"interaction"`
	BatchSize   int     `json:"batch_size"`
	Seed        int64   `json:"seed"`
	FTRLAlpha   float64 `json:"ftrl_alpha"`
	FTRLBeta    float64 `json:"ftrl_beta"`
	FTRLL1      float64 `json:"ftrl_l1"`
	FTRLL2      float64 `json:"ftrl_l2"`
	AdaGradLR   float64 `json:"adagrad_learning_rate"`
	AdaGradAcc0 float64 `json:"adagrad_initial_accumulator"`
}

type wideSlot struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // categorical, bucketized or cross
	Size int    `json:"size"`
}

type deepField struct {
	Name     string `json:"name"`
	Multi    bool   `json:"multi"`
	Combiner string `json:"combiner"`
	Dim      int    `json:"dim"`
	Size     int    `json:"size"`
}

// goPass is the Go trainer's pass over the spec's batches.
type goPass struct {
	BLAS       string  `json:"blas"`
	Workers    int     `json:"workers"`
	BatchSize  int     `json:"batch_size"`
	Batches    int     `json:"batches"`
	Params     int     `json:"params"`
	PassLoss   float64 `json:"pass_logloss"`  // mean of Step's batch losses (before each update)
	AfterLoss  float64 `json:"after_logloss"` // log loss of the trained model on the same batches
	ExamplesPS float64 `json:"examples_per_s"`
}

func dump(out, path string, exs []schemas.Example, workers int) error {
	sp, err := spec.Load(path)
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
	var all featurize.Batch
	if err := st.Transform(&all, exs); err != nil {
		return err
	}
	layout := st.Layout()
	dir := filepath.Join(out, sp.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mc := sp.Model
	m := meta{Spec: path, Name: sp.Name, Examples: all.N, Dense: layout.Dense,
		World: fmt.Sprintf("seed %d, %d users, %d apps, %d days of %d impressions, label window %s",
			benchWorld.Seed, benchWorld.Users, benchWorld.Apps, benchWorld.Days, benchWorld.ImpressionsPerDay, labelWindow),
		Model: model{Mode: string(mc.Mode), Hidden: mc.Hidden, Interaction: string(mc.Interaction.OrNone()),
			BatchSize: mc.BatchSize, Seed: mc.Seed,
			FTRLAlpha: mc.FTRL.Alpha, FTRLBeta: mc.FTRL.Beta, FTRLL1: mc.FTRL.L1, FTRLL2: mc.FTRL.L2,
			AdaGradLR: mc.AdaGrad.LearningRate, AdaGradAcc0: mc.AdaGrad.InitialAccumulator}}
	for _, s := range layout.Wide {
		m.Wide = append(m.Wide, wideSlot{Name: s.Name, Kind: s.Kind.String(), Size: s.Size()})
	}
	files := []struct {
		name  string
		shape []int
		data  any
	}{
		{"labels", []int{all.N}, all.Labels},
		{"wide_offsets", []int{all.N + 1}, widen(all.WideOffsets)},
		{"wide_slots", []int{len(all.WideSlots)}, all.WideSlots},
		{"wide_ids", []int{len(all.WideIDs)}, all.WideIDs},
		{"dense", []int{all.N, all.DenseDim}, all.Dense},
	}
	for f, d := range layout.Deep {
		m.Deep = append(m.Deep, deepField{Name: d.Name, Multi: d.Multi, Combiner: string(d.Combiner), Dim: d.EmbeddingDim, Size: d.Size()})
		bd := &all.Deep[f]
		files = append(files, struct {
			name  string
			shape []int
			data  any
		}{fmt.Sprintf("deep_%d_ids", f), []int{len(bd.IDs)}, bd.IDs})
		if d.Multi {
			files = append(files, struct {
				name  string
				shape []int
				data  any
			}{fmt.Sprintf("deep_%d_offsets", f), []int{all.N + 1}, widen(bd.Offsets)})
		}
	}
	for _, f := range files {
		if err := writeNPY(filepath.Join(dir, f.name+".npy"), f.shape, f.data); err != nil {
			return err
		}
	}
	if m.Go, err = goOnePass(sp, st, exs, workers); err != nil {
		return err
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "featdump: %s: %d examples, %d wide entries, Go pass log loss %.4f (after %.4f), %d params -> %s\n",
		sp.Name, all.N, len(all.WideIDs), m.Go.PassLoss, m.Go.AfterLoss, m.Go.Params, dir)
	return nil
}

// goOnePass trains a fresh model one pass over the spec's batches, in order
// (the benchmark's batches: full ones only), and scores them after.
func goOnePass(sp *spec.Spec, st *featurize.State, exs []schemas.Example, workers int) (goPass, error) {
	bs := sp.Model.BatchSize
	var batches []*featurize.Batch
	for lo := 0; lo+bs <= len(exs); lo += bs {
		b := new(featurize.Batch)
		if err := st.Transform(b, exs[lo:lo+bs]); err != nil {
			return goPass{}, err
		}
		batches = append(batches, b)
	}
	m, err := trainer.NewModel(sp, st.Layout())
	if err != nil {
		return goPass{}, err
	}
	tr := trainer.NewTrainer(m, workers)
	var sum float64
	t0 := time.Now()
	for _, b := range batches {
		l, _ := tr.Step(b, nil)
		sum += l
	}
	elapsed := time.Since(t0)
	var after float64
	var p []float32
	for _, b := range batches {
		p = tr.Predict(p, b)
		for i, q := range p {
			after += logLoss(float64(q), float64(b.Labels[i]))
		}
	}
	n := len(batches)
	return goPass{BLAS: trainer.BLAS(), Workers: workers, BatchSize: bs, Batches: n, Params: m.Params(),
		PassLoss: sum / float64(n), AfterLoss: after / float64(n*bs),
		ExamplesPS: float64(n*bs) / elapsed.Seconds()}, nil
}

func logLoss(p, y float64) float64 {
	p = min(max(p, 1e-7), 1-1e-7)
	return -(y*math.Log(p) + (1-y)*math.Log(1-p))
}

// widen returns int32 offsets as int64, the index type of PyTorch's
// EmbeddingBag offsets.
func widen(s []int32) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}

// writeNPY writes data (a []float32, []int32 or []int64) as a version 1.0
// .npy file of the given C-order shape.
func writeNPY(path string, shape []int, data any) error {
	var descr string
	switch data.(type) {
	case []float32:
		descr = "<f4"
	case []int32:
		descr = "<i4"
	case []int64:
		descr = "<i8"
	default:
		return fmt.Errorf("writeNPY %s: unsupported type %T", path, data)
	}
	dims := ""
	for _, d := range shape {
		dims += fmt.Sprintf("%d, ", d)
	}
	if len(shape) > 1 {
		dims = dims[:len(dims)-2]
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims)
	// magic (6) + version (2) + header length (2) + header + '\n' is a
	// multiple of 64.
	pad := 64 - (10+len(header)+1)%64
	if pad == 64 {
		pad = 0
	}
	for range pad {
		header += " "
	}
	header += "\n"
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	// bufio.Writer keeps its first error: the Flush below reports it.
	_, _ = w.WriteString("\x93NUMPY\x01\x00")
	_, _ = w.Write(binary.LittleEndian.AppendUint16(nil, uint16(len(header))))
	_, _ = w.WriteString(header)
	if err := binary.Write(w, binary.LittleEndian, data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
