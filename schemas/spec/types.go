package spec

import "time"

// Spec is a whole feature spec file. Every field's comment states the default
// that Load fills in when the key is absent from the YAML (presence is read
// from the YAML itself, so an explicit 0 or false is kept as written).
type Spec struct {
	// Version of the spec format. Required; only 1 exists.
	Version int `yaml:"version"`
	// Name is a free-form label carried into manifests. Default: the file's
	// base name without extension.
	Name string `yaml:"name"`

	// Features are the input columns the model reads. At least one is required.
	Features []Feature `yaml:"features"`
	// Crosses are the wide part's cross-product features. Default: none.
	Crosses []Cross `yaml:"crosses"`

	Join       Join       `yaml:"join"`
	Model      Model      `yaml:"model"`
	Validation Validation `yaml:"validation"`
	Publish    Publish    `yaml:"publish"`
	Hooks      Hooks      `yaml:"hooks"`
}

// FeatureType is how a column is turned into model input.
type FeatureType string

const (
	// Categorical is a single string (or bool, or number read as its decimal
	// text) mapped through a vocabulary.
	Categorical FeatureType = "categorical"
	// CategoricalList is a list of strings (multi-valent), each mapped through
	// the vocabulary; the deep part pools their embeddings with Combiner.
	CategoricalList FeatureType = "categorical_list"
	// Numeric is a number normalized to [0,1] by its quantile boundaries.
	Numeric FeatureType = "numeric"
)

// Combiner pools the embeddings of a categorical_list feature.
type Combiner string

const (
	CombinerMean  Combiner = "mean"
	CombinerSum   Combiner = "sum"
	CombinerSqrtN Combiner = "sqrtn"
)

// Feature declares one input column.
type Feature struct {
	// Name of the column (an event column or a feature column). Required,
	// unique among features.
	Name string `yaml:"name"`
	// Type: categorical, categorical_list or numeric. Required.
	Type FeatureType `yaml:"type"`
	// Wide: the raw feature also enters the wide (linear) part. Default false.
	Wide bool `yaml:"wide"`
	// Deep: the feature enters the deep part (an embedding for categorical
	// features, the normalized value for numeric ones). Default true.
	Deep bool `yaml:"deep"`

	// EmbeddingDim is the embedding size of a categorical feature in the deep
	// part. Default 8; must be > 0.
	EmbeddingDim int `yaml:"embedding_dim"`
	// Combiner for categorical_list features: mean, sum or sqrtn. Default mean.
	Combiner Combiner `yaml:"combiner"`
	// MinCount: a string gets a vocabulary id once seen this many times.
	// Default 1; must be >= 1.
	MinCount int `yaml:"min_count"`
	// OOVBuckets: hashed out-of-vocabulary ids; 0 means a single OOV id.
	// Default 1.
	OOVBuckets int `yaml:"oov_buckets"`
	// MaxSize caps the vocabulary (admitted strings); 0 means no cap.
	// Default 0.
	MaxSize int `yaml:"max_size"`

	// Quantiles: n_q, the number of quantile boundaries of a numeric feature
	// (the paper's rule maps the i-th quantile to (i-1)/(n_q-1)). Default 20;
	// must be >= 2.
	Quantiles int `yaml:"quantiles"`
	// Missing: the normalized value of a numeric feature that is absent, null
	// or NaN. Default 0; must be inside [0,1].
	Missing float64 `yaml:"missing"`
}

// OOV returns the number of hashed out-of-vocabulary ids (at least 1: 0 in
// the spec means a single OOV id).
func (f *Feature) OOV() int { return max(f.OOVBuckets, 1) }

// Cross is a cross-product feature of the wide part: the AND of one value of
// each named column. A list column crossed with single values gives one
// feature per list element.
type Cross struct {
	// Name of the cross. Default: the column names joined with "_x_".
	Name string `yaml:"name"`
	// Columns crossed; at least 2, each a declared categorical or
	// categorical_list feature.
	Columns []string `yaml:"columns"`
	// HashBuckets the crossed strings are hashed into. Default 100000; > 0.
	HashBuckets int `yaml:"hash_buckets"`
}

// Join configures labeling of impressions by installs.
type Join struct {
	// LabelWindow: an impression is positive when a matching install arrives
	// within this long after its ts. Default 30m; must be > 0.
	LabelWindow Duration `yaml:"label_window"`
	// IdleAdvance: a partition that has received nothing for this long (in
	// processing time) advances its watermark by the same amount, so that a
	// quiet partition does not stall labeling. Default 1m; must be > 0.
	IdleAdvance Duration `yaml:"idle_advance"`
	// MaxPending caps the impressions waiting for their window to close.
	// Default 2,000,000; must be > 0.
	MaxPending int `yaml:"max_pending"`
}

// Mode selects which parts of the model are trained.
type Mode string

const (
	ModeWide     Mode = "wide"
	ModeDeep     Mode = "deep"
	ModeWideDeep Mode = "wide_deep"
)

// Model configures the network and its optimizers.
type Model struct {
	// Mode: wide, deep or wide_deep. Default wide_deep.
	Mode Mode `yaml:"mode"`
	// Hidden layer widths of the deep part (ReLU). Default [64, 32]; each > 0.
	Hidden []int `yaml:"hidden"`
	// BatchSize of mini-batches. Default 256; > 0.
	BatchSize int `yaml:"batch_size"`
	// Epochs over the input in backfill. Default 1; > 0.
	Epochs int `yaml:"epochs"`
	// Seed for weight initialization. Default 1.
	Seed int64 `yaml:"seed"`
	// Wide part optimizer (FTRL-Proximal).
	FTRL FTRL `yaml:"ftrl"`
	// Deep part optimizer (AdaGrad).
	AdaGrad AdaGrad `yaml:"adagrad"`
}

// FTRL holds FTRL-Proximal hyper-parameters (McMahan et al., 2013).
type FTRL struct {
	// Alpha: learning rate. Default 0.05; > 0.
	Alpha float64 `yaml:"alpha"`
	// Beta. Default 1; >= 0.
	Beta float64 `yaml:"beta"`
	// L1 (lambda1). Default 0.001; >= 0.
	L1 float64 `yaml:"l1"`
	// L2 (lambda2). Default 0; >= 0.
	L2 float64 `yaml:"l2"`
}

// AdaGrad holds the deep part's optimizer settings.
type AdaGrad struct {
	// LearningRate. Default 0.05; > 0.
	LearningRate float64 `yaml:"learning_rate"`
	// InitialAccumulator. Default 0.1 (as TensorFlow); > 0.
	InitialAccumulator float64 `yaml:"initial_accumulator"`
}

// Validation holds the publisher's gate thresholds.
type Validation struct {
	// MinAUC a candidate must reach. Default 0.5; in [0,1].
	MinAUC float64 `yaml:"min_auc"`
	// MaxLogLoss a candidate may have. Default 1.0; > 0.
	MaxLogLoss float64 `yaml:"max_logloss"`
	// Calibration range of mean prediction / mean label. Default [0.5, 2.0].
	Calibration []float64 `yaml:"calibration"`
	// MaxAUCDrop against the baseline (LATEST). Default 0.01; >= 0.
	MaxAUCDrop float64 `yaml:"max_auc_drop"`
	// MaxLogLossRise against the baseline. Default 0.01; >= 0.
	MaxLogLossRise float64 `yaml:"max_logloss_rise"`
	// LatencyBudget: p99 of scoring a batch of 200 in the dry run. Default 50ms.
	LatencyBudget Duration `yaml:"latency_budget"`
	// Examples: how many fresh examples the gate evaluates on. Default 20000.
	Examples int `yaml:"examples"`
}

// Publish configures the continuous-training schedule and retention.
type Publish struct {
	// EveryExamples: publish a candidate after this many trained examples;
	// 0 disables the count trigger. Default 0.
	EveryExamples int `yaml:"every_examples"`
	// Every: publish a candidate after this much time; 0 disables the time
	// trigger. Default 5m. At least one trigger must be set.
	Every Duration `yaml:"every"`
	// Retain: keep the last N versions (plus pinned ones). Default 10; >= 1.
	Retain int `yaml:"retain"`
}

// Hooks run after every publish and every rejection.
type Hooks struct {
	Webhooks []Webhook   `yaml:"webhooks"`
	Commands []Command   `yaml:"commands"`
	Kafka    []KafkaHook `yaml:"kafka"`
}

// Webhook POSTs the manifest or report as JSON.
type Webhook struct {
	// URL to POST to. Required, http or https.
	URL string `yaml:"url"`
	// SecretEnv names the environment variable holding the HMAC-SHA256 secret
	// (the secret itself never lives in the spec). Default: no signature.
	SecretEnv string `yaml:"secret_env"`
	// Timeout of one attempt. Default 5s.
	Timeout Duration `yaml:"timeout"`
	// Retries after the first attempt, with exponential backoff. Default 3.
	Retries int `yaml:"retries"`
}

// Command runs a program with the version, its URL and the verdict in
// environment variables.
type Command struct {
	// Argv: the program and its arguments. Required.
	Argv []string `yaml:"argv"`
	// Timeout. Default 30s.
	Timeout Duration `yaml:"timeout"`
}

// KafkaHook produces a model event to a topic.
type KafkaHook struct {
	// Topic. Default model-events.
	Topic string `yaml:"topic"`
}

// Duration is a time.Duration written in YAML as a Go duration string
// ("30m", "1h30m").
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
