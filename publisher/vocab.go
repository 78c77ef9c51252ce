package publisher

import "github.com/wdstream/wdstream/featurize"

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
	// Evicted counts the strings evicted since the parent version, or
	// since the training process started when that is later (a train
	// stage restarted from a checkpoint does not carry the count over;
	// the holes themselves are in the state); EvictedStrings lists the
	// first MaxEvictedStrings of them.
	Evicted        int64    `json:"evicted,omitempty"`
	EvictedStrings []string `json:"evicted_strings,omitempty"`
}

// MaxEvictedStrings bounds the evicted strings a manifest lists per
// feature; the count is exact.
const MaxEvictedStrings = 100

// Evictions accumulates what featurize.State.Expire evicted, for the next
// version's manifest. The zero value is ready to use.
type Evictions struct {
	count   map[string]int64
	strings map[string][]string
}

// Add records evictions.
func (e *Evictions) Add(ev []featurize.Expired) {
	for _, x := range ev {
		if e.count == nil {
			e.count, e.strings = map[string]int64{}, map[string][]string{}
		}
		e.count[x.Feature] += int64(len(x.IDs))
		if room := MaxEvictedStrings - len(e.strings[x.Feature]); room > 0 {
			e.strings[x.Feature] = append(e.strings[x.Feature], x.Tokens[:min(room, len(x.Tokens))]...)
		}
	}
}

// Count is the number of strings of feature recorded.
func (e *Evictions) Count(feature string) int64 { return e.count[feature] }

// Reset forgets what was recorded (after a version is published).
func (e *Evictions) Reset() { e.count, e.strings = nil, nil }

// Vocabularies describes st's vocabularies with the evictions recorded.
func (e *Evictions) Vocabularies(st *featurize.State) []VocabInfo {
	var out []VocabInfo
	for _, f := range st.Spec().Features {
		v := st.Vocab(f.Name)
		if v == nil {
			continue
		}
		vi := VocabInfo{Feature: f.Name, IDs: v.Size(), Admitted: v.Len(), Free: v.Free(),
			Evicted: e.count[f.Name], EvictedStrings: e.strings[f.Name]}
		if v.TTL() > 0 {
			vi.TTL = f.TTL.String()
		}
		out = append(out, vi)
	}
	return out
}
