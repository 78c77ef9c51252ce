package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// DefaultMaxModelBytes is the default of LoadOptions.MaxModelBytes: 4 GiB,
// about 60 times the shipped playstore spec's model (67 MiB) and inside
// the memory of the machines it runs on, so that a typo of a few digits is
// refused at load time instead of ending the process later.
const DefaultMaxModelBytes = 4 << 30

// LoadOptions tune LoadWith and ParseWith. The zero value gives the
// defaults, which Load and Parse use.
type LoadOptions struct {
	// MaxModelBytes is the memory budget of the model a spec describes
	// (ModelSize().Bytes): a spec whose model would need more is refused,
	// the error charged to the key with the largest share. Default
	// DefaultMaxModelBytes (4 GiB); a negative value turns the budget off
	// (the per-key limits of doc.go stay).
	MaxModelBytes int64
	// Mode, when set, overrides the file's model.mode before validation
	// (a command's --mode), so that the budget and every rule apply to
	// the model that will be built.
	Mode Mode
	// Interaction, when set, overrides the file's model.interaction before
	// defaults and validation (a command's --interaction).
	Interaction Interaction
	// NegativeSampling, when above 0, overrides the file's
	// model.negative_sampling before validation (a command's
	// --negative-sampling).
	NegativeSampling float64
}

// budget returns the budget in bytes, or -1 for none.
func (o LoadOptions) budget() int64 {
	switch {
	case o.MaxModelBytes == 0:
		return DefaultMaxModelBytes
	case o.MaxModelBytes < 0:
		return -1
	}
	return o.MaxModelBytes
}

// validateSize checks the per-key hard limits of the size keys and, when the
// spec has no other error, the budget. Each error gives the model's
// computed size.
func validateSize(s *Spec, r *reporter, opts LoadOptions) {
	clean := len(r.errs) == 0
	budget := opts.budget()
	z := s.ModelSize()
	over := false
	limit := func(path string, v int, most int64, why string) {
		if int64(v) <= most {
			return
		}
		over = true
		r.errorf(path, "must be <= %d (%s), got %d: the model would take %s%s", most, why, v, sizeText(z.Bytes), budgetText(budget))
	}
	for i := range s.Features {
		f := &s.Features[i]
		p := indexPath("features", i)
		switch f.Type {
		case Categorical, CategoricalList:
			limit(p+".embedding_dim", f.EmbeddingDim, maxEmbeddingDim, "the paper's embeddings are 32 wide, and each dimension costs 8 bytes per row")
			limit(p+".oov_buckets", f.OOVBuckets, maxOOVBuckets, "vocabulary ids are int32, and hashed OOV ids may take half of them")
			if f.OOVBuckets <= maxOOVBuckets {
				limit(p+".max_size", f.MaxSize, maxVocabIDs-int64(f.OOV()), "vocabulary ids are int32: max(oov_buckets, 1) + max_size <= 2^31-1")
			}
			if f.Type == CategoricalList {
				limit(p+".max_length", f.MaxLength, maxListLength, "elements read from one list; a cross of lists multiplies them")
			}
		case Numeric:
			limit(p+".quantiles", f.Quantiles, maxQuantiles, "the quantile sketch cannot tell that many apart")
		}
	}
	for j := range s.Crosses {
		limit(indexPath("crosses", j)+".hash_buckets", s.Crosses[j].HashBuckets, maxHashBuckets, "cross ids are int32")
	}
	if n := len(s.Model.Hidden); n > maxHiddenLayers {
		over = true
		r.errorf("model.hidden", "at most %d layers, got %d: the model would take %s%s", maxHiddenLayers, n, sizeText(z.Bytes), budgetText(budget))
	}
	for i, h := range s.Model.Hidden {
		limit(indexPath("model.hidden", i), h, maxHiddenWidth, "the paper's widest layer is 1024, and a layer costs 8 bytes per weight")
	}
	limit("model.batch_size", s.Model.BatchSize, maxBatchSize, "the loss is a batch mean: a larger batch adds memory, not signal")
	if over || !clean || budget < 0 || z.Bytes <= budget {
		return
	}
	path, bytes, what := z.largest()
	r.errorf(path, "the model would take %s, above the --max-model-bytes budget of %s; the largest share is this key's: %s, %s",
		sizeText(z.Bytes), sizeText(budget), what, fmtBytes(bytes))
}

// largest returns the path with the largest total share, that total, and
// what its parts hold. Ties go to the first in spec order.
func (z *ModelSize) largest() (path string, bytes int64, what string) {
	total := map[string]int64{}
	var order []string
	for _, p := range z.Parts {
		if _, ok := total[p.Path]; !ok {
			order = append(order, p.Path)
		}
		total[p.Path] = satAdd(total[p.Path], p.Bytes)
	}
	for _, p := range order {
		if path == "" || total[p] > bytes {
			path, bytes = p, total[p]
		}
	}
	var whats []string
	for _, p := range z.Parts {
		if p.Path == path {
			whats = append(whats, p.What)
		}
	}
	return path, bytes, strings.Join(whats, " and ")
}

func budgetText(budget int64) string {
	if budget < 0 {
		return ""
	}
	return ", the budget is " + fmtBytes(budget)
}

// sizeText prints a size for an error: "12.0 TiB (13194139533312 bytes)".
func sizeText(n int64) string {
	if n == math.MaxInt64 {
		return "more than 8.0 EiB (2^63 bytes)"
	}
	return fmt.Sprintf("%s (%d bytes)", fmtBytes(n), n)
}

var byteUnits = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}

// fmtBytes prints n bytes in binary units with one decimal: "12.3 GiB".
func fmtBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, u := float64(n), 0
	for f >= 1024 && u < len(byteUnits)-1 {
		f /= 1024
		u++
	}
	return fmt.Sprintf("%.1f %s", f, byteUnits[u])
}

// ByteSize is a number of bytes that reads and prints binary units, for a
// command's --max-model-bytes flag (it implements flag.Value): "4GiB",
// "512 MiB", "1.5GiB", "4294967296" (bytes), "off" (-1: no budget in
// LoadOptions). 0 means the default in LoadOptions.
type ByteSize int64

// ParseByteSize reads a ByteSize: a non-negative number, optionally
// fractional, then optionally a unit (B, KiB, MiB, GiB, TiB, PiB; case
// does not matter); or "off".
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	if strings.EqualFold(t, "off") {
		return -1, nil
	}
	num := strings.TrimRightFunc(t, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' })
	unit := strings.TrimSpace(t[len(num):])
	num = strings.TrimSpace(num)
	mult := -1.0
	for i, u := range byteUnits[:len(byteUnits)-1] {
		if unit == "" || strings.EqualFold(unit, u) {
			mult = math.Pow(1024, float64(i))
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	switch {
	case mult < 0:
		return 0, fmt.Errorf("size %q: unknown unit %q (want B, KiB, MiB, GiB, TiB or PiB)", s, unit)
	case err != nil || num == "" || strings.ContainsAny(num, "xXpP_") || math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("size %q: want a number of bytes with an optional unit, such as 4GiB, or off", s)
	case v < 0:
		return 0, fmt.Errorf("size %q: must be >= 0 (off turns the budget off)", s)
	case v*mult >= math.MaxInt64:
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return ByteSize(v * mult), nil
}

// String prints the size in the largest binary unit that divides it
// ("4GiB", "1536MiB", "1000"), or "off"; ParseByteSize reads it back.
func (b ByteSize) String() string {
	if b < 0 {
		return "off"
	}
	n := int64(b)
	u := 0
	for n != 0 && n%1024 == 0 && u < len(byteUnits)-2 {
		n /= 1024
		u++
	}
	if u == 0 {
		return strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10) + byteUnits[u]
}

// MarshalYAML writes the size as String does (a spec's
// join.max_state_bytes), a number of bytes as a YAML integer.
func (b ByteSize) MarshalYAML() (any, error) {
	s := b.String()
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	return s, nil
}

// Set parses s into b (flag.Value).
func (b *ByteSize) Set(s string) error {
	v, err := ParseByteSize(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}
