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
	_, err = loadSpec(path, "", budget)
	if err == nil || !strings.Contains(err.Error(), "hash_buckets") || !strings.Contains(err.Error(), path) {
		t.Fatalf("a 1 GiB model under --max-model-bytes 512MiB: err %v, want a refusal naming the file and hash_buckets", err)
	}
	for _, b := range []string{"0", "4GiB", "off"} { // 0: the default, 4 GiB
		var bs spec.ByteSize
		if err := bs.Set(b); err != nil {
			t.Fatal(err)
		}
		if _, err := loadSpec(path, "", bs); err != nil {
			t.Errorf("--max-model-bytes %s: %v", b, err)
		}
	}
}
