package featurize

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
	"time"

	"github.com/wdstream/wdstream/schemas/spec"
)

// FuzzDecode: the decoder never panics on any input, and a state it accepts
// survives encode/decode unchanged. Each input is tried as is and, so that
// the fuzzer reaches the body parser, also as a body framed with a valid
// header, length and checksum, with every combination of the fit state and
// expiry flags, decoded under a spec without and with ttls. The
// committed seed corpus is in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, fit := range []bool{false, true} {
		for _, s := range []*State{fuzzState(f), fuzzTTLState(f)} {
			enc := s.AppendEncoded(nil, EncodeOptions{FitState: fit})
			f.Add(enc)
			f.Add(enc[headerSize : len(enc)-trailerSize])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b)
		for _, flags := range []uint16{0, flagFitState, flagExpiry, flagFitState | flagExpiry} {
			checkDecode(t, frame(b, flags))
		}
	})
}

// tinyTTLSpec is tinySpec with a ttl on its vocabularies of apps.
func tinyTTLSpec() *spec.Spec {
	sp := tinySpec()
	sp.Features[1].TTL = spec.Duration(time.Second)
	sp.Features[2].TTL = spec.Duration(time.Second)
	return sp
}

// fuzzTTLState is a tinyTTLSpec state with strings evicted and holes
// reused.
func fuzzTTLState(tb testing.TB) *State {
	s, err := New(tinyTTLSpec(), Options{SketchBytes: minAdmitWidth * bytesPerColumn, QuantileK: 8})
	if err != nil {
		tb.Fatal(err)
	}
	exs := newGen(3, 40, 10).examples(60)
	for i := range exs {
		exs[i].TS = int64(1 + 50*i) // 3 s: the first apps leave
	}
	if err := s.Fit(exs[:40]); err != nil {
		tb.Fatal(err)
	}
	s.ExpireNow()
	if err := s.Fit(exs[40:]); err != nil {
		tb.Fatal(err)
	}
	return s
}

func fuzzState(tb testing.TB) *State {
	s, err := New(tinySpec(), Options{SketchBytes: minAdmitWidth * bytesPerColumn, QuantileK: 8})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// frame wraps body in a valid header and trailer.
func frame(body []byte, flags uint16) []byte {
	out := []byte(formatMagic)
	out = binary.LittleEndian.AppendUint16(out, formatVersion)
	out = binary.LittleEndian.AppendUint16(out, flags)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(body)))
	out = append(out, body...)
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, castagnoli()))
}

func checkDecode(t *testing.T, b []byte) {
	checkDecodeWith(t, b, tinySpec)
	checkDecodeWith(t, b, tinyTTLSpec)
}

func checkDecodeWith(t *testing.T, b []byte, tinySpec func() *spec.Spec) {
	opts := Options{SketchBytes: minAdmitWidth * bytesPerColumn, QuantileK: 8}
	st, err := DecodeBytes(b, tinySpec(), opts)
	if err != nil {
		return
	}
	fit := binary.LittleEndian.Uint16(b[6:])&flagFitState != 0
	once := st.AppendEncoded(nil, EncodeOptions{FitState: fit})
	st2, err := DecodeBytes(once, tinySpec(), opts)
	if err != nil {
		t.Fatalf("re-encoded state does not decode: %v", err)
	}
	if twice := st2.AppendEncoded(nil, EncodeOptions{FitState: fit}); !bytes.Equal(once, twice) {
		t.Fatalf("encode/decode not stable:\n %x\n %x", once, twice)
	}
	// A decoded state must be usable: fit and transform must not panic.
	st2.RefreshBoundaries()
	exs := newGen(1, 50, 10).examples(20)
	if err := st2.Fit(exs); err != nil {
		t.Fatal(err)
	}
	var batch Batch
	if err := st2.Transform(&batch, exs); err != nil {
		t.Fatal(err)
	}
	st2.ExpireNow()
	if err := st2.Fit(exs); err != nil {
		t.Fatal(err)
	}
}
