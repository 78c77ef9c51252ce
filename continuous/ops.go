package continuous

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/internal/buildinfo"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/trainer"
	"github.com/wdstream/wdstream/warmstart"
)

// restore loads the newest intact checkpoint, else the published version
// LATEST names, else prepares a cold start.
func (s *Stage) restore(ctx context.Context) error {
	bucket := s.cfg.Store.Bucket()
	seqs, err := listCheckpoints(ctx, bucket, s.cfg.Model)
	if err != nil {
		return err
	}
	for _, seq := range seqs {
		files, prog, err := readCheckpoint(ctx, bucket, s.cfg.Model, seq)
		if err == nil {
			var b *publisher.Bundle
			if b, err = publisher.DecodeBundle(files); err == nil {
				if err = s.sameSpec(b, fmt.Sprintf("checkpoint %d", seq)); err != nil {
					return err
				}
				s.adopt(b)
				s.prog = *prog
				if prog.Evictions != nil {
					s.evictions, s.prog.Evictions = *prog.Evictions, nil
				}
				s.read = maps.Clone(prog.Offsets)
				s.met.checkpointTS.Set(float64(prog.Created.UnixMilli()) / 1000)
				s.setStatus(func(st *Status) { st.Checkpoint, st.CheckpointAt = prog.Seq, prog.Created })
				s.log.Info("resuming from checkpoint", "seq", seq, "examples", prog.Examples, "offsets", prog.Offsets)
				return nil
			}
		}
		s.log.Warn("checkpoint unusable, trying an older one", "seq", seq, "err", err)
	}
	b, man, skipped, err := publisher.LoadNewestIntact(ctx, s.cfg.Store, s.cfg.Model)
	for _, e := range skipped {
		s.log.Warn("published version refused", "err", e)
	}
	switch {
	case err == nil:
		if err := s.sameSpec(b, man.Model+"@"+man.Version); err != nil {
			return err
		}
		s.adopt(b)
		s.prog = Progress{Parent: man.Version, LastPublished: man.Version, Bootstrapped: true, Offsets: map[int]int64{}}
		prefix := s.cfg.Topic + "/"
		for k, off := range man.Data.Offsets {
			if rest, ok := strings.CutPrefix(k, prefix); ok {
				if p, err := strconv.Atoi(rest); err == nil {
					s.prog.Offsets[p] = off
				}
			}
		}
		s.read = maps.Clone(s.prog.Offsets)
		s.log.Info("no checkpoint: warm start from the published version", "version", man.Version, "offsets", s.prog.Offsets)
		return nil
	case errors.Is(err, publisher.ErrNoVersion):
		st, err := featurize.New(s.cfg.Spec, featurize.Options{})
		if err != nil {
			return err
		}
		s.st = st
		s.prog = Progress{Offsets: map[int]int64{}}
		s.read = map[int]int64{}
		s.log.Info("cold start", "bootstrap", s.cfg.Bootstrap)
		return nil
	default:
		return err
	}
}

// sameSpec applies warmstart's rule to a checkpoint or published version:
// one trained with the stage's spec is continued, one trained with another
// spec is refused (the stage does not rebuild a model; the backfill's warm
// start with --reinit moves a model to a new spec).
func (s *Stage) sameSpec(b *publisher.Bundle, what string) error {
	if _, err := warmstart.Decide(b, s.cfg.Spec, warmstart.Options{From: what}); err != nil {
		return fmt.Errorf("train stage: %w", err)
	}
	return nil
}

func (s *Stage) adopt(b *publisher.Bundle) {
	s.st, s.model = b.State, b.Model
	s.tr = trainer.NewTrainer(b.Model, s.cfg.Workers)
}

// bootstrap fixes the quantile boundaries from the held examples, builds
// the model and trains on them.
func (s *Stage) bootstrap(ctx context.Context) error {
	boot := s.boot
	s.boot = nil
	if err := s.st.Fit(boot); err != nil {
		var ee *featurize.ExampleError
		if !errors.As(err, &ee) {
			return err
		}
		// Drop bad examples and start over on a fresh featurizer.
		good := boot[:0]
		st, nerr := featurize.New(s.cfg.Spec, featurize.Options{})
		if nerr != nil {
			return nerr
		}
		for i := range boot {
			if ferr := st.Fit(boot[i : i+1]); ferr != nil {
				s.met.badRecords.Inc()
				s.log.Warn("skipping an example the spec cannot read", "err", ferr)
				continue
			}
			good = append(good, boot[i])
		}
		s.st, boot = st, good
	}
	s.st.RefreshBoundaries()
	m, err := trainer.NewModel(s.cfg.Spec, s.st.Layout())
	if err != nil {
		return err
	}
	s.model = m
	s.tr = trainer.NewTrainer(m, s.cfg.Workers)
	s.prog.Bootstrapped = true
	s.log.Info("bootstrap done: quantile boundaries fixed", "examples", len(boot))
	return s.trainFitted(boot, true)
}

// train fits and trains on exs in mini-batches, then lets the ttls expire
// what they have not seen.
func (s *Stage) train(exs []schemas.Example) error {
	if err := s.trainFitted(exs, false); err != nil {
		return err
	}
	s.expire()
	return nil
}

func (s *Stage) trainFitted(exs []schemas.Example, fitted bool) error {
	bs := s.cfg.Spec.Model.BatchSize
	for lo := 0; lo < len(exs); {
		hi := min(lo+bs, len(exs))
		chunk := exs[lo:hi]
		var err error
		if fitted {
			err = s.st.Transform(&s.batch, chunk)
		} else {
			err = s.st.FitTransform(&s.batch, chunk)
		}
		var ee *featurize.ExampleError
		if errors.As(err, &ee) {
			// The examples before the bad one are counted already: train
			// them as they are, skip the bad one, go on after it.
			s.met.badRecords.Inc()
			s.log.Warn("skipping an example the spec cannot read", "err", ee)
			if ee.Index > 0 {
				if err := s.trainFitted(chunk[:ee.Index], true); err != nil {
					return err
				}
			}
			lo += ee.Index + 1
			continue
		}
		if err != nil {
			return err
		}
		s.step(chunk)
		lo = hi
	}
	if time.Since(s.statsAt) >= time.Second {
		s.exportFeatureStats()
	}
	return nil
}

// expire lets the vocabularies' ttls evict what they have not seen for a
// ttl of event time (a scan per 1/64 of the ttl; nothing in between) and
// resets the model's rows of the evicted ids before the next batch may
// reuse them. The clock is the low watermark of the partitions read (see
// watermark), once every example read has been fitted: a string in an
// example read but not fitted yet (a fresh set held for the gate, the
// rest of a batch) would not have refreshed its time.
func (s *Stage) expire() {
	if len(s.partTS) == 0 || len(s.partTS) < s.parts || len(s.fresh) > 0 || len(s.boot) > 0 {
		return
	}
	ev := s.st.Expire(s.watermark())
	if len(ev) == 0 {
		return
	}
	s.model.Forget(ev)
	s.evictions.Add(ev)
	for _, e := range ev {
		v := s.st.Vocab(e.Feature)
		s.log.Info("vocabulary ttl: evicted strings not seen within it", "feature", e.Feature,
			"ttl", spec.Duration(v.TTL()).String(), "evicted", len(e.IDs), "admitted", v.Len(), "ids", v.Size())
	}
}

// watermark is the oldest of the newest example times read from each
// partition since the stage started: every partition has brought examples
// up to it. A partition read ahead of the others in a backlog replay does
// not move it. Until every partition has brought an example since the
// start there is no watermark and nothing expires; a partition that stops
// receiving examples holds the watermark back, and with it the ttls'
// evictions, until it receives more (a vocabulary then grows as without a
// ttl, it never loses a string early).
func (s *Stage) watermark() int64 {
	w := int64(math.MaxInt64)
	for _, ts := range s.partTS {
		w = min(w, ts)
	}
	return w
}

// exportFeatureStats copies the featurizer's counters to the metrics (at
// most once a second while training, and at every checkpoint).
func (s *Stage) exportFeatureStats() {
	st := s.st.Stats()
	s.met.features.stats.Store(&st)
	s.statsAt = time.Now()
}

// step trains one featurized batch, on the examples negative sampling
// keeps after scoring them all, and records its progress.
func (s *Stage) step(chunk []schemas.Example) {
	rate := s.cfg.Spec.Model.NegativeSampling.Rate()
	var dropped int
	s.preds, dropped = s.tr.SampledStep(&s.batch, rate, s.preds)
	s.window.add(s.preds, s.batch.Labels)
	s.profile.Add(chunk)
	for i := range chunk {
		ts := chunk[i].TS
		if s.prog.Examples == 0 || ts < s.prog.FromTS {
			s.prog.FromTS = ts
		}
		if ts > s.prog.ToTS {
			s.prog.ToTS = ts
		}
		s.prog.Examples++
		if s.cfg.TrainedLog && trainer.Keep(chunk[i].ImpressionID, chunk[i].Label == 1, rate) {
			s.trained.WriteString(chunk[i].ImpressionID)
			s.trained.WriteByte(',')
			s.trained.WriteString(strconv.Itoa(int(chunk[i].Label)))
			s.trained.WriteByte('\n')
		}
	}
	s.dirty = true
	s.met.examples.Add(float64(len(chunk) - dropped))
	s.met.dropped.Add(float64(dropped))
	s.met.batches.Inc()
	s.met.lastTS.Set(float64(s.prog.ToTS) / 1000)
	s.sinceSummary += len(chunk)
	if s.sinceSummary >= 20000 {
		s.sinceSummary = 0
		s.refreshProgressive()
	} else {
		s.setStatus(func(st *Status) { st.Examples, st.LastTS = s.prog.Examples, s.prog.ToTS })
	}
}

func (s *Stage) refreshProgressive() {
	sum := s.window.summary()
	if sum.Count > 0 {
		s.met.progAUC.Set(sum.AUC)
		s.met.progLogLoss.Set(sum.LogLoss)
	}
	s.setStatus(func(st *Status) {
		st.Examples, st.LastTS, st.Progressive = s.prog.Examples, s.prog.ToTS, sum
	})
}

// publish sends the current model through the gate with the fresh
// examples, then trains on them.
func (s *Stage) publish(ctx context.Context) error {
	fresh := s.fresh
	s.fresh, s.freshOn = nil, false
	man := &publisher.Manifest{
		Model:  s.cfg.Model,
		Parent: s.prog.LastPublished,
		Data: publisher.DataInfo{
			Examples: s.prog.Examples, FromTS: s.prog.FromTS, ToTS: s.prog.ToTS,
			Inputs:  []string{"kafka:" + s.cfg.Topic},
			Offsets: map[string]int64{},
		},
		Build:        buildinfo.Manifest(),
		Vocabularies: s.evictions.Vocabularies(s.st),
	}
	// Every partition is named: one the stage has read nothing from yet
	// covers nothing, its next offset is where the stage starts it (0 for
	// earliest; -1 stands for "latest at start", not known as a number).
	for p := range max(s.parts, len(s.freshFrom)) {
		off, ok := s.freshFrom[p]
		if !ok {
			if off, ok = s.prog.Offsets[p]; !ok {
				off = 0
				if s.cfg.StartDefault == kafka.AtEnd {
					off = -1
				}
			}
		}
		man.Data.Offsets[s.cfg.Topic+"/"+strconv.Itoa(p)] = off
	}
	cand := &publisher.Bundle{Spec: s.cfg.Spec, State: s.st, Model: s.model, Profile: s.profile.Profile()}
	res, err := s.cfg.Publisher.Publish(ctx, cand, man, fresh, publisher.PublishOptions{})
	s.lastPub, s.pubCount = s.cfg.Now(), s.prog.Examples
	ev := PublishEvent{Time: s.cfg.Now(), Examples: s.prog.Examples}
	switch {
	case err != nil:
		s.met.publishes.WithLabelValues("error").Inc()
		s.log.Error("publishing a candidate failed; training goes on", "err", err)
		ev.Verdict = "error: " + err.Error()
	default:
		ev.Version, ev.Published = res.Version, res.Published
		if res.Report != nil {
			ev.Verdict = res.Report.Summary()
			if res.Report.Candidate != nil {
				ev.AUC, ev.LogLoss = res.Report.Candidate.AUC, res.Report.Candidate.LogLoss
			}
		}
		if res.Published {
			s.met.publishes.WithLabelValues("published").Inc()
			s.prog.LastPublished = res.Version
			s.profile.Reset()
			s.evictions.Reset()
		} else {
			s.met.publishes.WithLabelValues("rejected").Inc()
		}
	}
	s.setStatus(func(st *Status) {
		st.Publishes = append(st.Publishes, ev)
		if len(st.Publishes) > 200 {
			st.Publishes = st.Publishes[len(st.Publishes)-200:]
		}
		st.LastPublished = s.prog.LastPublished
	})
	return s.train(fresh)
}

// checkpoint writes the state if anything was trained since the last one
// and nothing is held, then commits the offsets to Kafka.
func (s *Stage) checkpoint(ctx context.Context) error {
	if s.st != nil {
		s.exportFeatureStats()
	}
	if s.model == nil || s.holding() || !s.dirty {
		return nil
	}
	files, err := (&publisher.Bundle{Spec: s.cfg.Spec, State: s.st, Model: s.model}).Files()
	if err != nil {
		return err
	}
	if s.cfg.TrainedLog {
		files[trainedFile] = []byte(s.trained.String())
	}
	prog := s.prog
	prog.Seq++
	prog.Created = s.cfg.Now().UTC()
	prog.Topic = s.cfg.Topic
	prog.Offsets = s.checkpointOffsets()
	if len(s.evictions.Counts) > 0 {
		prog.Evictions = s.evictions.Clone()
	}
	bucket := s.cfg.Store.Bucket()
	if err := writeCheckpoint(ctx, bucket, s.cfg.Model, files, &prog); err != nil {
		return err
	}
	prog.Evictions = nil // kept in s.evictions
	s.prog = prog
	s.trained.Reset()
	s.dirty = false
	s.met.checkpoints.Inc()
	s.met.checkpointTS.Set(float64(prog.Created.UnixMilli()) / 1000)
	s.refreshProgressive()
	s.setStatus(func(st *Status) { st.Checkpoint, st.CheckpointAt = prog.Seq, prog.Created })
	if err := ingestCommit(ctx, s, prog.Offsets); err != nil {
		s.log.Warn("committing offsets to Kafka (monitoring only) failed", "err", err)
	}
	if !s.cfg.TrainedLog {
		if err := pruneCheckpoints(ctx, bucket, s.cfg.Model, s.cfg.KeepCheckpoints); err != nil {
			s.log.Warn("pruning old checkpoints", "err", err)
		}
	}
	return nil
}

func ingestCommit(ctx context.Context, s *Stage, offsets map[int]int64) error {
	return s.client.CommitStandalone(ctx, s.cfg.TrainGroup, s.cfg.Topic, offsets)
}
