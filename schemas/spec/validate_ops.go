package spec

import (
	"net/url"
	"regexp"

	"github.com/wdstream/wdstream/internal/redact"
)

func validateJoin(j *Join, r *reporter) {
	positive(r, "join.label_window", j.LabelWindow)
	positive(r, "join.idle_advance", j.IdleAdvance)
	positive(r, "join.max_pending", j.MaxPending)
}

func validateModel(m *Model, r *reporter) {
	if len(m.Hidden) == 0 {
		r.errorf("model.hidden", "at least one hidden layer is required")
	}
	for i, h := range m.Hidden {
		positive(r, indexPath("model.hidden", i), h)
	}
	positive(r, "model.batch_size", m.BatchSize)
	positive(r, "model.epochs", m.Epochs)
	if v := m.EarlyStopping.Validation; v < 0 || v > 0.5 {
		r.errorf("model.early_stopping.validation", "must be in [0, 0.5] (a share of the training examples), got %g", v)
	}
	positive(r, "model.early_stopping.patience", m.EarlyStopping.Patience)
	positive(r, "model.ftrl.alpha", m.FTRL.Alpha)
	nonNegative(r, "model.ftrl.beta", m.FTRL.Beta)
	nonNegative(r, "model.ftrl.l1", m.FTRL.L1)
	nonNegative(r, "model.ftrl.l2", m.FTRL.L2)
	positive(r, "model.adagrad.learning_rate", m.AdaGrad.LearningRate)
	positive(r, "model.adagrad.initial_accumulator", m.AdaGrad.InitialAccumulator)
}

func validateValidation(v *Validation, r *reporter) {
	inUnit(r, "validation.min_auc", v.MinAUC)
	positive(r, "validation.max_logloss", v.MaxLogLoss)
	switch c := v.Calibration; {
	case len(c) != 2:
		r.errorf("validation.calibration", "must be a range [lo, hi] of two numbers, got %s", fmtFloats(c))
	case c[0] < 0 || c[0] >= c[1]:
		r.errorf("validation.calibration", "must be a range [lo, hi] with 0 <= lo < hi, got %s", fmtFloats(c))
	}
	inUnit(r, "validation.max_auc_drop", v.MaxAUCDrop)
	nonNegative(r, "validation.max_logloss_rise", v.MaxLogLossRise)
	positive(r, "validation.latency_budget", v.LatencyBudget)
	positive(r, "validation.examples", v.Examples)
}

func validatePublish(p *Publish, r *reporter) {
	nonNegative(r, "publish.every_examples", p.EveryExamples)
	nonNegative(r, "publish.every", p.Every)
	if p.EveryExamples == 0 && p.Every == 0 {
		r.errorf("publish", "no publish trigger: set every or every_examples (or both) above 0")
	}
	if p.Retain < 1 {
		r.errorf("publish.retain", "must be >= 1, got %d", p.Retain)
	}
}

var (
	envName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)
)

func validateHooks(h *Hooks, r *reporter) {
	for i := range h.Webhooks {
		w := &h.Webhooks[i]
		p := indexPath("hooks.webhooks", i)
		hasURL, hasEnv := r.has(p+".url"), r.has(p+".url_env")
		switch {
		case hasURL && hasEnv:
			r.errorf(p+".url_env", "give url or url_env, not both")
		case !hasURL && !hasEnv:
			r.errorf(p+".url", "required: the http(s) URL to POST to, or url_env naming the environment variable that holds it")
		case hasEnv:
			if !envName.MatchString(w.URLEnv) {
				r.errorf(p+".url_env", "must name an environment variable ([A-Za-z_][A-Za-z0-9_]*), got %q", w.URLEnv)
			}
		default:
			if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				// Without its query and user info: they could hold a token.
				r.errorf(p+".url", "must be an absolute http:// or https:// URL, got %q", redact.URL(w.URL))
			}
		}
		if w.SecretEnv != "" && !envName.MatchString(w.SecretEnv) {
			r.errorf(p+".secret_env", "must name an environment variable ([A-Za-z_][A-Za-z0-9_]*), got %q", w.SecretEnv)
		}
		positive(r, p+".timeout", w.Timeout)
		nonNegative(r, p+".retries", w.Retries)
	}
	for i := range h.Commands {
		c := &h.Commands[i]
		p := indexPath("hooks.commands", i)
		switch {
		case len(c.Argv) == 0:
			r.errorf(p+".argv", "required: the program and its arguments, such as [notify.sh, --channel, ml]")
		case c.Argv[0] == "":
			r.errorf(indexPath(p+".argv", 0), "the program must not be empty")
		}
		for j, name := range c.Env {
			if !envName.MatchString(name) {
				r.errorf(indexPath(p+".env", j), "must name an environment variable ([A-Za-z_][A-Za-z0-9_]*), got %q", name)
			}
		}
		positive(r, p+".timeout", c.Timeout)
	}
	for i := range h.Kafka {
		p := indexPath("hooks.kafka", i)
		if t := h.Kafka[i].Topic; !topicName.MatchString(t) {
			r.errorf(p+".topic", "must be a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -), got %q", t)
		}
	}
}
