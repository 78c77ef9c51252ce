// Package spec holds the feature spec: the YAML file that says which columns
// of an impression are features and how, and how the Wide & Deep model, its
// labeling, its validation gate and its publishing are configured. It is
// stored with every model.
//
// Load reads a file strictly: unknown keys (with a suggestion when one is
// close), duplicate keys, wrong types, impossible values, several YAML
// documents and an empty file are errors, and every error names the file,
// line, column and key path:
//
//	configs/x.yaml:12:5: features[3].embedding_dim: must be > 0, got 0
//
// All errors of a file are reported at once (up to 25), joined with
// errors.Join; each is an *Error. Keys that are absent take the defaults
// below; a key written with an explicit 0 or false keeps it. A section
// written with no value (a key followed only by comments) counts as empty
// and takes its defaults; a list written with no value is empty; a scalar
// key with no value is an error. (*Spec).Marshal writes the canonical form,
// every default written out (except model.interaction none and
// model.negative_sampling 1: specs without them marshal as before those
// keys existed), which Parse reads back unchanged.
//
// # Format, version 1
//
// Durations are Go duration strings: "500ms", "90s", "30m", "1h30m", with
// a day unit too ("30d", "1d12h": a day is 24h). Integers
// may be written 2000000, 2e6 or 0x10; a quoted number is a string, and a
// string where a number belongs is an error. Anchors and aliases are
// allowed; merge keys (<<) are not.
//
// Top level:
//
//	version   int       required; must be 1
//	name      string    label carried into manifests; default: the file's
//	                    base name without extension
//	features  list      the feature columns, at least one (below)
//	crosses   list      the wide part's cross-product features; default none
//	join      mapping   labeling of impressions by installs
//	model     mapping   network and optimizers
//	validation mapping  the publish gate's thresholds
//	publish   mapping   the continuous-training schedule and retention
//	hooks     mapping   notifications after each publish or rejection
//
// features[i], one column of the impression each:
//
//	name          string  required, unique; the column read. label and
//	                      install_ts are refused (they leak the label)
//	type          string  required: categorical (one string; a bool or
//	                      number is read as its text), categorical_list
//	                      (a list of strings) or numeric
//	wide          bool    the raw feature enters the wide (linear) part;
//	                      default false
//	deep          bool    the feature enters the deep part; default true.
//	                      A feature that is neither wide nor deep must be a
//	                      column of a cross
//	embedding_dim int     categorical types: embedding size; default 8,
//	                      1 to 4096
//	min_count     int     categorical types: a string gets a vocabulary id
//	                      once seen this many times; default 1, >= 1
//	oov_buckets   int     categorical types: hashed out-of-vocabulary ids
//	                      (0 means one); default 1, 0 to 2^30
//	max_size      int     categorical types: vocabulary cap, 0 for none;
//	                      default 0, >= 0, and max(oov_buckets, 1) +
//	                      max_size <= 2^31-1 (ids are int32)
//	ttl           duration categorical types: evict a string not seen for
//	                      this long in event time and reuse its id; 0
//	                      (default) for never; "30d" or "720h"
//	combiner      string  categorical_list only: how the element embeddings
//	                      are pooled: mean, sum or sqrtn; default mean
//	max_length    int     categorical_list only: the elements of one list
//	                      the model reads, the first max_length in input
//	                      order; the rest are cut and counted
//	                      (featurize.VocabStats.Truncated). The deep
//	                      part's combiner and the wide part's crosses see
//	                      the same cut list. Default 256, 1 to 65536
//	quantiles     int     numeric only: n_q, the number of quantile
//	                      buckets (n_q-1 boundaries); a value in the i-th
//	                      maps to (i-1)/(n_q-1). Default 20, 2 to 65536
//	missing       number  numeric only: the value of an absent, null or NaN
//	                      input; default 0, in [0,1]
//
// A key of the other kind of feature (quantiles on a categorical feature,
// combiner on anything but categorical_list ...) is an error.
//
// crosses[i], the AND of one value of each column (a categorical_list column
// gives one cross per element):
//
//	columns       list of string  at least 2 distinct declared categorical
//	                              or categorical_list features (a numeric
//	                              feature cannot be crossed); required
//	name          string          default: the columns joined with "_x_"
//	                              (installed_apps_x_app_id); unique among
//	                              crosses and distinct from feature names
//	hash_buckets  int             default 100000, 1 to 2^31-1
//
// join:
//
//	label_window  duration  an impression is positive when its install
//	                        arrives within this long after its ts;
//	                        default 30m, > 0
//	idle_advance  duration  an input caught up and quiet this long
//	                        (processing time) counts as empty up to wall
//	                        clock minus this, when it is live or both
//	                        inputs are quiet (package ingest, "Order and
//	                        watermark"); default 1m, > 0
//	max_pending   int       impressions waiting for their window to close:
//	                        a cap on their count, hence on the join's index,
//	                        which stays in memory when their messages are
//	                        spilled; at the cap the oldest is closed early
//	                        (its label may be 0 too early); default 2000000,
//	                        > 0
//	max_state_bytes size    memory budget of the join state of one
//	                        `wdstream run` (its pending messages in memory
//	                        plus an estimate of its index, package ingest,
//	                        "Bounded state"): over it, the messages of new
//	                        pending impressions go to spill_dir and are read
//	                        back when emitted; labels stay exact. 512MiB,
//	                        2GiB, a number of bytes, or off; default off
//	                        (every message in memory)
//	spill_dir     string    local directory of the spill files (a disk,
//	                        not a tmpfs); default the OS temp dir ($TMPDIR,
//	                        else /tmp)
//
// model:
//
//	mode        string     wide, deep or wide_deep; default wide_deep. wide
//	                       needs a wide input (a feature with wide: true or a
//	                       cross), deep a feature with deep: true, wide_deep
//	                       both; inputs of a part that is off are unused
//	hidden      list of int  ReLU layer widths of the deep part; default
//	                       [64, 32]; 1 to 64 layers, each 1 to 65536 wide
//	interaction string     explicit feature interactions of the deep part
//	                       (beyond the paper): none, dot or cross; default
//	                       none (and then left out by Marshal). dot appends
//	                       the dot products of every pair of deep
//	                       categorical features whose pooled embeddings
//	                       have the same embedding_dim (at least one pair;
//	                       F features of one size give F(F-1)/2) to the
//	                       ReLU layers' input: give two features one size
//	                       to have their product (configs/playstore.yaml:
//	                       installed_apps and app_category); cross puts
//	                       cross_layers DCN-V2 cross layers
//	                       x' = x0 * (x·W + b) + x (W full,
//	                       d x d for the d embedding and dense values x0)
//	                       between that input and the ReLU layers. Checked
//	                       in every mode, used only with a deep part
//	cross_layers int       interaction cross only: default 2, 1 to 8
//	batch_size  int        default 256, 1 to 2^20
//	epochs      int        passes over the input in backfill (the most, with
//	                       early stopping); default 1, > 0
//	early_stopping mapping  a backfill of more than one epoch: validation
//	                       (default 0.1, in [0, 0.5]; 0: off), the newest
//	                       share of the training examples, held out and
//	                       evaluated after every epoch; patience (default 1,
//	                       >= 1) epochs without a lower validation log loss
//	                       before it stops and keeps the best epoch's model
//	seed        int        weight initialization; default 1
//	negative_sampling number  the share of negatives (label 0) the training
//	                       steps keep, in (0, 1]; default 1 (all; then left
//	                       out by Marshal). Every positive is kept; a
//	                       negative is kept when a fixed hash of its
//	                       impression_id (trainer.Keep), mapped to [0,1),
//	                       is below the rate, so the backfill and the
//	                       stream drop the same ones. Evaluation, early stopping, the gate
//	                       and progressive metrics see every example. The
//	                       model adds log(rate) to its logit when scoring
//	                       (not in training), so scores stay calibrated
//	ftrl        mapping    wide part, FTRL-Proximal: alpha (default 0.1,
//	                       > 0), beta (0.01, >= 0), l1 (0.001, >= 0), l2 (0,
//	                       >= 0)
//	adagrad     mapping    deep part: learning_rate (default 0.05, > 0),
//	                       initial_accumulator (1e-4, > 0)
//
// # Optimizer units
//
// The trainer's loss is the batch mean, so one example moves a gradient by
// about 1/batch_size, and the optimizer constants are in units of that
// batch-mean gradient. TensorFlow's defaults (FtrlOptimizer beta 1,
// AdagradOptimizer initial_accumulator 0.1, used by the paper) assume
// gradients of order 1, summed over the batch: at this scale an
// accumulator of 0.1 turns AdaGrad into plain SGD with a tiny step for a
// long time, and beta 1 swamps FTRL's sqrt(n). The defaults here are made
// for batch-mean gradients and were chosen on validation data of three
// sets (the default and latent-taste simulated worlds' day 6, and the last
// 10% of Adult's training file; TensorFlow's values, these, and
// configs/playstore.yaml's with a small l1), then reported on data that
// played no part: wide & deep's test AUC with them is 0.8354 on the
// default world (TensorFlow's 0.7936), 0.7930 on the latent-taste world
// (0.7541), 0.9096 on Adult (0.9080). ftrl.l1 and ftrl.beta depend on
// batch_size: about batch_size * l1 positives of evidence move a wide
// weight off 0, so a changed batch_size wants them rescaled.
//
// validation:
//
//	min_auc           number    default 0.5, in [0,1]
//	max_logloss       number    default 1.0, > 0
//	calibration       [lo, hi]  mean prediction / mean label must fall in
//	                            it; default [0.5, 2.0]; 0 <= lo < hi
//	max_auc_drop      number    against the LATEST model; default 0.01,
//	                            in [0,1]
//	max_logloss_rise  number    against the LATEST model; default 0.01, >= 0
//	latency_budget    duration  p99 of scoring a batch of 200 in the dry
//	                            run; default 50ms, > 0; used as written,
//	                            in every build (-race too): nothing
//	                            scales it
//	examples          int       fresh examples the gate evaluates on;
//	                            default 20000, > 0
//	drift             mapping   the fresh examples' per-feature statistics
//	                            against those LATEST recorded of its
//	                            training data (see Drift; Marshal leaves
//	                            the section out when it holds the
//	                            defaults):
//	  action          string    off, warn (a drifted feature is reported,
//	                            the candidate passes) or fail (it is
//	                            rejected); default warn
//	  max_linf        number    L-infinity distance of a categorical
//	                            distribution (top values, other, missing);
//	                            default 0.3, in [0,1]
//	  max_js          number    Jensen-Shannon divergence in bits of a
//	                            numeric feature's values; default 0.1, in
//	                            [0,1]
//	  max_missing     number    difference of the missing shares, any
//	                            type; default 0.1, in [0,1]
//	  min_examples    int       fewer fresh examples, or baseline
//	                            statistics of fewer, skip the check;
//	                            default 100, >= 1
//	  features[i]     mapping   name (a declared feature, once), and any of
//	                            action, max_linf (categorical types only),
//	                            max_js (numeric only), max_missing; the
//	                            keys left out take the section's values
//
// publish (at least one of every and every_examples must be above 0):
//
//	every           duration  publish a candidate this often, 0 for never;
//	                          default 5m, >= 0
//	every_examples  int       publish after this many trained examples, 0
//	                          for never; default 0, >= 0
//	retain          int       versions kept (plus pinned ones); default 10,
//	                          >= 1
//
// hooks (default: none):
//
//	webhooks[i]  url (absolute http or https) or url_env (name of the
//	             environment variable holding it, read at start-up: it must
//	             then be set; the spec stored with each version keeps the
//	             name): exactly one; a url with a token belongs in url_env,
//	             as the spec is stored with every version. secret_env (name
//	             of the environment variable holding the HMAC-SHA256 key;
//	             default: unsigned), timeout (default 5s, > 0), retries
//	             (default 3, >= 0)
//	commands[i]  argv (required list: the program, not empty, and its
//	             arguments; no shell), env (names of environment variables
//	             passed through besides PATH, HOME, USER, LANG, LC_ALL, TZ,
//	             TMPDIR and the WDSTREAM_* event variables; the rest of the
//	             environment is withheld; default none), timeout (default
//	             30s, > 0)
//	kafka[i]     topic (default model-events; 1 to 249 of a-z A-Z 0-9 . _ -)
//
// configs/playstore.yaml and configs/paper.yaml are commented examples.
//
// # Model size
//
// Parse computes the memory of the model a spec describes, (*Spec).ModelSize,
// and refuses a spec whose model would exceed a budget, charging the error
// to the key with the largest share and giving the size:
//
//	x.yaml:13:5: crosses[0].hash_buckets: the model would take 4.5 GiB
//	(4810858140 bytes), above the --max-model-bytes budget of 4.0 GiB ...
//
// The budget is LoadOptions.MaxModelBytes of LoadWith and ParseWith, 4 GiB
// by default (Load and Parse); a negative budget turns the check off. The
// limits of the keys above (int32 ids; sizes far beyond any useful model)
// hold whatever the budget, and their errors give the size too. The size
// counts, as the trainer allocates them, every parameter with its
// optimizer state (12 bytes per wide weight: w and FTRL's z and n; 8 per
// embedding, tower and cross-layer weight: w and its AdaGrad accumulator;
// wide tables and embeddings are allocated in every mode, the tower and
// cross layers only with a deep part), plus a bound on one training step's
// buffers at batch_size with every list at max_length (a cross of lists
// multiplies their lengths). A
// vocabulary's tables count max(oov_buckets, 1) + max_size rows, the most
// they can reach; without max_size they count the OOV rows only and grow by
// ModelSize().Growth's bytes per admitted string, beyond the budget: set
// max_size on a feature of unbounded cardinality. Not counted: the
// examples' own data, the featurizer's state (vocabulary strings, an
// admission sketch of 4 MiB per feature with min_count > 1), the join's
// pending impressions (join.max_pending, join.max_state_bytes) and the
// gate's examples. The
// shipped playstore spec's model takes 67 MiB, the paper's 49 MiB.
package spec
