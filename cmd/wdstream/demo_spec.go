package main

import (
	"fmt"
	"time"

	"github.com/wdstream/wdstream/schemas/spec"
)

// demoSpecYAML is the demo's feature spec: configs/playstore.yaml's
// features and crosses, with a schedule sized for a few minutes: a
// candidate every publish.every, gated on validation.examples fresh examples
// (validation.examples). The demo writes it to DIR/spec.yaml.
const demoSpecYAML = `# The feature spec of wdstream demo (written by the demo; see
# configs/playstore.yaml for the commented original). It differs from it in
# its schedule: a candidate every few tens of seconds, a smaller fresh set,
# larger learning rates (a few minutes show several versions) and a looser
# latency budget (the whole service and its broker share this machine).
version: 1
name: demo
features:
  - {name: app_id, type: categorical, wide: true, embedding_dim: 16, min_count: 2, oov_buckets: 8}
  - {name: app_category, type: categorical, wide: true}
  - {name: app_developer, type: categorical, oov_buckets: 4}
  - {name: app_rating, type: numeric, quantiles: 10}
  - {name: app_size_mb, type: numeric}
  - {name: app_price, type: numeric, quantiles: 10}
  - {name: position, type: numeric, quantiles: 10}
  - {name: country, type: categorical}
  - {name: language, type: categorical}
  - {name: device, type: categorical}
  - {name: age_bucket, type: categorical, wide: true}
  - {name: installed_apps, type: categorical_list, embedding_dim: 16, combiner: mean, min_count: 2, oov_buckets: 8}
crosses:
  - {columns: [installed_apps, app_id], hash_buckets: 1048576}
join:
  label_window: 30m
  idle_advance: 1m
  max_pending: 2000000
model:
  mode: wide_deep
  hidden: [64, 32]
  batch_size: 256
  ftrl: {alpha: %g, beta: 1, l1: 0.001, l2: 0}
  adagrad: {learning_rate: %g, initial_accumulator: 0.1}
validation:
  min_auc: 0.55
  max_logloss: 0.7
  calibration: [0.5, 2.0]
  max_auc_drop: 0.01
  max_logloss_rise: 0.01
  latency_budget: 250ms   # the dry run shares two cores with every stage and the broker
  examples: %d
publish:
  every: %s
  every_examples: 0
  retain: 20
`

// demoSpec returns the demo's spec and its YAML.
func demoSpec(every time.Duration, fresh int, alpha, lr float64) (*spec.Spec, []byte, error) {
	y := []byte(fmt.Sprintf(demoSpecYAML, alpha, lr, fresh, every))
	sp, err := spec.Parse("demo spec", y)
	return sp, y, err
}
