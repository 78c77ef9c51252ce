package warmstart

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/simulate"
	"github.com/wdstream/wdstream/trainer"
)

// testSpec parses configs/playstore.yaml, edited by edit (nil: as it is).
func testSpec(t *testing.T, edit func(*spec.Spec)) *spec.Spec {
	t.Helper()
	raw, err := os.ReadFile("../configs/playstore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spec.Parse("playstore.yaml", raw)
	if err != nil {
		t.Fatal(err)
	}
	sp.Crosses[0].HashBuckets = 1 << 12 // small models
	if edit != nil {
		edit(sp)
	}
	return sp
}

func examples(t *testing.T) []schemas.Example {
	t.Helper()
	exs, err := simulate.WorldExamples(context.Background(), simulate.Config{Seed: 7, Users: 200, Apps: 50, Days: 2, ImpressionsPerDay: 1500}, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return exs
}

// trained returns a bundle of sp cold-started and trained on exs.
func trained(t *testing.T, sp *spec.Spec, exs []schemas.Example) *publisher.Bundle {
	t.Helper()
	s, err := Prepare(nil, sp, exs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trainer.NewTrainer(s.Model, 1).Train(context.Background(), s.State, exs, trainer.TrainOptions{Epochs: 1, BatchSize: 64}); err != nil {
		t.Fatal(err)
	}
	return &publisher.Bundle{Spec: sp, State: s.State, Model: s.Model}
}

func TestDecide(t *testing.T) {
	base := testSpec(t, nil)
	y, err := base.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// The spec as a version stores it and DecodeBundle reads it back.
	stored, err := spec.ParseWith(publisher.SpecFile, y, spec.LoadOptions{MaxModelBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	prev := &publisher.Bundle{Spec: stored}
	changed := map[string]*spec.Spec{
		"model.hidden":         testSpec(t, func(s *spec.Spec) { s.Model.Hidden = []int{32} }),
		"embedding_dim":        testSpec(t, func(s *spec.Spec) { s.Features[0].EmbeddingDim++ }),
		"validation.min_auc":   testSpec(t, func(s *spec.Spec) { s.Validation.MinAUC = 0.9 }),
		"publish.every":        testSpec(t, func(s *spec.Spec) { s.Publish.Every = spec.Duration(time.Hour) }),
		"model.ftrl.alpha":     testSpec(t, func(s *spec.Spec) { s.Model.FTRL.Alpha *= 2 }),
		"name":                 testSpec(t, func(s *spec.Spec) { s.Name = "other" }),
		"join.label_window":    testSpec(t, func(s *spec.Spec) { s.Join.LabelWindow = spec.Duration(time.Hour) }),
		"crosses.hash_buckets": testSpec(t, func(s *spec.Spec) { s.Crosses[0].HashBuckets++ }),
	}

	for _, allow := range []bool{false, true} {
		if k, err := Decide(nil, base, Options{AllowRebuild: allow}); k != Cold || err != nil {
			t.Errorf("no previous model (AllowRebuild %v): %v, %v; want cold", allow, k, err)
		}
		// Equal content in another value (the stored, re-parsed spec) is the
		// same spec.
		if k, err := Decide(prev, testSpec(t, nil), Options{AllowRebuild: allow}); k != Continue || err != nil {
			t.Errorf("same spec (AllowRebuild %v): %v, %v; want continue", allow, k, err)
		}
	}
	for key, sp := range changed {
		if k, err := Decide(prev, sp, Options{AllowRebuild: true}); k != Rebuild || err != nil {
			t.Errorf("%s changed, rebuild allowed: %v, %v; want rebuild", key, k, err)
		}
		k, err := Decide(prev, sp, Options{From: "m@v1"})
		if !errors.Is(err, ErrSpecChanged) {
			t.Fatalf("%s changed, rebuild not allowed: %v, %v; want an error wrapping ErrSpecChanged", key, k, err)
		}
		for _, want := range []string{"m@v1 was trained with another spec than " + sp.Name, "wdstream backfill --warm-start", "--reinit"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s changed: error %q lacks %q", key, err, want)
			}
		}
	}
	if _, err := Decide(prev, changed["model.hidden"], Options{}); err == nil || !strings.HasPrefix(err.Error(), "the previous model was trained") {
		t.Errorf("without From: %v", err)
	}
}

// TestPrepareContinue: the same spec continues the previous state and
// model themselves: every admitted string keeps its id, the vocabulary
// grows by appending, the boundaries stay.
func TestPrepareContinue(t *testing.T) {
	exs := examples(t)
	half := len(exs) / 2
	sp := testSpec(t, nil)
	prev := trained(t, sp, exs[:half])
	oldTokens := prev.State.Vocab("app_id").Tokens()
	oldBounds, fixed := prev.State.Boundaries("app_rating")
	if !fixed || len(oldBounds) == 0 {
		t.Fatalf("app_rating boundaries %v (fixed %v)", oldBounds, fixed)
	}

	s, err := Prepare(prev, testSpec(t, nil), exs[half:], Options{AllowRebuild: true, From: "m@v1"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != Continue || s.State != prev.State || s.Model != prev.Model || s.Warm != nil {
		t.Fatalf("kind %v, state reused %v, model reused %v, report %v: want the previous state and model themselves",
			s.Kind, s.State == prev.State, s.Model == prev.Model, s.Warm)
	}
	tokens := s.State.Vocab("app_id").Tokens()
	if len(tokens) <= len(oldTokens) || !slices.Equal(tokens[:len(oldTokens)], oldTokens) {
		t.Fatalf("app_id vocabulary: %d strings before, %d after; want the old ones first, in order, and new ones after", len(oldTokens), len(tokens))
	}
	if b, _ := s.State.Boundaries("app_rating"); !slices.Equal(b, oldBounds) {
		t.Fatalf("app_rating boundaries moved: %v, were %v", b, oldBounds)
	}
}

func TestPrepareCold(t *testing.T) {
	exs := examples(t)
	s, err := Prepare(nil, testSpec(t, nil), exs, Options{AllowRebuild: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != Cold || s.Warm != nil || s.Model == nil || s.Model.Params() == 0 {
		t.Fatalf("kind %v, report %v, model %v", s.Kind, s.Warm, s.Model)
	}
	if b, fixed := s.State.Boundaries("app_rating"); !fixed || len(b) == 0 {
		t.Fatalf("cold start left the boundaries unfixed: %v", b)
	}
	if s.State.Vocab("app_id").Len() == 0 {
		t.Fatal("cold start fitted no app_id")
	}
}

// TestPrepareRebuild: another spec rebuilds the featurizer on the new
// examples and moves the previous model's rows by string; a tensor whose
// shape changed needs Reinit.
func TestPrepareRebuild(t *testing.T) {
	exs := examples(t)
	sp := testSpec(t, nil)
	prev := trained(t, sp, exs)
	rev := slices.Clone(exs)
	slices.Reverse(rev) // the same strings, admitted in another order

	sp2 := testSpec(t, func(s *spec.Spec) { s.Validation.MinAUC = 0.6 })
	s, err := Prepare(prev, sp2, rev, Options{AllowRebuild: true, From: "m@v1"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != Rebuild || s.State == prev.State || s.Model == prev.Model || s.Warm == nil {
		t.Fatalf("kind %v, report %v: want a new state and model warm-started from the previous one", s.Kind, s.Warm)
	}
	if len(s.Warm.Reinitialized) != 0 || len(s.Warm.New) != 0 || s.Warm.RowsMoved == 0 {
		t.Fatalf("report %v (re-initialized %v, new %v)", s.Warm, s.Warm.Reinitialized, s.Warm.New)
	}
	if s.State.Spec() != sp2 {
		t.Fatal("the rebuilt featurizer is not the new spec's")
	}
	// Rows moved by string: an app whose id changed keeps its embedding.
	field := slices.IndexFunc(s.Model.Layout.Deep, func(d featurize.DeepInput) bool { return d.Name == "app_id" })
	oldField := slices.IndexFunc(prev.Model.Layout.Deep, func(d featurize.DeepInput) bool { return d.Name == "app_id" })
	if field < 0 || oldField < 0 {
		t.Fatal("no app_id embedding")
	}
	from, to := &prev.Model.Emb[oldField], &s.Model.Emb[field]
	moved := 0
	for _, tok := range prev.State.Vocab("app_id").Tokens() {
		a, _ := prev.State.Vocab("app_id").Lookup(tok)
		b, ok := s.State.Vocab("app_id").Lookup(tok)
		if !ok {
			continue
		}
		if a != b {
			moved++
		}
		if !slices.Equal(from.W[int(a)*from.Dim:int(a+1)*from.Dim], to.W[int(b)*to.Dim:int(b+1)*to.Dim]) {
			t.Fatalf("app %s: embedding row %d not moved to row %d", tok, a, b)
		}
	}
	if moved == 0 {
		t.Fatal("no app changed id: the test would prove nothing")
	}

	// A changed tower shape is refused unless re-initialized.
	sp3 := testSpec(t, func(s *spec.Spec) { s.Model.Hidden = []int{48, 32} })
	_, err = Prepare(prev, sp3, exs, Options{AllowRebuild: true, From: "m@v1"})
	if err == nil || !strings.Contains(err.Error(), "warm start from m@v1") || !strings.Contains(err.Error(), "tower/0/w") {
		t.Fatalf("changed hidden sizes: %v; want an error naming m@v1 and tower/0/w", err)
	}
	s, err = Prepare(prev, sp3, exs, Options{AllowRebuild: true, Reinit: []string{"*"}, From: "m@v1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(s.Warm.Reinitialized, "tower/0/w") {
		t.Fatalf("re-initialized %v", s.Warm.Reinitialized)
	}

	// Without AllowRebuild nothing is built.
	if _, err := Prepare(prev, sp2, exs, Options{}); !errors.Is(err, ErrSpecChanged) {
		t.Fatalf("rebuild not allowed: %v", err)
	}
}

// TestPrepareContinueExpires: continuing a model whose app_id has a ttl,
// the apps not seen within the ttl of the newest new example leave the
// vocabulary, Start.Expired lists them, and their rows in the model are
// back at a fresh model's values; a version that round-trips through its
// files keeps the holes.
func TestPrepareContinueExpires(t *testing.T) {
	// 2 days of a catalog large enough that many apps go unseen for hours.
	exs, err := simulate.WorldExamples(context.Background(), simulate.Config{Seed: 7, Users: 200, Apps: 400, Days: 2, ImpressionsPerDay: 2000}, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	half := len(exs) / 2
	withTTL := func(sp *spec.Spec) {
		for i := range sp.Features {
			if sp.Features[i].Name == "app_id" {
				sp.Features[i].TTL = spec.Duration(6 * time.Hour)
			}
		}
	}
	prev := trained(t, testSpec(t, withTTL), exs[:half])
	files, err := prev.Files()
	if err != nil {
		t.Fatal(err)
	}
	if prev, err = publisher.DecodeBundle(files); err != nil {
		t.Fatal(err)
	}
	// The second day's last 3 hours only: apps seen earlier and not then leave.
	var late []schemas.Example
	end := exs[len(exs)-1].TS
	for _, ex := range exs[half:] {
		if ex.TS > end-3*time.Hour.Milliseconds() {
			late = append(late, ex)
		}
	}
	before := prev.State.Vocab("app_id").Tokens()
	s, err := Prepare(prev, testSpec(t, withTTL), late, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != Continue || len(s.Expired) != 1 || s.Expired[0].Feature != "app_id" || len(s.Expired[0].IDs) == 0 {
		t.Fatalf("kind %v, expired %+v: want app_id strings evicted", s.Kind, s.Expired)
	}
	v := s.State.Vocab("app_id")
	for k, id := range s.Expired[0].IDs {
		if _, ok := v.Lookup(s.Expired[0].Tokens[k]); ok {
			t.Errorf("evicted %q still in the vocabulary", s.Expired[0].Tokens[k])
		}
		wide := s.Model.Wide[s.Expired[0].WideSlot]
		if wide.W[id] != 0 || wide.N[id] != 0 {
			t.Errorf("id %d: wide weight %v, n %v after its eviction; want 0", id, wide.W[id], wide.N[id])
		}
	}
	for _, ex := range late {
		if _, ok := v.Lookup(ex.AppID); !ok && slices.Contains(before, ex.AppID) {
			t.Errorf("%s, in the vocabulary and seen in the last 3 hours, was evicted", ex.AppID)
		}
	}
}
