package featurize

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// ttlSpec has one single-valued and one list feature with a ttl, and one
// feature without.
func ttlSpec(ttl time.Duration, minCount int) *spec.Spec {
	return &spec.Spec{
		Version: 1, Name: "ttl-test",
		Features: []spec.Feature{
			{Name: "app_id", Type: spec.Categorical, Wide: true, Deep: true, EmbeddingDim: 4, MinCount: minCount, OOVBuckets: 3, TTL: spec.Duration(ttl)},
			{Name: "installed_apps", Type: spec.CategoricalList, Deep: true, EmbeddingDim: 4, Combiner: spec.CombinerMean, MinCount: 1, OOVBuckets: 2, TTL: spec.Duration(ttl)},
			{Name: "country", Type: spec.Categorical, Wide: true, Deep: false, MinCount: 1, OOVBuckets: 1},
		},
	}
}

func ttlExample(ts int64, app string, installed ...string) schemas.Example {
	return schemas.Example{Impression: schemas.Impression{
		ImpressionID: fmt.Sprintf("i%d-%s", ts, app), UserID: "u", AppID: app, TS: ts,
		Features: map[string]schemas.Value{
			"installed_apps": schemas.Strings(installed),
			"country":        schemas.String("de"),
		},
	}}
}

func TestExpireEvictsAndReuses(t *testing.T) {
	const sec = 1000
	s, err := New(ttlSpec(10*time.Second, 1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := s.Vocab("app_id")
	if v.TTL() != 10*time.Second || s.Vocab("country").TTL() != 0 {
		t.Fatalf("ttl %v / %v", v.TTL(), s.Vocab("country").TTL())
	}
	fit := func(exs ...schemas.Example) {
		t.Helper()
		if err := s.Fit(exs); err != nil {
			t.Fatal(err)
		}
	}
	fit(ttlExample(1*sec, "a", "x"), ttlExample(2*sec, "b"), ttlExample(3*sec, "c"))
	idA, _ := v.Lookup("a")
	idB, _ := v.Lookup("b")
	if got := s.ExpireNow(); got != nil {
		t.Fatalf("nothing is 10 s old yet, Expire evicted %+v", got)
	}
	// At 12.5 s, "a" (1 s) and "b" (2 s) are older than 10 s; "b" is seen again at 12.5 s.
	fit(ttlExample(12500, "b"))
	got := s.ExpireNow()
	want := []Expired{
		{Feature: "app_id", WideSlot: 0, DeepField: 0, IDs: []int32{idA}, Tokens: []string{"a"}},
		{Feature: "installed_apps", WideSlot: -1, DeepField: 1, IDs: []int32{int32(s.Vocab("installed_apps").OOVBuckets())}, Tokens: []string{"x"}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Expire = %+v, want %+v", got, want)
	}
	if id, ok := v.Lookup("a"); ok || id >= int32(v.OOVBuckets()) {
		t.Errorf("evicted \"a\" looks up as %d, %v; want an OOV id", id, ok)
	}
	if tok, ok := v.Token(idA); ok {
		t.Errorf("Token(%d) of a hole = %q, true", idA, tok)
	}
	if v.Len() != 2 || v.Size() != v.OOVBuckets()+3 || v.Free() != 1 || v.Evicted() != 1 {
		t.Errorf("Len %d Size %d Free %d Evicted %d; want 2, %d, 1, 1", v.Len(), v.Size(), v.Free(), v.Evicted(), v.OOVBuckets()+3)
	}
	if id, _ := v.Lookup("b"); id != idB {
		t.Errorf("\"b\" moved from %d to %d", idB, id)
	}
	// A new string takes the hole; "a" coming back is new again.
	fit(ttlExample(13*sec, "d"))
	if id, ok := v.Lookup("d"); !ok || id != idA {
		t.Errorf("\"d\" got %d, %v; want the hole %d", id, ok, idA)
	}
	fit(ttlExample(14*sec, "a"))
	if id, ok := v.Lookup("a"); !ok || id != int32(v.OOVBuckets()+3) || v.Size() != v.OOVBuckets()+4 {
		t.Errorf("\"a\" back: id %d, %v, size %d; want the next id %d", id, ok, v.Size(), v.OOVBuckets()+3)
	}
	// The feature without a ttl keeps everything; the stats say what happened.
	st := s.Stats()
	if st.Vocabs[0].Evicted != 1 || st.Vocabs[0].Free != 0 || st.Vocabs[2].Evicted != 0 {
		t.Errorf("stats %+v", st.Vocabs)
	}
}

// TestExpireGatedScans: Expire scans once per ttl/64 of event time, so a
// string stays at most that long past its ttl.
func TestExpireGatedScans(t *testing.T) {
	const ttl = 64 * 1000 // ms: scans every second of event time
	s, _ := New(ttlSpec(ttl*time.Millisecond, 1), Options{})
	if err := s.Fit([]schemas.Example{ttlExample(1, "a")}); err != nil {
		t.Fatal(err)
	}
	s.Expire(0) // first scan at clock 1: nothing
	var evictedAt int64
	for ts := int64(2); ts < 3*ttl && evictedAt == 0; ts += 100 {
		if err := s.Fit([]schemas.Example{ttlExample(ts, "b")}); err != nil {
			t.Fatal(err)
		}
		for _, e := range s.Expire(0) {
			if slices.Contains(e.Tokens, "a") {
				evictedAt = ts
			}
		}
	}
	if evictedAt <= 1+ttl || evictedAt > 1+ttl+ttl/64+100 {
		t.Errorf("\"a\" (last seen at 1 ms) evicted at %d ms; want within (%d, %d]", evictedAt, 1+ttl, 1+ttl+ttl/64+100)
	}
}

// TestExpireDifferential runs seeded streams of apps launching, living and
// leaving through Fit and ExpireNow, and compares the vocabulary after
// every scan with a plain map of last occurrences: the live strings are
// exactly those seen within the ttl, ids of live strings never change, and
// the ids in use never exceed the most strings alive at once.
func TestExpireDifferential(t *testing.T) {
	const ttl = 5000
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			s, _ := New(ttlSpec(ttl*time.Millisecond, 1), Options{})
			v := s.Vocab("app_id")
			last := map[string]int64{} // live strings by the reference: last occurrence
			ids := map[string]int32{}
			peak, clock := 0, int64(10000)
			for step := range 300 {
				var exs []schemas.Example
				for range 1 + r.IntN(20) {
					clock += int64(r.IntN(60))
					// Apps 0..N grow with time: old ones fade out, new ones launch.
					lo := int(clock / 400)
					app := fmt.Sprintf("app%d", lo+r.IntN(8+int(seed%5)*10+step)) // more apps live as it goes: ids past the holes' first 64
					ts := clock - int64(r.IntN(300))                              // out of order within 300 ms
					exs = append(exs, ttlExample(ts, app))
					if ts > last[app] {
						last[app] = ts
					}
					peak = max(peak, len(last))
				}
				if err := s.Fit(exs); err != nil {
					t.Fatal(err)
				}
				s.ExpireNow()
				now := v.exp.clock
				for app, ts := range last {
					if ts < now-ttl {
						delete(last, app)
						delete(ids, app)
					}
				}
				if v.Len() != len(last) {
					t.Fatalf("step %d: %d live strings, the reference has %d", step, v.Len(), len(last))
				}
				seen := map[int32]bool{}
				for app := range last {
					id, ok := v.Lookup(app)
					if !ok {
						t.Fatalf("step %d: %q, last seen at %d (clock %d), was evicted", step, app, last[app], now)
					}
					if old, had := ids[app]; had && old != id {
						t.Fatalf("step %d: live %q moved from id %d to %d", step, app, old, id)
					}
					if seen[id] {
						t.Fatalf("step %d: id %d given twice", step, id)
					}
					seen[id], ids[app] = true, id
				}
				if v.Size()-v.OOVBuckets() > peak {
					t.Fatalf("step %d: %d ids, but at most %d strings were alive at once", step, v.Size()-v.OOVBuckets(), peak)
				}
			}
			if v.Evicted() == 0 {
				t.Fatal("the stream evicted nothing: the test tests nothing")
			}
		})
	}
}

func TestExpireEncodeRoundTrip(t *testing.T) {
	s, _ := New(ttlSpec(10*time.Second, 2), Options{SketchBytes: 64 << 10})
	var exs []schemas.Example
	for i := range 200 {
		exs = append(exs, ttlExample(int64(i)*100, fmt.Sprintf("app%d", i/10), fmt.Sprintf("inst%d", i/7)))
	}
	if err := s.Fit(exs); err != nil {
		t.Fatal(err)
	}
	if len(s.ExpireNow()) == 0 || s.Vocab("app_id").Free() == 0 {
		t.Fatal("nothing evicted")
	}
	if err := s.Fit([]schemas.Example{ttlExample(20000, "new")}); err != nil { // takes a hole
		t.Fatal(err)
	}
	for _, fit := range []bool{false, true} {
		enc := s.AppendEncoded(nil, EncodeOptions{FitState: fit})
		got, err := DecodeBytes(enc, ttlSpec(10*time.Second, 2), Options{SketchBytes: 64 << 10})
		if err != nil {
			t.Fatalf("fit %v: %v", fit, err)
		}
		if again := got.AppendEncoded(nil, EncodeOptions{FitState: fit}); !bytes.Equal(again, enc) {
			t.Fatalf("fit %v: re-encoding differs", fit)
		}
		for _, name := range []string{"app_id", "installed_apps"} {
			a, b := s.Vocab(name), got.Vocab(name)
			if !slices.Equal(a.tokens, b.tokens) || !slices.Equal(a.free, b.free) || a.Len() != b.Len() ||
				!slices.Equal(a.exp.lastSeen, b.exp.lastSeen) || a.exp.clock != b.exp.clock || a.exp.next != b.exp.next {
				t.Fatalf("fit %v: %s differs after decode", fit, name)
			}
		}
		// The decoded state goes on exactly as the original: the same holes reused.
		more := []schemas.Example{ttlExample(21000, "n1"), ttlExample(21001, "n2")}
		twin, _ := DecodeBytes(enc, ttlSpec(10*time.Second, 2), Options{SketchBytes: 64 << 10})
		orig, _ := DecodeBytes(enc, ttlSpec(10*time.Second, 2), Options{SketchBytes: 64 << 10})
		_ = twin.Fit(more)
		_ = orig.Fit(more)
		if !bytes.Equal(twin.AppendEncoded(nil, EncodeOptions{FitState: true}), orig.AppendEncoded(nil, EncodeOptions{FitState: true})) {
			t.Fatalf("fit %v: two decodes diverge", fit)
		}
	}
	// Without the ttl in the spec the holes stay holes; a state without
	// expiry encodes as before (no flag).
	plain, err := DecodeBytes(s.AppendEncoded(nil, EncodeOptions{}), ttlSpec(0, 2), Options{SketchBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Vocab("app_id").Free() != s.Vocab("app_id").Free() || plain.Vocab("app_id").TTL() != 0 {
		t.Errorf("decoded without ttl: free %d, want %d", plain.Vocab("app_id").Free(), s.Vocab("app_id").Free())
	}
	none, _ := New(ttlSpec(0, 1), Options{})
	if flags := none.AppendEncoded(nil, EncodeOptions{})[6]; flags&flagExpiry != 0 {
		t.Errorf("a state without ttl or holes sets flag %#x", flags)
	}
}

// TestExpireDecodeRejects: a corrupted expiry section is an ErrFormat
// naming what is wrong.
func TestExpireDecodeRejects(t *testing.T) {
	sp := ttlSpec(10*time.Second, 1)
	s, _ := New(sp, Options{})
	if err := s.Fit([]schemas.Example{ttlExample(1, "a"), ttlExample(20000, "b")}); err != nil {
		t.Fatal(err)
	}
	s.ExpireNow() // "a" becomes a hole at token 0
	v := s.Vocab("app_id")
	for name, tc := range map[string]struct {
		mutate func(v *Vocab)
		want   string
	}{
		"hole holds a token": {func(v *Vocab) { v.tokens[0] = "zz" }, `hole 0 holds the token "zz"`},
		"hole twice":         {func(v *Vocab) { v.free = append(v.free, v.free[0]) }, "hole 0 appears twice"},
		"hole out of range":  {func(v *Vocab) { v.free = append(v.free, 7) }, "hole 7 outside the 2 tokens"},
	} {
		t.Run(name, func(t *testing.T) {
			saved := struct {
				toks []string
				free []int32
			}{slices.Clone(v.tokens), slices.Clone(v.free)}
			tc.mutate(v)
			enc := s.AppendEncoded(nil, EncodeOptions{})
			v.tokens, v.free = saved.toks, saved.free
			_, err := DecodeBytes(enc, sp, Options{})
			if !errors.Is(err, ErrFormat) || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Fatalf("decode: %v; want ErrFormat with %q", err, tc.want)
			}
		})
	}
}

func TestRemapSkipsHoles(t *testing.T) {
	s, _ := New(ttlSpec(10*time.Second, 1), Options{})
	if err := s.Fit([]schemas.Example{ttlExample(1, "a"), ttlExample(20000, "b")}); err != nil {
		t.Fatal(err)
	}
	s.ExpireNow()
	cur, _ := New(ttlSpec(0, 1), Options{})
	if err := cur.Fit([]schemas.Example{ttlExample(1, "b"), ttlExample(2, "")}); err != nil {
		t.Fatal(err)
	}
	old := s.Vocab("app_id")
	m := Remap(nil, old, cur.Vocab("app_id"))
	idB, _ := cur.Vocab("app_id").Lookup("b")
	if want := []int32{0, 1, 2, -1, idB}; !slices.Equal(m, want) {
		t.Errorf("Remap = %v, want %v (the hole maps to -1, not to cur's \"\")", m, want)
	}
}
