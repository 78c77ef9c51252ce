package featurize

import (
	"fmt"
	"slices"
	"testing"
)

func TestVocabAdmission(t *testing.T) {
	for _, tc := range []struct {
		name     string
		minCount int
		oov      int
		maxSize  int
		stream   []string
		want     []string // admitted, in id order
		rejects  uint64
	}{
		{"min1 admits at once", 1, 1, 0, []string{"a", "b", "a"}, []string{"a", "b"}, 0},
		{"min2 needs two", 2, 3, 0, []string{"a", "b", "a", "c", "c", "b"}, []string{"a", "c", "b"}, 0},
		{"min3 one short", 3, 1, 0, []string{"a", "a", "b", "b", "b"}, []string{"b"}, 0},
		{"max size", 1, 2, 2, []string{"a", "b", "c", "a", "d", "c"}, []string{"a", "b"}, 3},
		{"max size with min2", 2, 1, 1, []string{"x", "y", "y", "x", "x"}, []string{"y"}, 2},
		{"empty string is a token", 1, 1, 0, []string{"", "z"}, []string{"", "z"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := newVocab("f", tc.oov, tc.minCount, tc.maxSize, 64<<10, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.stream {
				v.observe(s)
			}
			if got := v.Tokens(); !slices.Equal(got, tc.want) {
				t.Fatalf("admitted %q, want %q", got, tc.want)
			}
			if v.fullRejects != tc.rejects {
				t.Errorf("fullRejects = %d, want %d", v.fullRejects, tc.rejects)
			}
			for i, s := range tc.want {
				id, ok := v.Lookup(s)
				if !ok || id != int32(tc.oov+i) {
					t.Errorf("Lookup(%q) = %d, %v; want %d, true", s, id, ok, tc.oov+i)
				}
				if tok, ok := v.Token(id); !ok || tok != s {
					t.Errorf("Token(%d) = %q, %v; want %q", id, tok, ok, s)
				}
			}
			id, ok := v.Lookup("never-seen")
			if ok || id < 0 || int(id) >= tc.oov {
				t.Errorf("Lookup(never-seen) = %d, %v; want an OOV id in [0,%d)", id, ok, tc.oov)
			}
			if v.Size() != tc.oov+len(tc.want) {
				t.Errorf("Size = %d, want %d", v.Size(), tc.oov+len(tc.want))
			}
		})
	}
}

func TestVocabBytesMatchesString(t *testing.T) {
	v, _ := newVocab("f", 5, 2, 0, 64<<10, 0)
	w, _ := newVocab("f", 5, 2, 0, 64<<10, 0)
	for i := range 1000 {
		s := fmt.Sprint(i % 37)
		v.observe(s)
		w.observeBytes([]byte(s))
	}
	if !slices.Equal(v.tokens, w.tokens) {
		t.Fatalf("string path admitted %q, bytes path %q", v.tokens, w.tokens)
	}
	for _, s := range []string{"3", "36", "99", "x"} {
		a, aok := v.Lookup(s)
		b, bok := w.lookupBytes(hashBytes([]byte(s)), []byte(s))
		if a != b || aok != bok {
			t.Errorf("%q: Lookup %d,%v lookupBytes %d,%v", s, a, aok, b, bok)
		}
	}
}

// TestVocabGrowthStable: ids given early never change as the vocabulary
// grows.
func TestVocabGrowthStable(t *testing.T) {
	v, _ := newVocab("f", 4, 2, 0, 64<<10, 0)
	seen := map[string]int32{}
	for round := range 20 {
		for i := range 200 * (round + 1) {
			v.observe(fmt.Sprintf("s%d", i%(50*(round+1))))
		}
		for s, id := range seen {
			if got, ok := v.Lookup(s); !ok || got != id {
				t.Fatalf("round %d: %q moved from id %d to %d (%v)", round, s, id, got, ok)
			}
		}
		for i, s := range v.tokens {
			seen[s] = int32(v.oov + i)
		}
	}
}

func TestRemap(t *testing.T) {
	old, _ := newVocab("f", 2, 1, 0, 64<<10, 0)
	for _, s := range []string{"a", "b", "c"} {
		old.observe(s)
	}
	for _, tc := range []struct {
		name   string
		oov    int
		tokens []string
		want   []int32
	}{
		{"rebuilt reordered", 2, []string{"c", "a", "d"}, []int32{0, 1, 3, -1, 2}},
		{"grown", 2, []string{"a", "b", "c", "d"}, []int32{0, 1, 2, 3, 4}},
		{"oov changed", 3, []string{"b"}, []int32{-1, -1, -1, 3, -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur, _ := newVocab("f", tc.oov, 1, 0, 64<<10, 0)
			for _, s := range tc.tokens {
				cur.observe(s)
			}
			got := Remap(nil, old, cur)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Remap = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAdmissionJunk: a stream of distinct strings, many times the sketch's
// window, admits almost none at min_count 2 and none at 3, while strings
// that recur often enough are all admitted.
func TestAdmissionJunk(t *testing.T) {
	for _, tc := range []struct {
		minCount int
		maxJunk  int
	}{
		{2, 0},
		{3, 0},
		{5, 0},
	} {
		t.Run(fmt.Sprintf("min%d", tc.minCount), func(t *testing.T) {
			v, _ := newVocab("f", 1, tc.minCount, 0, 64<<10, 0) // width ~7k
			const n = 500_000
			for i := range n {
				v.observe(fmt.Sprintf("junk-%d", i))
				if i%100 == 0 {
					v.observe(fmt.Sprintf("real-%d", (i/100)%5))
				}
			}
			junk := 0
			for _, s := range v.tokens {
				if s[0] == 'j' {
					junk++
				}
			}
			if junk > tc.maxJunk {
				t.Errorf("%d junk strings admitted, want <= %d", junk, tc.maxJunk)
			}
			for i := range 5 {
				if _, ok := v.Lookup(fmt.Sprintf("real-%d", i)); !ok {
					t.Errorf("real-%d recurring every 500 occurrences not admitted", i)
				}
			}
			t.Logf("min_count %d: %d junk of %d admitted, sketch %d bytes, %d agings", tc.minCount, junk, n, v.admit.bytes(), v.admit.ages)
		})
	}
}

func TestAdmissionNeverUnderestimatesWithinWindow(t *testing.T) {
	a := newAdmissionWidth(1024)
	counts := map[uint64]int{}
	for i := range 1000 { // below the window: no aging
		h := hashString(fmt.Sprint(i % 97))
		counts[h]++
		if est := a.observe(h); est < counts[h] {
			t.Fatalf("estimate %d below true count %d", est, counts[h])
		}
	}
}
