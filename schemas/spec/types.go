package spec

// Spec is a whole feature spec file. Every field's comment states the default
// that Load fills in when the key is absent from the YAML (presence is read
// from the YAML itself, so an explicit 0 or false is kept as written).
//
// A `default` struct tag holds, as YAML, the default that Load decodes into a
// field whose key is absent; defaults that depend on context (the spec name,
// a cross name, the per-type defaults of a feature) are applied in code.
type Spec struct {
	// Version of the spec format. Required; only 1 exists.
	Version int `yaml:"version"`
	// Name is a free-form label carried into manifests. Default: the file's
	// base name without extension ("configs/playstore.yaml" gives
	// "playstore").
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

// The combiners: the mean of the embeddings, their sum, or their sum divided
// by the square root of the number of elements (TensorFlow's sqrtn).
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
	Wide bool `yaml:"wide" default:"false"`
	// Deep: the feature enters the deep part (an embedding for categorical
	// features, the normalized value for numeric ones). Default true.
	// A feature must be wide, deep or a column of a cross.
	Deep bool `yaml:"deep" default:"true"`

	// EmbeddingDim is the embedding size of a categorical feature in the deep
	// part. Default 8 for categorical and categorical_list features (0, and
	// not allowed in the YAML, for numeric ones); must be in [1, 4096].
	EmbeddingDim int `yaml:"embedding_dim"`
	// Combiner for categorical_list features: mean, sum or sqrtn. Default
	// mean for categorical_list features ("", and not allowed in the YAML,
	// for other types).
	Combiner Combiner `yaml:"combiner"`
	// MaxLength caps the elements of a categorical_list value that the
	// model reads: the featurizer keeps the first MaxLength in input order
	// and counts the rest as cut (featurize.VocabStats.Truncated), for the
	// deep part's combiner and the wide part's crosses alike. Default 256
	// for categorical_list features (0, and not allowed in the YAML, for
	// other types); must be in [1, 65536]. A Spec built in Go with 0 reads
	// as the default (see MaxListLength).
	MaxLength int `yaml:"max_length"`
	// MinCount: a string gets a vocabulary id once seen this many times.
	// Default 1 for categorical types (0 for numeric); must be >= 1.
	MinCount int `yaml:"min_count"`
	// OOVBuckets: hashed out-of-vocabulary ids; 0 means a single OOV id.
	// Default 1 for categorical types (0 for numeric); must be in
	// [0, 2^30].
	OOVBuckets int `yaml:"oov_buckets"`
	// MaxSize caps the vocabulary (admitted strings); 0 means no cap.
	// Default 0; must be >= 0, with OOV() + MaxSize <= 2^31-1 (ids are
	// int32). Categorical types only. Without it the model's tables grow
	// with the vocabulary beyond what ModelSize counts.
	MaxSize int `yaml:"max_size"`
	// TTL expires the strings of a categorical feature not seen for this
	// long in event time (the examples' ts): each is evicted from the
	// vocabulary, its id's rows (embedding, wide weight, optimizer state)
	// are reset to their initial values and the id is reused by the next
	// string admitted, so the tables stop growing once strings leave as
	// fast as they come. An evicted string that comes back is new again
	// (OOV until admitted). 0 (the default) keeps every string forever.
	// Written like other durations, with a day unit too ("30d").
	// Categorical types only; must be >= 0.
	TTL Duration `yaml:"ttl"`

	// Quantiles: n_q, the number of quantile buckets of a numeric feature
	// (n_q-1 boundaries; the paper's rule maps a value in the i-th quantile
	// to (i-1)/(n_q-1)). Default 20
	// for numeric features (0 for categorical types); must be in
	// [2, 65536].
	Quantiles int `yaml:"quantiles"`
	// Missing: the normalized value of a numeric feature that is absent, null
	// or NaN. Default 0; must be inside [0,1]. Numeric features only.
	Missing float64 `yaml:"missing"`
}

// OOV returns the number of hashed out-of-vocabulary ids (at least 1: 0 in
// the spec means a single OOV id).
func (f *Feature) OOV() int { return max(f.OOVBuckets, 1) }

// MaxListLength returns the number of elements of a categorical_list value
// that the model reads: MaxLength, or DefaultMaxLength when it is 0 (a Spec
// built in Go rather than loaded). It is meaningless for other types.
func (f *Feature) MaxListLength() int {
	if f.MaxLength > 0 {
		return f.MaxLength
	}
	return DefaultMaxLength
}

// Cross is a cross-product feature of the wide part: the AND of one value of
// each named column. A list column crossed with single values gives one
// feature per list element.
type Cross struct {
	// Name of the cross. Default: the column names joined with "_x_".
	Name string `yaml:"name"`
	// Columns crossed; at least 2, each a declared categorical or
	// categorical_list feature.
	Columns []string `yaml:"columns"`
	// HashBuckets the crossed strings are hashed into. Default 100000; in
	// [1, 2^31-1].
	HashBuckets int `yaml:"hash_buckets" default:"100000"`
}

// Join configures labeling of impressions by installs.
type Join struct {
	// LabelWindow: an impression is positive when a matching install arrives
	// within this long after its ts. Default 30m; must be > 0.
	LabelWindow Duration `yaml:"label_window" default:"30m"`
	// IdleAdvance: a partition that has received nothing for this long (in
	// processing time) advances its watermark by the same amount, so that a
	// quiet partition does not stall labeling. Default 1m; must be > 0.
	IdleAdvance Duration `yaml:"idle_advance" default:"1m"`
	// MaxPending caps the impressions waiting for their window to close:
	// their count, hence the memory of the join's index, which stays in
	// memory when their messages are spilled (MaxStateBytes); at the cap
	// the oldest is closed early. Default 2,000,000; must be > 0.
	MaxPending int `yaml:"max_pending" default:"2000000"`
	// MaxStateBytes is the memory budget of the join state of one `wdstream
	// run` (package ingest, "Bounded state"): over it, the messages of new
	// pending impressions go to SpillDir instead of memory, and labels
	// stay exact. "off" (the default, 0) keeps every message in memory.
	// Written like 512MiB or 2GiB; Marshal leaves it out when off.
	MaxStateBytes ByteSize `yaml:"max_state_bytes,omitempty"`
	// SpillDir is the local directory of the spill files. Default: the OS
	// temp dir ($TMPDIR, else /tmp). Marshal leaves it out when empty.
	SpillDir string `yaml:"spill_dir,omitempty"`
}

// Mode selects which parts of the model are trained.
type Mode string

// The modes: the linear part alone (the paper's "Wide" control), the deep
// part alone ("Deep"), or both trained jointly.
const (
	ModeWide     Mode = "wide"
	ModeDeep     Mode = "deep"
	ModeWideDeep Mode = "wide_deep"
)

// Model configures the network and its optimizers.
type Model struct {
	// Mode: wide, deep or wide_deep. Default wide_deep. Mode wide needs a
	// wide input (a wide feature or a cross), mode deep a deep feature, and
	// wide_deep both; features of the part that is off are simply unused.
	Mode Mode `yaml:"mode" default:"wide_deep"`
	// Hidden layer widths of the deep part (ReLU). Default [64, 32]; 1 to
	// 64 layers, each in [1, 65536].
	Hidden []int `yaml:"hidden" default:"[64, 32]"`
	// Interaction: the deep part's explicit feature interactions, none,
	// dot or cross (see Interaction). Default none, which Marshal leaves
	// out. Unused in mode wide.
	Interaction Interaction `yaml:"interaction,omitempty" default:"none"`
	// CrossLayers: the cross layers of interaction cross. Default 2 with
	// interaction cross (0, and not allowed in the YAML, otherwise); in
	// [1, 8]. A Model built in Go with 0 reads as the default (see
	// CrossLayerCount).
	CrossLayers int `yaml:"cross_layers,omitempty"`
	// BatchSize of mini-batches. Default 256; in [1, 2^20].
	BatchSize int `yaml:"batch_size" default:"256"`
	// Epochs over the input in backfill: the most passes when early
	// stopping is on (Epochs > 1 and EarlyStopping.Validation > 0).
	// Default 1; > 0.
	Epochs int `yaml:"epochs" default:"1"`
	// EarlyStopping of a backfill of more than one epoch.
	EarlyStopping EarlyStopping `yaml:"early_stopping"`
	// Seed for weight initialization. Default 1.
	Seed int64 `yaml:"seed" default:"1"`
	// NegativeSampling: the share of negative examples (label 0) the
	// training steps keep, in (0, 1]; every positive is kept, and which
	// negatives are kept is fixed by their impression_id (see
	// SamplingRate). Default 1 (every example, sampling off), which Marshal
	// leaves out. Scores stay calibrated: the model stores log of the rate
	// as an offset added to its logit at scoring (package trainer).
	NegativeSampling SamplingRate `yaml:"negative_sampling,omitempty" default:"1"`
	// Wide part optimizer (FTRL-Proximal).
	FTRL FTRL `yaml:"ftrl"`
	// Deep part optimizer (AdaGrad).
	AdaGrad AdaGrad `yaml:"adagrad"`
}

// EarlyStopping: a backfill of more than one epoch holds out the newest
// Validation share of its training examples (by event time, before the
// evaluation holdout), evaluates the model on it after every epoch, stops
// once Patience epochs in a row have not lowered its log loss, and keeps
// the model of the best epoch.
type EarlyStopping struct {
	// Validation share of the training examples. Default 0.1; in [0, 0.5];
	// 0 turns early stopping off (every epoch runs, on every example).
	Validation float64 `yaml:"validation" default:"0.1"`
	// Patience: epochs without a lower validation log loss before
	// training stops. Default 1; >= 1.
	Patience int `yaml:"patience" default:"1"`
}

// FTRL holds FTRL-Proximal hyper-parameters (McMahan et al., 2013). The
// trainer's loss is the batch mean, so the constants are in units of the
// batch-mean gradient (see the package doc, "Optimizer units").
type FTRL struct {
	// Alpha: learning rate. Default 0.1; > 0.
	Alpha float64 `yaml:"alpha" default:"0.1"`
	// Beta. Default 0.01; >= 0.
	Beta float64 `yaml:"beta" default:"0.01"`
	// L1 (lambda1). Default 0.001; >= 0.
	L1 float64 `yaml:"l1" default:"0.001"`
	// L2 (lambda2). Default 0; >= 0.
	L2 float64 `yaml:"l2" default:"0"`
}

// AdaGrad holds the deep part's optimizer settings, in the same units.
type AdaGrad struct {
	// LearningRate. Default 0.05; > 0.
	LearningRate float64 `yaml:"learning_rate" default:"0.05"`
	// InitialAccumulator. Default 1e-4; > 0.
	InitialAccumulator float64 `yaml:"initial_accumulator" default:"0.0001"`
}

// Validation holds the publisher's gate thresholds.
type Validation struct {
	// MinAUC a candidate must reach. Default 0.5; in [0,1].
	MinAUC float64 `yaml:"min_auc" default:"0.5"`
	// MaxLogLoss a candidate may have. Default 1.0; > 0.
	MaxLogLoss float64 `yaml:"max_logloss" default:"1.0"`
	// Calibration range [lo, hi] of mean prediction / mean label. Default
	// [0.5, 2.0]; exactly two numbers with 0 <= lo < hi.
	Calibration []float64 `yaml:"calibration" default:"[0.5, 2.0]"`
	// MaxAUCDrop against the baseline (LATEST). Default 0.01; in [0,1].
	MaxAUCDrop float64 `yaml:"max_auc_drop" default:"0.01"`
	// MaxLogLossRise against the baseline. Default 0.01; >= 0.
	MaxLogLossRise float64 `yaml:"max_logloss_rise" default:"0.01"`
	// LatencyBudget: p99 of scoring a batch of 200 in the dry run. Default
	// 50ms; > 0.
	LatencyBudget Duration `yaml:"latency_budget" default:"50ms"`
	// Examples: how many fresh examples the gate evaluates on. Default 20000;
	// > 0.
	Examples int `yaml:"examples" default:"20000"`
	// Drift compares the fresh examples' per-feature statistics with
	// those LATEST recorded of its training data (see Drift). Default:
	// warn past the default thresholds; Marshal leaves the section out
	// when it holds the defaults.
	Drift Drift `yaml:"drift,omitempty"`
}

// DriftAction is what a drifted feature does to the gate's verdict.
type DriftAction string

// The actions: no drift check; a drifted feature shows in the report as a
// warning (the check's status is warn, the candidate passes); a drifted
// feature fails the candidate like a failed AUC check.
const (
	DriftOff  DriftAction = "off"
	DriftWarn DriftAction = "warn"
	DriftFail DriftAction = "fail"
)

// Drift configures the gate's drift check (validation.drift): for every
// feature, the fresh examples' statistics against those of the examples
// LATEST trained on (package drift): the L-infinity distance of a
// categorical feature's distribution over its top values, "other" and
// missing; the Jensen-Shannon divergence (base 2, so in [0,1]) of a
// numeric feature's values over common bins; and the difference of the
// missing (absent, null, empty or NaN) shares, for every type. A
// statistic above its threshold marks the feature as drifted.
//
// The default action is warn: drift is often the world changing (a new
// country launching), and a continuously trained model is the remedy,
// so failing by default would freeze the model on stale data exactly
// when it should learn; a warning puts the features in the report, on
// the status page and in wdstream_publisher_gate_checks_total{check=
// "drift",status="warn"}, for a person or an alert to judge. Set fail
// where a drifted input is more likely a broken producer.
type Drift struct {
	// Action: off, warn or fail. Default warn.
	Action DriftAction `yaml:"action" default:"warn"`
	// MaxLInf: the largest L-infinity distance of a categorical feature's
	// distribution. Default 0.3; in [0,1].
	MaxLInf float64 `yaml:"max_linf" default:"0.3"`
	// MaxJS: the largest Jensen-Shannon divergence (bits) of a numeric
	// feature's values. Default 0.1; in [0,1].
	MaxJS float64 `yaml:"max_js" default:"0.1"`
	// MaxMissing: the largest difference of the missing shares. Default
	// 0.1; in [0,1].
	MaxMissing float64 `yaml:"max_missing" default:"0.1"`
	// MinExamples: fewer fresh examples, or baseline statistics of fewer
	// examples, skip the check (their statistics are noise). Default 100;
	// >= 1.
	MinExamples int `yaml:"min_examples" default:"100"`
	// Features override the action and thresholds of single features.
	// Default none.
	Features []DriftFeature `yaml:"features"`
}

// DriftFeature overrides the drift check for one feature; each key left
// out takes the section's value.
type DriftFeature struct {
	// Name of a declared feature. Required, unique among the overrides.
	Name string `yaml:"name"`
	// Action: off, warn or fail.
	Action DriftAction `yaml:"action"`
	// MaxLInf: categorical and categorical_list features only.
	MaxLInf float64 `yaml:"max_linf"`
	// MaxJS: numeric features only.
	MaxJS float64 `yaml:"max_js"`
	// MaxMissing: any feature.
	MaxMissing float64 `yaml:"max_missing"`
}

// Publish configures the continuous-training schedule and retention.
type Publish struct {
	// EveryExamples: publish a candidate after this many trained examples;
	// 0 disables the count trigger. Default 0; >= 0.
	EveryExamples int `yaml:"every_examples" default:"0"`
	// Every: publish a candidate after this much time; 0 disables the time
	// trigger. Default 5m; >= 0. At least one trigger must be set.
	Every Duration `yaml:"every" default:"5m"`
	// Retain: keep the last N versions (plus pinned ones). Default 10; >= 1.
	Retain int `yaml:"retain" default:"10"`
}

// Hooks run after every publish and every rejection. Default: none.
type Hooks struct {
	Webhooks []Webhook   `yaml:"webhooks"`
	Commands []Command   `yaml:"commands"`
	Kafka    []KafkaHook `yaml:"kafka"`
}

// Webhook POSTs the manifest or report as JSON.
type Webhook struct {
	// URL to POST to: an absolute http or https URL with a host. Exactly
	// one of URL and URLEnv is required. The spec is stored with every
	// version (spec.yaml), so a URL that carries a token (in its query or
	// user info) belongs in URLEnv; logs and errors print it without them.
	URL string `yaml:"url,omitempty"`
	// URLEnv names the environment variable holding the URL, read when the
	// publisher starts (it must then be set, to an absolute http or https
	// URL); the spec, and every version's spec.yaml, keeps only the name.
	// A valid variable name ([A-Za-z_][A-Za-z0-9_]*).
	URLEnv string `yaml:"url_env,omitempty"`
	// SecretEnv names the environment variable holding the HMAC-SHA256 secret
	// (the secret itself never lives in the spec). Default: no signature.
	// When set, a valid variable name ([A-Za-z_][A-Za-z0-9_]*).
	SecretEnv string `yaml:"secret_env"`
	// Timeout of one attempt. Default 5s; > 0.
	Timeout Duration `yaml:"timeout" default:"5s"`
	// Retries after the first attempt, with exponential backoff. Default 3;
	// >= 0.
	Retries int `yaml:"retries" default:"3"`
}

// Command runs a program with the version, its URL and the verdict in
// environment variables.
type Command struct {
	// Argv: the program and its arguments (no shell). Required: at least the
	// program, which must not be empty.
	Argv []string `yaml:"argv"`
	// Env names environment variables passed to the program besides the
	// allowlist it always gets (PATH, HOME, USER, LANG, LC_ALL, TZ, TMPDIR
	// and the WDSTREAM_* event variables): the rest of the publisher's
	// environment, its cloud credentials and webhook secrets, is withheld.
	// Default none; each a valid variable name ([A-Za-z_][A-Za-z0-9_]*).
	Env []string `yaml:"env"`
	// Timeout. Default 30s; > 0.
	Timeout Duration `yaml:"timeout" default:"30s"`
}

// KafkaHook produces a model event to a topic.
type KafkaHook struct {
	// Topic. Default model-events; a valid Kafka topic name (1 to 249 of
	// [a-zA-Z0-9._-]).
	Topic string `yaml:"topic" default:"model-events"`
}
