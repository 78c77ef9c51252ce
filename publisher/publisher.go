package publisher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wdstream/wdstream/schemas"
)

// Options configure a Publisher. Every zero value means the default its
// comment states.
type Options struct {
	// Gate evaluates candidates. Default: a Gate with the candidate's own
	// spec's validation section and the other defaults.
	Gate *Gate
	// Hooks run after every publish and rejection (see NewHooks). Default
	// none. The Publisher closes them.
	Hooks []*Hook
	// Logger; nil means no logging.
	Logger *slog.Logger
	// Registerer for the metrics; nil means not registered.
	Registerer prometheus.Registerer
	// Now is the clock for version names and reports. Default time.Now.
	Now func() time.Time
	// CleanGrace: Publish first removes version folders without a manifest
	// older than this (failed uploads). Default 1h: far longer than an
	// upload, so a racing publisher's upload in progress is left alone.
	CleanGrace time.Duration
	// Retain: versions kept by retention. Default: the candidate spec's
	// publish.retain.
	Retain int
	// HookQueue is the number of deliveries waiting to run; HookWorkers
	// run them. Defaults 64 and 2.
	HookQueue, HookWorkers int
	// HookEnqueueWait bounds how long Publish waits for room in a full
	// hook queue before dropping a delivery. Default 1s.
	HookEnqueueWait time.Duration
	// HookBackoff is the wait before the first retry of a hook, doubled
	// for each next one (at most 30s). Default 500ms.
	HookBackoff time.Duration
}

func (o *Options) validate() error {
	if o.CleanGrace < 0 || o.Retain < 0 || o.HookQueue < 0 || o.HookWorkers < 0 || o.HookEnqueueWait < 0 || o.HookBackoff < 0 {
		return errors.New("publisher: negative option")
	}
	if o.Gate != nil {
		if err := o.Gate.validate(); err != nil {
			return err
		}
	}
	for i, h := range o.Hooks {
		if h == nil || h.run == nil || h.Timeout <= 0 || h.Retries < 0 {
			return fmt.Errorf("publisher: hook %d is not built by NewHooks or has no timeout", i)
		}
	}
	return nil
}

// Publisher ties the gate, the store and the hooks: Publish evaluates a
// candidate, publishes it or keeps its rejection report, and tells the
// hooks. It is safe for concurrent use; Close drains the hooks.
type Publisher struct {
	store *Store
	opts  Options
	log   *slog.Logger
	met   *Collectors
	hooks *hookQueue
}

// New returns a Publisher on store.
func New(store *Store, opts Options) (*Publisher, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CleanGrace == 0 {
		opts.CleanGrace = time.Hour
	}
	if opts.HookQueue == 0 {
		opts.HookQueue = 64
	}
	if opts.HookWorkers == 0 {
		opts.HookWorkers = 2
	}
	if opts.HookEnqueueWait == 0 {
		opts.HookEnqueueWait = time.Second
	}
	if opts.HookBackoff == 0 {
		opts.HookBackoff = 500 * time.Millisecond
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "publisher")
	met := NewCollectors(opts.Registerer)
	return &Publisher{
		store: store, opts: opts, log: log, met: met,
		hooks: newHookQueue(opts.Hooks, opts.HookQueue, opts.HookWorkers, opts.HookEnqueueWait, opts.HookBackoff, log, met),
	}, nil
}

// Metrics returns the publisher's collectors.
func (p *Publisher) Collectors() *Collectors { return p.met }

// Close stops taking hook deliveries, runs the queued ones until ctx is
// done, cancels the rest (logged and counted) and closes the hooks.
func (p *Publisher) Close(ctx context.Context) error { return p.hooks.close(ctx) }

// PublishOptions tune one Publish.
type PublishOptions struct {
	// Force publishes a candidate the gate rejects; ForceReason (required
	// with Force) is recorded in the manifest and the history.
	Force       bool
	ForceReason string
	// Baseline, when set, is the model the change thresholds compare
	// against (BaselineVersion names it). Default: the version LATEST
	// names, or the newest intact version before it when that one is
	// corrupt.
	Baseline        *Bundle
	BaselineVersion string
}

// Result is the outcome of a Publish.
type Result struct {
	// Version is the candidate's version name (also the name of its
	// rejection report).
	Version string
	// Published is true when the version was written; Latest when LATEST
	// then moved to it (it stays on a newer version a racing publisher
	// wrote meanwhile: see the only-forward rule in the package doc).
	Published bool
	Latest    bool
	// Previous is what LATEST named before ("" for none). LatestNote says
	// why LATEST stayed, or what was special about the move: "repaired:
	// ..." when LATEST named a missing or unreadable version, or that the
	// version LATEST named ran ahead of the store's clock. "" for a plain
	// move.
	Previous   string
	LatestNote string
	Report     *Report
	Manifest   *Manifest
}

// Publish runs the gate on candidate with the fresh examples (which
// neither the candidate nor the baseline trained on; oldest first), then
// either writes the version described by m (Model set; version name,
// time, file checksums and verdict filled in here) and moves LATEST to it,
// or keeps the report under NAME/rejected/. A rejection is not an error:
// Result.Published is false. Hooks are queued in both cases.
func (p *Publisher) Publish(ctx context.Context, candidate *Bundle, m *Manifest, fresh []schemas.Example, po PublishOptions) (*Result, error) {
	if po.Force && strings.TrimSpace(po.ForceReason) == "" {
		return nil, errors.New("publish: forcing needs a reason")
	}
	if err := validName("model", m.Model); err != nil {
		return nil, err
	}
	now := p.opts.Now()
	log := p.log.With("model", m.Model)
	if removed, err := p.store.Clean(ctx, m.Model, p.opts.CleanGrace, now); err != nil {
		log.Warn("cleaning incomplete versions", "err", err)
	} else if len(removed) > 0 {
		p.met.Cleaned.Add(float64(len(removed)))
		log.Info("removed incomplete versions of failed uploads", "versions", removed)
	}

	base, baseVersion := po.Baseline, po.BaselineVersion
	var notes []string
	if base == nil {
		b, bm, skipped, err := LoadNewestIntact(ctx, p.store, m.Model)
		for _, e := range skipped {
			notes = append(notes, "baseline refused: "+e.Error())
			log.Warn("baseline version refused", "err", e)
		}
		switch {
		case err == nil:
			base, baseVersion = b, bm.Version
		case errors.Is(err, ErrNoVersion):
			log.Info("no baseline: value thresholds only", "reason", err)
		default:
			return nil, fmt.Errorf("publish %s: loading the baseline: %w", m.Model, err)
		}
	}

	files, filesErr := candidate.Files()
	prepare(m, candidate, files, now)
	gate := p.opts.Gate
	if gate == nil {
		gate = &Gate{Validation: candidate.Spec.Validation, Now: p.opts.Now}
	}
	rep, err := gate.evaluate(ctx, candidate, files, filesErr, base, fresh)
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", m.Model, err)
	}
	rep.Model, rep.Version, rep.Baseline, rep.Notes = m.Model, m.Version, baseVersion, append(notes, rep.Notes...)
	for _, c := range rep.Checks {
		p.met.Checks.WithLabelValues(c.Name, string(c.Status)).Inc()
	}
	if rep.DryRun != nil {
		for _, t := range rep.DryRun.times {
			p.met.DryRunBatch.Observe(t.Seconds())
		}
	}
	res := &Result{Version: m.Version, Report: rep, Manifest: m}

	if !rep.Passed && !po.Force {
		if err := p.store.PutRejected(ctx, rep); err != nil {
			return res, fmt.Errorf("publish %s: candidate rejected (%s), and keeping its report failed: %w", m.Model, rep.Summary(), err)
		}
		p.met.Rejected.Inc()
		log.Warn("candidate rejected", "version", m.Version, "verdict", rep.Summary())
		p.hooks.enqueue(&Event{Kind: EventRejected, Model: m.Model, Version: m.Version, Verdict: rep.Verdict(),
			URL: p.store.where + "/" + m.Model + "/" + rejectedDir + "/" + m.Version + ".json", Time: now.UTC(), Report: rep})
		return res, nil
	}
	if filesErr != nil {
		return res, fmt.Errorf("publish %s: %w", m.Model, filesErr)
	}
	if !rep.Passed {
		rep.Forced, rep.ForceReason = true, po.ForceReason
		m.Forced, m.ForceReason = true, po.ForceReason
	}
	m.Verdict = rep
	if m.Metrics == nil {
		m.Metrics = rep.Candidate // the gate's figures on the fresh examples
	}
	if err := p.store.Put(ctx, m, files); err != nil {
		return res, fmt.Errorf("publishing %s: %w", m.Model, err)
	}
	res.Published = true
	p.met.Published.WithLabelValues(fmt.Sprint(m.Forced)).Inc()
	mv, err := p.store.moveLatest(ctx, m.Model, m.Version, HistoryEntry{Time: now.UTC(), Action: "publish", Forced: m.Forced, Reason: m.ForceReason}, true)
	res.Latest, res.Previous, res.LatestNote = mv.moved, mv.previous, mv.note
	switch {
	case err != nil:
		return res, fmt.Errorf("publishing %s@%s: written, but LATEST did not move: %w", m.Model, m.Version, err)
	case !mv.moved:
		log.Warn("LATEST left on a newer version", "version", m.Version, "latest", mv.previous, "why", mv.note)
	case mv.note != "":
		log.Warn("LATEST moved past the version it named", "version", m.Version, "previous", mv.previous, "why", mv.note)
	}
	log.Info("published", "version", m.Version, "previous", mv.previous, "verdict", rep.Summary(), "latest", mv.moved)
	// The hooks hear of the version before retention deletes old ones, so
	// a serving fleet is told as soon as LATEST has moved; the event's
	// time is that moment, not the start of the publish.
	p.hooks.enqueue(&Event{Kind: EventPublished, Model: m.Model, Version: m.Version, Verdict: rep.Verdict(),
		URL: p.store.where + "/" + versionPrefix(m.Model, m.Version), Time: p.opts.Now().UTC(), Manifest: m})
	p.retain(ctx, m.Model, candidate)
	return res, nil
}

func (p *Publisher) retain(ctx context.Context, model string, b *Bundle) {
	keep := p.opts.Retain
	if keep == 0 && b.Spec != nil {
		keep = b.Spec.Publish.Retain
	}
	if keep <= 0 {
		return
	}
	deleted, err := p.store.Retain(ctx, model, keep)
	p.met.Expired.Add(float64(len(deleted)))
	if err != nil {
		p.log.Warn("retention", "model", model, "err", err)
	}
	if len(deleted) > 0 {
		p.log.Info("retention deleted old versions", "model", model, "keep", keep, "deleted", deleted)
	}
}

// prepare fills in what the publisher owns in a manifest: name, time,
// format, the bundle's description and the file checksums. Inputs that are
// URLs lose their credentials.
func prepare(m *Manifest, b *Bundle, files map[string][]byte, now time.Time) {
	if m.Version == "" {
		m.Version = NewVersionName(now)
	}
	if m.Created.IsZero() {
		m.Created = now.UTC()
	}
	m.Format = ManifestFormat
	if b.Spec != nil {
		m.Spec = b.Spec.Name
	}
	if b.Model != nil {
		m.Mode = string(b.Model.Mode)
		m.Params = b.Model.Params()
	}
	for i, in := range m.Data.Inputs {
		if strings.Contains(in, "://") {
			m.Data.Inputs[i] = Redact(in)
		}
	}
	if files != nil {
		m.SetFiles(files)
	}
}
