package publisher

import (
	"maps"
	"slices"

	"github.com/wdstream/wdstream/featurize"
)

// VocabInfo is one categorical feature's vocabulary in a version's
// manifest: its ids, and what its ttl evicted since the version it was
// trained from (spec features[].ttl).
type VocabInfo struct {
	Feature string `json:"feature"`
	// IDs is the rows its tables have: OOV buckets, admitted strings and
	// the holes of evicted ones.
	IDs int `json:"ids"`
	// Admitted strings in use; Free holes, which the next strings
	// admitted reuse.
	Admitted int    `json:"admitted"`
	Free     int    `json:"free,omitempty"`
	TTL      string `json:"ttl,omitempty"`
	// Evicted counts the strings evicted since the parent version (a
	// train stage keeps the count in its checkpoints); EvictedStrings
	// lists the first MaxEvictedStrings of them.
	Evicted        int64    `json:"evicted,omitempty"`
	EvictedStrings []string `json:"evicted_strings,omitempty"`
}

// MaxEvictedStrings bounds the evicted strings a manifest lists per
// feature; the count is exact.
const MaxEvictedStrings = 100

// Evictions accumulates what featurize.State.Expire evicted, for the next
// version's manifest; a train stage keeps it in its checkpoints, so that a
// restart does not lose the count. The zero value is ready to use.
type Evictions struct {
	// Counts are the strings evicted per feature; Strings the first
	// MaxEvictedStrings of them.
	Counts  map[string]int64    `json:"counts,omitempty"`
	Strings map[string][]string `json:"strings,omitempty"`
}

// Add records evictions.
func (e *Evictions) Add(ev []featurize.Expired) {
	for _, x := range ev {
		if e.Counts == nil {
			e.Counts = map[string]int64{}
		}
		if e.Strings == nil {
			e.Strings = map[string][]string{}
		}
		e.Counts[x.Feature] += int64(len(x.IDs))
		if room := MaxEvictedStrings - len(e.Strings[x.Feature]); room > 0 {
			e.Strings[x.Feature] = append(e.Strings[x.Feature], x.Tokens[:min(room, len(x.Tokens))]...)
		}
	}
}

// Count is the number of strings of feature recorded.
func (e *Evictions) Count(feature string) int64 { return e.Counts[feature] }

// Reset forgets what was recorded (after a version is published).
func (e *Evictions) Reset() { e.Counts, e.Strings = nil, nil }

// Clone returns a deep copy.
func (e *Evictions) Clone() *Evictions {
	c := &Evictions{Counts: maps.Clone(e.Counts)}
	if e.Strings != nil {
		c.Strings = make(map[string][]string, len(e.Strings))
		for f, s := range e.Strings {
			c.Strings[f] = slices.Clone(s)
		}
	}
	return c
}

// Vocabularies describes st's vocabularies with the evictions recorded.
func (e *Evictions) Vocabularies(st *featurize.State) []VocabInfo {
	var out []VocabInfo
	for _, f := range st.Spec().Features {
		v := st.Vocab(f.Name)
		if v == nil {
			continue
		}
		vi := VocabInfo{Feature: f.Name, IDs: v.Size(), Admitted: v.Len(), Free: v.Free(),
			Evicted: e.Counts[f.Name], EvictedStrings: e.Strings[f.Name]}
		if v.TTL() > 0 {
			vi.TTL = f.TTL.String()
		}
		out = append(out, vi)
	}
	return out
}
