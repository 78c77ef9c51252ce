package schemas

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/: valid messages, each
// kind of invalid one, and regressions found by fuzzing.

// FuzzDecodeImpression checks that no input panics the decoder and that a
// decoded impression survives encoding and decoding again unchanged.
func FuzzDecodeImpression(f *testing.F) {
	f.Add([]byte(validImpression))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Decoder
		var imp Impression
		if err := d.Impression(data, &imp); err != nil {
			return
		}
		enc := AppendImpressionJSON(nil, &imp)
		var again Impression
		if err := d.Impression(enc, &again); err != nil {
			t.Fatalf("re-encoded impression does not decode: %v\ninput:   %q\nencoded: %q", err, data, enc)
		}
		if !impressionsEqual(&imp, &again) {
			t.Fatalf("round trip changed the impression\nfirst:  %+v\nsecond: %+v\nencoded: %q", imp, again, enc)
		}
	})
}

// FuzzImpressionKey checks that ImpressionKey accepts and rejects exactly
// what Impression does, with the same error, and agrees on the fixed fields.
func FuzzImpressionKey(f *testing.F) {
	f.Add([]byte(validImpression))
	f.Add([]byte(`{"impression_id":"i","ts":1,"user_id":"u","app_id":"a","x":1,"x":null}`))
	f.Add([]byte(`{"impression_id":"i","ts":1,"user_id":"u","app_id":"a","":["a",1]}`))
	var full, keys Decoder
	f.Fuzz(func(t *testing.T, data []byte) {
		var a, b Impression
		errA, errB := full.Impression(data, &a), keys.ImpressionKey(data, &b)
		if fmt.Sprint(errA) != fmt.Sprint(errB) {
			t.Fatalf("%q:\nImpression:    %v\nImpressionKey: %v", data, errA, errB)
		}
		if errA == nil && (a.ImpressionID != b.ImpressionID || a.TS != b.TS || a.UserID != b.UserID || a.AppID != b.AppID) {
			t.Fatalf("%q: Impression %+v, ImpressionKey %+v", data, a, b)
		}
	})
}

// FuzzDecodeExample is FuzzDecodeImpression for examples.
func FuzzDecodeExample(f *testing.F) {
	f.Add([]byte(`{"impression_id":"i","ts":1,"user_id":"u","app_id":"a","label":1,"install_ts":2,"c":["x"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Decoder
		var ex Example
		if err := d.Example(data, &ex); err != nil {
			return
		}
		enc := AppendExampleJSON(nil, &ex)
		var again Example
		if err := d.Example(enc, &again); err != nil {
			t.Fatalf("re-encoded example does not decode: %v\ninput:   %q\nencoded: %q", err, data, enc)
		}
		if !examplesEqual(&ex, &again) {
			t.Fatalf("round trip changed the example\nfirst:  %+v\nsecond: %+v\nencoded: %q", ex, again, enc)
		}
	})
}

// FuzzDecodeInstall is FuzzDecodeImpression for installs.
func FuzzDecodeInstall(f *testing.F) {
	f.Add([]byte(`{"ts":5,"impression_id":"i","extra":{"a":[1,2]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Decoder
		var in Install
		if err := d.Install(data, &in); err != nil {
			return
		}
		enc := AppendInstallJSON(nil, &in)
		var again Install
		if err := d.Install(enc, &again); err != nil {
			t.Fatalf("re-encoded install does not decode: %v\ninput:   %q\nencoded: %q", err, data, enc)
		}
		if in != again {
			t.Fatalf("round trip changed the install: %+v then %+v", in, again)
		}
	})
}

// TestFuzzSeeds checks that the committed seeds mean what their names say:
// valid_* decode, bad_* are rejected.
func TestFuzzSeeds(t *testing.T) {
	decoders := map[string]func(d *Decoder, data []byte) error{
		"FuzzDecodeImpression": func(d *Decoder, data []byte) error { return d.Impression(data, new(Impression)) },
		"FuzzDecodeExample":    func(d *Decoder, data []byte) error { return d.Example(data, new(Example)) },
		"FuzzDecodeInstall":    func(d *Decoder, data []byte) error { return d.Install(data, new(Install)) },
	}
	for target, decode := range decoders {
		dir := filepath.Join("testdata", "fuzz", target)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasPrefix(name, "valid_") && !strings.HasPrefix(name, "bad_") {
				continue // a regression seed: only its fuzz run matters
			}
			t.Run(target+"/"+name, func(t *testing.T) {
				raw, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
				lit := strings.TrimSuffix(strings.TrimPrefix(lines[len(lines)-1], "[]byte("), ")")
				data, err := strconv.Unquote(lit)
				if err != nil {
					t.Fatalf("corpus file %s: %v", name, err)
				}
				err = decode(new(Decoder), []byte(data))
				if strings.HasPrefix(name, "valid_") && err != nil {
					t.Errorf("valid seed rejected: %v", err)
				}
				if strings.HasPrefix(name, "bad_") && err == nil {
					t.Errorf("bad seed accepted")
				}
			})
		}
	}
}
