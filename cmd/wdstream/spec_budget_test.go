package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wdstream/wdstream/schemas/spec"
)

// TestMaxModelBytesFlag: --max-model-bytes is the budget loadSpec holds the
// spec's model to, and the error names the key at fault.
func TestMaxModelBytesFlag(t *testing.T) {
	data, err := os.ReadFile("../../configs/playstore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// 100M buckets: about 1.1 GiB of wide weights with their FTRL state.
	s := strings.Replace(string(data), "hash_buckets: 4194304", "hash_buckets: 100000000", 1)
	if s == string(data) {
		t.Fatal("configs/playstore.yaml has no hash_buckets: 4194304 to change")
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	var budget spec.ByteSize
	if err := budget.Set("512MiB"); err != nil {
		t.Fatal(err)
	}
	_, err = loadSpec(path, specOverrides{}, budget)
	if err == nil || !strings.Contains(err.Error(), "hash_buckets") || !strings.Contains(err.Error(), path) {
		t.Fatalf("a 1 GiB model under --max-model-bytes 512MiB: err %v, want a refusal naming the file and hash_buckets", err)
	}
	for _, b := range []string{"0", "4GiB", "off"} { // 0: the default, 4 GiB
		var bs spec.ByteSize
		if err := bs.Set(b); err != nil {
			t.Fatal(err)
		}
		if _, err := loadSpec(path, specOverrides{}, bs); err != nil {
			t.Errorf("--max-model-bytes %s: %v", b, err)
		}
	}
}

// TestSpecOverrideFlags: --mode, --interaction and --negative-sampling
// replace the spec's values before validation; a bad value, or an override
// the spec cannot take, is an error naming the flag.
func TestSpecOverrideFlags(t *testing.T) {
	const path = "../../configs/playstore.yaml"
	sp, err := loadSpec(path, specOverrides{mode: "deep", interaction: "cross", negativeSampling: "0.25"}, 0)
	if err != nil || sp.Model.Mode != spec.ModeDeep || sp.Model.Interaction != spec.InteractionCross || sp.Model.CrossLayers != spec.DefaultCrossLayers ||
		sp.Model.NegativeSampling != 0.25 {
		t.Fatalf("--mode deep --interaction cross --negative-sampling 0.25: %v, %+v", err, sp)
	}
	for _, tc := range []struct {
		o    specOverrides
		want string
	}{
		{specOverrides{mode: "linear"}, `--mode "linear": want wide, deep or wide_deep`},
		{specOverrides{interaction: "fm"}, `--interaction "fm": want none, dot or cross`},
		{specOverrides{negativeSampling: "0"}, `--negative-sampling "0": want a share of the negatives in (0, 1]`},
		{specOverrides{negativeSampling: "1.5"}, `--negative-sampling "1.5": want a share of the negatives in (0, 1]`},
		{specOverrides{negativeSampling: "NaN"}, `--negative-sampling "NaN": want a share of the negatives in (0, 1]`},
		{specOverrides{negativeSampling: "a fifth"}, `--negative-sampling "a fifth": want a share of the negatives in (0, 1]`},
	} {
		if _, err := loadSpec(path, tc.o, 0); err == nil || err.Error() != tc.want {
			t.Errorf("%+v: err %v, want %q", tc.o, err, tc.want)
		}
	}
	// A spec with one embedded feature has no pair for dot.
	one := filepath.Join(t.TempDir(), "one.yaml")
	if err := os.WriteFile(one, []byte("version: 1\nfeatures:\n  - {name: app_id, type: categorical, wide: true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSpec(one, specOverrides{interaction: "dot"}, 0); err == nil ||
		!strings.HasPrefix(err.Error(), "with --interaction dot: ") || !strings.Contains(err.Error(), "model.interaction") {
		t.Errorf("--interaction dot on a spec without a pair: %v", err)
	}
}
