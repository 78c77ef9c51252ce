package schemas

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestKeySetShrinks fills a keySet with a huge message's keys, then small
// ones: the table, arena and ends are back to small sizes after the second
// small message (reset sizes them by the message before), and duplicates
// are found in every message.
func TestKeySetShrinks(t *testing.T) {
	var k keySet
	fill := func(n int) {
		t.Helper()
		k.reset()
		for i := range n {
			if k.add(fmt.Appendf(nil, "key-%d", i)) {
				t.Fatalf("%d keys: key-%d reported twice", n, i)
			}
		}
		if n > 0 && (!k.add([]byte("key-0")) || !k.add(fmt.Appendf(nil, "key-%d", n-1))) {
			t.Fatalf("%d keys: duplicate not found", n)
		}
	}
	fill(96_000)
	if len(k.table) < 2*96_000 {
		t.Fatalf("table of %d slots for 96,000 keys", len(k.table))
	}
	fill(12)
	fill(12)
	if len(k.table) != minSlots || cap(k.arena) > 8<<10 || cap(k.ends) > 8*minSlots {
		t.Fatalf("after small messages: table %d slots, arena cap %d, ends cap %d", len(k.table), cap(k.arena), cap(k.ends))
	}
	// Same sizes: nothing is reallocated.
	table := &k.table[0]
	fill(12)
	if &k.table[0] != table {
		t.Fatal("table reallocated for a message of the same size")
	}
	fill(300) // grows again
	fill(0)
	fill(1)
}

// TestDecodeAfterHostile decodes a valid impression of about 1 MiB with
// 96,000 feature columns (and one of 75,000 null columns), then ordinary
// ones, with the same Decoder and Impression: the state grown for the
// huge message is replaced by small state, and the decoding stays right
// (duplicates rejected in the huge message and in the small ones).
func TestDecodeAfterHostile(t *testing.T) {
	for _, tt := range []struct {
		n     int
		nulls bool
	}{{96_000, false}, {75_000, true}} {
		t.Run(fmt.Sprintf("%d-nulls-%v", tt.n, tt.nulls), func(t *testing.T) {
			hostile := hostileImpression(tt.n, tt.nulls)
			dup := append(hostile[:len(hostile)-1:len(hostile)-1], `,"7":"again"}`...)
			if len(dup) > DefaultMaxBytes {
				t.Fatalf("hostile message of %d bytes, over the limit", len(dup))
			}
			var d Decoder
			var imp Impression
			checkFieldError(t, d.Impression(dup, &imp), "7", "duplicate key")
			checkFieldError(t, d.ImpressionKey(dup, &imp), "7", "duplicate key")

			if err := d.ImpressionKey(hostile, &imp); err != nil {
				t.Fatal(err)
			}
			if len(d.keys.table) < 2*tt.n {
				t.Fatalf("key table of %d slots for %d keys", len(d.keys.table), tt.n)
			}
			imp.Features = map[string]Value{"before": Bool(true)}
			before := imp.Features
			if err := d.Impression(hostile, &imp); err != nil {
				t.Fatal(err)
			}
			want := tt.n
			if tt.nulls {
				want = 0
			}
			if imp.ImpressionID != "hostile" || len(imp.Features) != want {
				t.Fatalf("hostile message: id %q, %d features, want %d", imp.ImpressionID, len(imp.Features), want)
			}
			big := imp.Features
			if tt.nulls {
				// The nulls were dropped by copying the rest into a new map,
				// not by deleting them from the grown one.
				big["sentinel"] = Bool(true)
				if _, ok := before["sentinel"]; ok {
					t.Fatal("the map grown for the null columns is kept")
				}
				delete(big, "sentinel")
			}
			checkAfterHostile(t, &d, &imp)
			if !tt.nulls && len(big) != tt.n {
				t.Fatalf("the huge feature map was cleared (%d entries left), not replaced", len(big))
			}
		})
	}
}

// checkAfterHostile decodes generated impressions with d after a huge
// message: they decode right with both methods, duplicates are rejected,
// the key set is back to its first size, and strings are interned again.
func checkAfterHostile(t *testing.T, d *Decoder, imp *Impression) {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 50 {
		want := genImpression(r, i)
		msg := AppendImpressionJSON(nil, &want)
		if err := d.Impression(msg, imp); err != nil {
			t.Fatal(err)
		}
		if !impressionsEqual(imp, &want) {
			t.Fatalf("message %d: got %+v, want %+v", i, *imp, want)
		}
		var key Impression
		if err := d.ImpressionKey(msg, &key); err != nil {
			t.Fatal(err)
		}
		if key.ImpressionID != want.ImpressionID || key.TS != want.TS || key.UserID != want.UserID || key.AppID != want.AppID {
			t.Fatalf("message %d: ImpressionKey got %+v, want %+v", i, key, want)
		}
		bad := append(msg[:len(msg)-1:len(msg)-1], `,"dup":1,"dup":2}`...)
		checkFieldError(t, d.Impression(bad, imp), "dup", "duplicate key")
		checkFieldError(t, d.ImpressionKey(bad, &key), "dup", "duplicate key")
	}
	if len(d.keys.table) != minSlots || cap(d.keys.arena) > 8<<10 || cap(d.keys.ends) > 8*minSlots {
		t.Fatalf("key set not shrunk: table %d slots, arena cap %d, ends cap %d", len(d.keys.table), cap(d.keys.arena), cap(d.keys.ends))
	}
	if _, ok := d.intern["country"]; !ok {
		t.Fatal(`"country" not interned after the huge message`)
	}
}

// TestDecodeAfterHostileList decodes an impression with a list of 200,000
// strings, then an ordinary one: the list scratch is not kept.
func TestDecodeAfterHostileList(t *testing.T) {
	huge := `{"impression_id":"i","ts":1,"user_id":"u","app_id":"a","l":[` +
		strings.Repeat(`"x",`, 200_000) + `"x"]}`
	var d Decoder
	var imp Impression
	if err := d.Impression([]byte(huge), &imp); err != nil {
		t.Fatal(err)
	}
	if n := len(imp.Features["l"].Strs); n != 200_001 {
		t.Fatalf("list of %d strings, want 200001", n)
	}
	if err := d.Impression([]byte(validImpression), &imp); err != nil {
		t.Fatal(err)
	}
	if c := cap(d.strs); c > 8*minSlots {
		t.Fatalf("list scratch of capacity %d kept", c)
	}
}

// TestDecodeInstallAfterHostile decodes an install with 10,000 unknown
// keys, then ordinary ones: the map of unknown keys is replaced, not
// cleared, and duplicates are still rejected.
func TestDecodeInstallAfterHostile(t *testing.T) {
	msg := []byte(`{"ts":5,"impression_id":"i"`)
	for i := range 10_000 {
		msg = fmt.Appendf(msg, `,"u%d":%d`, i, i)
	}
	msg = append(msg, '}')
	var d Decoder
	var ins Install
	if err := d.Install(msg, &ins); err != nil {
		t.Fatal(err)
	}
	big := d.unknown
	if err := d.Install([]byte(`{"ts":6,"impression_id":"j","x":1}`), &ins); err != nil || ins.TS != 6 {
		t.Fatalf("got %+v, %v", ins, err)
	}
	if len(big) != 10_000 || len(d.unknown) != 1 {
		t.Fatalf("unknown keys: the huge map has %d entries (want 10000 kept), the new one %d (want 1)", len(big), len(d.unknown))
	}
	checkFieldError(t, d.Install([]byte(`{"ts":6,"impression_id":"j","x":1,"x":2}`), &ins), "x", "duplicate key")
}
