package publisher

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"context"

	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/schemas/spec"
)

// Event is what hooks are told after a publish or a rejection: the body of
// the webhook's POST, the command's standard input and the Kafka message's
// value, as JSON.
type Event struct {
	// Kind is "published" or "rejected".
	Kind    string `json:"event"`
	Model   string `json:"model"`
	Version string `json:"version"`
	// Verdict is the gate's: "passed", "forced" or "rejected" ("" for a
	// version published without the gate).
	Verdict string `json:"verdict,omitempty"`
	// URL is the version's folder, or the rejected report, in the store
	// (without credentials).
	URL  string    `json:"url"`
	Time time.Time `json:"time"`
	// Manifest of a published version; Report of a rejected candidate.
	Manifest *Manifest `json:"manifest,omitempty"`
	Report   *Report   `json:"report,omitempty"`
}

// Event kinds.
const (
	EventPublished = "published"
	EventRejected  = "rejected"
)

// IdempotencyKey names the event uniquely: MODEL@VERSION/KIND. Every retry
// of a delivery carries the same key.
func (e *Event) IdempotencyKey() string { return e.Model + "@" + e.Version + "/" + e.Kind }

// Hook is one configured hook. Run makes one attempt; the publisher's
// queue retries it with exponential backoff.
type Hook struct {
	// Kind is "webhook", "command" or "kafka".
	Kind string
	// Name identifies the hook in logs, without secrets.
	Name string
	// Retries after the first attempt.
	Retries int
	// Timeout of one attempt.
	Timeout time.Duration

	run   func(ctx context.Context, e *Event, body []byte, attempt int) error
	close func() error
}

// permanentError is a failure that retrying cannot fix (an HTTP 4xx).
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// HookConfig is what hooks need beyond the spec.
type HookConfig struct {
	// KafkaBrokers for the spec's kafka hooks. Required when the spec has
	// one.
	KafkaBrokers []string
	// KafkaAuth carries the brokers' TLS and SASL settings; each kafka
	// hook has its own connections. Default: plaintext.
	KafkaAuth kafka.Auth
	// Getenv reads the webhook secrets and URLs (secret_env, url_env) and
	// the variables passed to command hooks (CommandEnv and their spec's
	// env). Default os.Getenv.
	Getenv func(string) string
	// HTTPClient posts the webhooks; each attempt is bounded by the hook's
	// timeout. Default: a client without redirects.
	HTTPClient *http.Client
	// CommandRetries and KafkaRetries: retries after a failed attempt (the
	// spec gives webhooks theirs). Default 2 each.
	CommandRetries, KafkaRetries int
	// KafkaTimeout bounds one produce. Default 10s.
	KafkaTimeout time.Duration
}

// NewHooks builds the hooks of a spec's hooks section. A webhook whose
// secret_env is set but empty is an error, so that a publisher never sends
// unsigned calls to a receiver that expects signed ones; so is one whose
// url_env is unset or empty. Command hooks get only the CommandEnv
// allowlist of the environment, their spec's env names and the event
// variables.
func NewHooks(h spec.Hooks, cfg HookConfig) ([]*Hook, error) {
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.CommandRetries == 0 {
		cfg.CommandRetries = 2
	}
	if cfg.KafkaRetries == 0 {
		cfg.KafkaRetries = 2
	}
	if cfg.KafkaTimeout == 0 {
		cfg.KafkaTimeout = 10 * time.Second
	}
	var out []*Hook
	fail := func(err error) ([]*Hook, error) {
		for _, h := range out {
			if h.close != nil {
				_ = h.close()
			}
		}
		return nil, err
	}
	for i, w := range h.Webhooks {
		hk, err := newWebhook(w, cfg)
		if err != nil {
			return fail(fmt.Errorf("hooks.webhooks[%d]: %w", i, err))
		}
		out = append(out, hk)
	}
	for i, c := range h.Commands {
		if len(c.Argv) == 0 || c.Argv[0] == "" {
			return fail(fmt.Errorf("hooks.commands[%d]: empty argv", i))
		}
		out = append(out, newCommand(c, cfg))
	}
	for i, k := range h.Kafka {
		if len(cfg.KafkaBrokers) == 0 {
			return fail(fmt.Errorf("hooks.kafka[%d] (topic %s): no Kafka brokers given", i, k.Topic))
		}
		out = append(out, newKafkaHook(k, cfg))
	}
	return out, nil
}

// closeHooks closes every hook, joining the errors.
func closeHooks(hooks []*Hook) error {
	var errs []error
	for _, h := range hooks {
		if h.close != nil {
			if err := h.close(); err != nil {
				errs = append(errs, fmt.Errorf("closing %s hook %s: %w", h.Kind, h.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}
