package featurize

import "testing"

// TestHashPinned pins the hashes that persisted ids derive from: if one of
// these changes, every trained model's OOV and cross ids change meaning.
func TestHashPinned(t *testing.T) {
	t.Run("xxh64", func(t *testing.T) {
		// Reference values of XXH64 with seed 0.
		for _, tc := range []struct {
			in   string
			want uint64
		}{
			{"", 0xef46db3751d8e999},
			{"a", 0xd24ec4f1a98c6e5b},
			{"abc", 0x44bc2cf5ad770999},
		} {
			if got := hashString(tc.in); got != tc.want {
				t.Errorf("hashString(%q) = %#x, want %#x", tc.in, got, tc.want)
			}
			if got := hashBytes([]byte(tc.in)); got != tc.want {
				t.Errorf("hashBytes(%q) = %#x, want %#x", tc.in, got, tc.want)
			}
		}
	})
	t.Run("cross", func(t *testing.T) {
		for _, tc := range []struct {
			a, b    string
			buckets int
			want    int
		}{
			{"com.app.00001", "com.app.00002", 100000, 50749},
			{"com.app.00002", "com.app.00001", 100000, 48437},
			{"", "", 100000, 77758},
			{"com.whatsapp", "com.spotify", 1 << 20, 216803},
		} {
			got := crossID(tc.buckets, tc.a, tc.b)
			if got != tc.want {
				t.Errorf("crossID(%d, %q, %q) = %d, want %d", tc.buckets, tc.a, tc.b, got, tc.want)
			}
		}
	})
	t.Run("oov", func(t *testing.T) {
		for _, tc := range []struct {
			s    string
			n    int
			want int32
		}{
			{"never-seen", 1, 0},
			{"never-seen", 10, 2},
			{"user-0000001", 100, 11},
		} {
			if got := oovBucket(hashString(tc.s), tc.n); got != tc.want {
				t.Errorf("oovBucket(%q, %d) = %d, want %d", tc.s, tc.n, got, tc.want)
			}
		}
	})
}

// crossID is the id of the cross of the given values, as Transform computes
// it for a cross with one value per column.
func crossID(buckets int, vals ...string) int {
	acc := crossSeed
	for _, v := range vals {
		acc = crossStep(acc, hashString(v))
	}
	return reduce(acc, buckets)
}

func TestReduceRange(t *testing.T) {
	for _, n := range []int{1, 2, 7, 100000, 1 << 30} {
		for _, h := range []uint64{0, 1, 1 << 63, ^uint64(0)} {
			if r := reduce(h, n); r < 0 || r >= n {
				t.Errorf("reduce(%#x, %d) = %d, outside [0,%d)", h, n, r, n)
			}
		}
	}
}
