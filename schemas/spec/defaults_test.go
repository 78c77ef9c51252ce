package spec

import (
	"reflect"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	data := `version: 1
features:
  - name: app_id
    type: categorical
    wide: true
  - name: installed_apps
    type: categorical_list
  - name: price
    type: numeric
crosses:
  - columns: [installed_apps, app_id]
hooks:
  webhooks:
    - url: https://hooks.example/x
  commands:
    - argv: [notify]
  kafka:
    -
`
	got, err := Parse("configs/minimal.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := &Spec{
		Version: 1,
		Name:    "minimal",
		Features: []Feature{
			{Name: "app_id", Type: Categorical, Wide: true, Deep: true, EmbeddingDim: 8, MinCount: 1, OOVBuckets: 1},
			{Name: "installed_apps", Type: CategoricalList, Deep: true, EmbeddingDim: 8, Combiner: CombinerMean, MaxLength: 256, MinCount: 1, OOVBuckets: 1},
			{Name: "price", Type: Numeric, Deep: true, Quantiles: 20},
		},
		Crosses: []Cross{{Name: "installed_apps_x_app_id", Columns: []string{"installed_apps", "app_id"}, HashBuckets: 100000}},
		Join:    Join{LabelWindow: Duration(30 * time.Minute), IdleAdvance: Duration(time.Minute), MaxPending: 2000000},
		Model: Model{
			Mode: ModeWideDeep, Hidden: []int{64, 32}, Interaction: InteractionNone, BatchSize: 256, Epochs: 1, Seed: 1, NegativeSampling: 1,
			EarlyStopping: EarlyStopping{Validation: 0.1, Patience: 1},
			FTRL:          FTRL{Alpha: 0.1, Beta: 0.01, L1: 0.001, L2: 0},
			AdaGrad:       AdaGrad{LearningRate: 0.05, InitialAccumulator: 0.0001},
		},
		Validation: Validation{
			MinAUC: 0.5, MaxLogLoss: 1, Calibration: []float64{0.5, 2}, MaxAUCDrop: 0.01, MaxLogLossRise: 0.01,
			LatencyBudget: Duration(50 * time.Millisecond), Examples: 20000,
			Drift: Drift{Action: DriftWarn, MaxLInf: 0.3, MaxJS: 0.1, MaxMissing: 0.1, MinExamples: 100},
		},
		Publish: Publish{Every: Duration(5 * time.Minute), Retain: 10},
		Hooks: Hooks{
			Webhooks: []Webhook{{URL: "https://hooks.example/x", Timeout: Duration(5 * time.Second), Retries: 3}},
			Commands: []Command{{Argv: []string{"notify"}, Timeout: Duration(30 * time.Second)}},
			Kafka:    []KafkaHook{{Topic: "model-events"}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults:\ngot  %+v\nwant %+v", got, want)
	}
}

// An explicit zero or false is kept, never replaced by the default.
func TestExplicitZeroKept(t *testing.T) {
	data := `version: 1
name: ""
features:
  - name: app_id
    type: categorical
    wide: true
    deep: false
    oov_buckets: 0
model:
  mode: wide
  seed: 0
  ftrl:
    beta: 0
    l1: 0
validation:
  min_auc: 0
  max_auc_drop: 0
  max_logloss_rise: 0
publish:
  every: 0s
  every_examples: 5000
`
	s, err := Parse("zero.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"name", s.Name, ""},
		{"deep", s.Features[0].Deep, false},
		{"oov_buckets", s.Features[0].OOVBuckets, 0},
		{"OOV()", s.Features[0].OOV(), 1},
		{"seed", s.Model.Seed, int64(0)},
		{"beta", s.Model.FTRL.Beta, 0.0},
		{"l1", s.Model.FTRL.L1, 0.0},
		{"min_auc", s.Validation.MinAUC, 0.0},
		{"max_auc_drop", s.Validation.MaxAUCDrop, 0.0},
		{"max_logloss_rise", s.Validation.MaxLogLossRise, 0.0},
		{"every", s.Publish.Every, Duration(0)},
		{"every_examples", s.Publish.EveryExamples, 5000},
		{"alpha default", s.Model.FTRL.Alpha, 0.1},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
}

// Sections written with nothing under them (keys commented out) are empty
// and take their defaults.
func TestNullSection(t *testing.T) {
	data := base + "hooks:\n  # webhooks:\n  #   - url: https://x\nmodel:\n"
	s, err := Parse("x.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if s.Model.BatchSize != 256 || len(s.Hooks.Webhooks) != 0 {
		t.Errorf("got model %+v hooks %+v, want defaults", s.Model, s.Hooks)
	}
}

func TestNumberForms(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"2000000", 2000000},
		{"2e6", 2000000},
		{"0x10", 16},
		{"+7", 7},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := Parse("x.yaml", []byte(base+"join:\n  max_pending: "+tt.in+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if s.Join.MaxPending != tt.want {
				t.Errorf("got %d, want %d", s.Join.MaxPending, tt.want)
			}
		})
	}
}

func TestAnchorsAndAliases(t *testing.T) {
	data := `version: 1
features:
  - &cat {name: a, type: categorical, wide: true, embedding_dim: 12}
  - name: b
    type: categorical
    embedding_dim: *dim
x_unused: &dim 12
`
	// An alias before its anchor is a YAML error; unknown keys are errors.
	if _, err := Parse("x.yaml", []byte(data)); err == nil {
		t.Fatal("want an error")
	}
	data = `version: 1
features:
  - name: a
    type: categorical
    wide: true
    embedding_dim: &dim 12
  - name: b
    type: categorical
    embedding_dim: *dim
`
	s, err := Parse("x.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if s.Features[1].EmbeddingDim != 12 {
		t.Errorf("embedding_dim through alias = %d, want 12", s.Features[1].EmbeddingDim)
	}
}
