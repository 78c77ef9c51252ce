package schemas

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestJSONRoundTripImpressions(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var d Decoder
	var got Impression
	var buf []byte
	for i := range 500 {
		want := genImpression(r, i)
		buf = AppendImpressionJSON(buf[:0], &want)
		if err := d.Impression(buf, &got); err != nil {
			t.Fatalf("impression %d: %v\n%s", i, err, buf)
		}
		if !impressionsEqual(&got, &want) {
			t.Fatalf("impression %d: got %+v, want %+v", i, got, want)
		}
	}
}

func TestJSONRoundTripExamples(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var d Decoder
	var got Example
	var buf []byte
	for i := range 300 {
		want := genExample(r, i)
		buf = AppendExampleJSON(buf[:0], &want)
		if err := d.Example(buf, &got); err != nil {
			t.Fatalf("example %d: %v\n%s", i, err, buf)
		}
		if !examplesEqual(&got, &want) {
			t.Fatalf("example %d: got %+v, want %+v", i, got, want)
		}
	}
}

func TestJSONRoundTripInstalls(t *testing.T) {
	tests := []Install{
		{TS: 1, ImpressionID: "i"},
		{TS: 2, UserID: "u", AppID: "a"},
		{TS: math.MaxInt64, ImpressionID: "i\"\\\n\x01é", UserID: "u", AppID: "a"},
	}
	for _, want := range tests {
		t.Run(want.ImpressionID+want.UserID, func(t *testing.T) {
			buf := AppendInstallJSON(nil, &want)
			var d Decoder
			var got Install
			if err := d.Install(buf, &got); err != nil {
				t.Fatalf("%v\n%s", err, buf)
			}
			if got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestJSONEncodeEdgeCases(t *testing.T) {
	imp := Impression{ImpressionID: "i", TS: 3, UserID: "u", AppID: "a", Features: map[string]Value{
		"b":       Number(1e21),
		"a":       Number(math.Copysign(0, -1)),
		"nan":     Number(math.NaN()),
		"inf":     Number(math.Inf(-1)),
		"null":    {Kind: KindNull},
		"ts":      String("shadow"), // a fixed column name: left out
		"empty":   Strings(nil),
		"bad\xff": String("x\xffy\u2028"),
		"ctl":     String("\x00\x1f"),
	}}
	got := string(AppendImpressionJSON(nil, &imp))
	want := `{"impression_id":"i","ts":3,"user_id":"u","app_id":"a","a":-0,"b":1e+21,"bad` + "\ufffd" + `":"x` + "\ufffd" + `y` + "\u2028" + `","ctl":"\u0000\u001f","empty":[]}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	var d Decoder
	var back Impression
	if err := d.Impression([]byte(got), &back); err != nil {
		t.Fatal(err)
	}
	if v := back.Features["empty"]; v.Kind != KindStrings || len(v.Strs) != 0 {
		t.Errorf("empty list decoded as %+v", v)
	}
	if v := back.Features["a"]; !math.Signbit(v.Num) {
		t.Errorf("-0 decoded as %v", v.Num)
	}
	if !strings.Contains(got, `"b":1e+21`) {
		t.Errorf("large number not kept: %s", got)
	}
}
