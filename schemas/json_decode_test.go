package schemas

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

const validImpression = `{"impression_id":"i1","ts":1700000000000,"user_id":"u1","app_id":"a1",` +
	`"country":"de","age":31.5,"new_user":true,"installed_apps":["a2","a3"],"none":null}`

func TestDecodeImpressionValid(t *testing.T) {
	var d Decoder
	var imp Impression
	if err := d.Impression([]byte(validImpression), &imp); err != nil {
		t.Fatal(err)
	}
	want := Impression{ImpressionID: "i1", TS: 1700000000000, UserID: "u1", AppID: "a1", Features: map[string]Value{
		"country": String("de"), "age": Number(31.5), "new_user": Bool(true),
		"installed_apps": Strings([]string{"a2", "a3"}),
	}}
	if !impressionsEqual(&imp, &want) {
		t.Fatalf("got %+v, want %+v", imp, want)
	}
	// Reuse: a second decode clears the features of the first.
	if err := d.Impression([]byte(`{"impression_id":"i2","ts":0,"user_id":"u","app_id":"a"}`), &imp); err != nil {
		t.Fatal(err)
	}
	if len(imp.Features) != 0 || imp.ImpressionID != "i2" || imp.TS != 0 {
		t.Fatalf("reused impression not reset: %+v", imp)
	}
}

func TestDecodeStrings(t *testing.T) {
	tests := []struct {
		name, lit, want string
	}{
		{"plain", `"abc"`, "abc"},
		{"escapes", `"a\"b\\c\/d\b\f\n\r\t"`, "a\"b\\c/d\b\f\n\r\t"},
		{"unicode escape", `"\u00e9\u4e2d"`, "é中"},
		{"surrogate pair", `"\ud83d\ude00"`, "😀"},
		{"raw utf8", `"é😀"`, "é😀"},
		{"empty", `""`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			var imp Impression
			msg := `{"impression_id":"i","ts":1,"user_id":"u","app_id":"a","f":` + tt.lit + `,` + tt.lit[:len(tt.lit)-1] + `k":1}`
			if err := d.Impression([]byte(msg), &imp); err != nil {
				t.Fatal(err)
			}
			if got := imp.Features["f"]; got.Kind != KindString || got.Str != tt.want {
				t.Errorf("value: got %+v, want %q", got, tt.want)
			}
			if _, ok := imp.Features[tt.want+"k"]; !ok {
				t.Errorf("key %q not decoded: %v", tt.want+"k", imp.Features)
			}
		})
	}
}

func TestDecodeImpressionErrors(t *testing.T) {
	const fixed = `"impression_id":"i","ts":1,"user_id":"u","app_id":"a"`
	tests := []struct {
		name, msg, field, problem string
	}{
		{"empty", ``, "", "empty message"},
		{"not object", `[1]`, "", "top level is not a JSON object"},
		{"trailing", `{` + fixed + `} x`, "", "trailing data"},
		{"trailing object", `{` + fixed + `}{}`, "", "trailing data"},
		{"trailing comma", `{` + fixed + `,}`, "", "want a key string"},
		{"missing impression_id", `{"ts":1,"user_id":"u","app_id":"a"}`, "impression_id", "missing"},
		{"missing ts", `{"impression_id":"i","user_id":"u","app_id":"a"}`, "ts", "missing"},
		{"missing user_id", `{"impression_id":"i","ts":1,"app_id":"a"}`, "user_id", "missing"},
		{"missing app_id", `{"impression_id":"i","ts":1,"user_id":"u"}`, "app_id", "missing"},
		{"id not string", `{"impression_id":5,"ts":1,"user_id":"u","app_id":"a"}`, "impression_id", "got a number, want a string"},
		{"id null", `{"impression_id":null,"ts":1,"user_id":"u","app_id":"a"}`, "impression_id", "got null"},
		{"id empty", `{"impression_id":"","ts":1,"user_id":"u","app_id":"a"}`, "impression_id", "empty string"},
		{"id too long", `{"impression_id":"i","ts":1,"user_id":"` + strings.Repeat("u", 257) + `","app_id":"a"}`, "user_id", "257 bytes long, over the limit of 256"},
		{"ts string", `{"impression_id":"i","ts":"1","user_id":"u","app_id":"a"}`, "ts", "got a string, want an integer"},
		{"ts fraction", `{"impression_id":"i","ts":1.5,"user_id":"u","app_id":"a"}`, "ts", "not an integer"},
		{"ts exponent", `{"impression_id":"i","ts":1e3,"user_id":"u","app_id":"a"}`, "ts", "not an integer"},
		{"ts negative", `{"impression_id":"i","ts":-1,"user_id":"u","app_id":"a"}`, "ts", "negative"},
		{"ts overflow", `{"impression_id":"i","ts":9223372036854775808,"user_id":"u","app_id":"a"}`, "ts", "overflows int64"},
		{"ts leading zero", `{"impression_id":"i","ts":01,"user_id":"u","app_id":"a"}`, "ts", "want ',' or '}'"},
		{"duplicate fixed", `{` + fixed + `,"ts":2}`, "ts", "duplicate key"},
		{"duplicate feature", `{` + fixed + `,"x":1,"x":"b"}`, "x", "duplicate key"},
		{"duplicate null feature", `{` + fixed + `,"x":null,"x":null}`, "x", "duplicate key"},
		{"label in impression", `{` + fixed + `,"label":1}`, "label", "reserved for examples"},
		{"feature object", `{` + fixed + `,"geo":{"a":1}}`, "geo", "got an object"},
		{"feature list of numbers", `{` + fixed + `,"apps":["a",1]}`, "apps", "list element 1 is a number, want a string"},
		{"feature nested list", `{` + fixed + `,"apps":[["a"]]}`, "apps", "list element 0 is a list"},
		{"feature list null element", `{` + fixed + `,"apps":["a",null]}`, "apps", "list element 1 is null"},
		{"feature overflow", `{` + fixed + `,"x":1e999}`, "x", "overflows float64"},
		{"feature negative overflow", `{` + fixed + `,"x":-1e400}`, "x", "overflows float64"},
		{"feature NaN literal", `{` + fixed + `,"x":NaN}`, "x", "want a JSON value"},
		{"feature bad literal", `{` + fixed + `,"x":tru}`, "x", "want a JSON value"},
		{"feature plus sign", `{` + fixed + `,"x":+1}`, "x", "want a JSON value"},
		{"feature bare dot", `{` + fixed + `,"x":1.}`, "x", "digit after the decimal point"},
		{"invalid utf8 value", "{" + fixed + ",\"x\":\"a\xffb\"}", "x", "invalid UTF-8"},
		{"invalid utf8 key", "{" + fixed + ",\"a\xff\":1}", "", "key: invalid UTF-8"},
		{"invalid utf8 id", "{\"impression_id\":\"\xc3\",\"ts\":1,\"user_id\":\"u\",\"app_id\":\"a\"}", "impression_id", "invalid UTF-8"},
		{"control char", "{" + fixed + ",\"x\":\"a\nb\"}", "x", "control character"},
		{"lone surrogate", `{` + fixed + `,"x":"\ud800"}`, "x", "lone UTF-16 surrogate"},
		{"bad escape", `{` + fixed + `,"x":"\q"}`, "x", "invalid escape"},
		{"unterminated", `{` + fixed + `,"x":"abc`, "x", "unterminated string"},
		{"missing colon", `{"impression_id" "i"}`, "impression_id", "want ':'"},
		{"truncated", `{` + fixed, "app_id", "unexpected end of message"},
		{"single quotes", `{'ts':1}`, "", "want a key string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			var imp Impression
			err := d.Impression([]byte(tt.msg), &imp)
			checkFieldError(t, err, tt.field, tt.problem)
			checkFieldError(t, d.ImpressionKey([]byte(tt.msg), &imp), tt.field, tt.problem)
		})
	}
}

// TestImpressionKeyMatchesImpression compares ImpressionKey with Impression
// on generated impressions and on thousands of random corruptions of them
// (bytes replaced, inserted, deleted; keys duplicated; truncation): both
// accept or reject the same messages with the same error, and agree on the
// fixed fields, with one Decoder of each reused across all messages.
func TestImpressionKeyMatchesImpression(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var full, keys Decoder
	var a, b Impression
	check := func(msg []byte) {
		t.Helper()
		errA, errB := full.Impression(msg, &a), keys.ImpressionKey(msg, &b)
		if fmt.Sprint(errA) != fmt.Sprint(errB) {
			t.Fatalf("%q:\nImpression:    %v\nImpressionKey: %v", msg, errA, errB)
		}
		if errA == nil && (a.ImpressionID != b.ImpressionID || a.TS != b.TS || a.UserID != b.UserID || a.AppID != b.AppID || b.Features != nil) {
			t.Fatalf("%q: Impression %+v, ImpressionKey %+v", msg, a, b)
		}
	}
	alphabet := []byte(`{}[]",:\ 0123456789.eE-+tfnulrsaxyz` + "\x00\xff\xc3\n")
	rejected := 0
	for i := range 3000 {
		imp := genImpression(r, i)
		msg := AppendImpressionJSON(nil, &imp)
		check(msg)
		for range 5 {
			bad := slices.Clone(msg)
			switch pos := r.IntN(len(bad)); r.IntN(5) {
			case 0:
				bad[pos] = alphabet[r.IntN(len(alphabet))]
			case 1:
				bad = slices.Insert(bad, pos, alphabet[r.IntN(len(alphabet))])
			case 2:
				bad = slices.Delete(bad, pos, pos+1)
			case 3:
				bad = bad[:pos]
			case 4: // a feature key again, with another value
				bad = append(bad[:len(bad)-1], `,"`+testColumns[r.IntN(len(testColumns))].Name+`":1}`...)
			}
			if full.Impression(bad, &a) != nil {
				rejected++
			}
			check(bad)
		}
	}
	// A message with many distinct feature keys (the key set grows), one
	// repeated at the end.
	many := []byte(`{"impression_id":"i","ts":1,"user_id":"u","app_id":"a"`)
	for i := range 500 {
		many = fmt.Appendf(many, `,"k%d":%d`, i, i)
	}
	check(append(slices.Clone(many), '}'))
	check(append(many, `,"k321":"again"}`...))
	if rejected < 5000 {
		t.Fatalf("only %d of 15000 corruptions rejected: the test exercises too few errors", rejected)
	}
	t.Logf("%d of 15000 corruptions rejected", rejected)
}

func TestDecodeLimits(t *testing.T) {
	d := Decoder{MaxBytes: 64, MaxIDBytes: 3}
	var imp Impression
	long := `{"impression_id":"i","ts":1,"user_id":"u","app_id":"a","pad":"` + strings.Repeat("x", 64) + `"}`
	checkFieldError(t, d.Impression([]byte(long), &imp), "", "over the limit of 64")
	checkFieldError(t, d.Impression([]byte(`{"impression_id":"abcd","ts":1,"user_id":"u","app_id":"a"}`), &imp), "impression_id", "4 bytes long, over the limit of 3")
	if err := d.Impression([]byte(`{"impression_id":"abc","ts":1,"user_id":"u","app_id":"a"}`), &imp); err != nil {
		t.Fatalf("id at the limit: %v", err)
	}
}

func TestDecodeInstall(t *testing.T) {
	tests := []struct {
		name, msg      string
		want           Install
		field, problem string // empty problem: want success
	}{
		{name: "by impression", msg: `{"ts":5,"impression_id":"i"}`, want: Install{TS: 5, ImpressionID: "i"}},
		{name: "by user and app", msg: `{"ts":5,"user_id":"u","app_id":"a"}`, want: Install{TS: 5, UserID: "u", AppID: "a"}},
		{name: "null impression", msg: `{"ts":5,"impression_id":null,"user_id":"u","app_id":"a"}`, want: Install{TS: 5, UserID: "u", AppID: "a"}},
		{name: "unknown keys skipped", msg: `{"ts":5,"impression_id":"i","src":{"a":[1,{"b":null}]},"n":-1.5e3}`, want: Install{TS: 5, ImpressionID: "i"}},
		{name: "missing ts", msg: `{"impression_id":"i"}`, field: "ts", problem: "missing"},
		{name: "no key at all", msg: `{"ts":5}`, field: "user_id", problem: "required when impression_id is absent"},
		{name: "no app", msg: `{"ts":5,"user_id":"u"}`, field: "app_id", problem: "required when impression_id is absent"},
		{name: "ts negative", msg: `{"ts":-5,"impression_id":"i"}`, field: "ts", problem: "negative"},
		{name: "duplicate unknown", msg: `{"ts":5,"impression_id":"i","x":1,"x":2}`, field: "x", problem: "duplicate key"},
		{name: "bad unknown", msg: `{"ts":5,"impression_id":"i","x":[1,]}`, field: "x", problem: "want a JSON value"},
		{name: "deep unknown", msg: `{"ts":5,"impression_id":"i","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, field: "x", problem: "nested deeper"},
		{name: "user not string", msg: `{"ts":5,"user_id":1,"app_id":"a"}`, field: "user_id", problem: "got a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			got := Install{TS: 99, ImpressionID: "stale"}
			err := d.Install([]byte(tt.msg), &got)
			if tt.problem != "" {
				checkFieldError(t, err, tt.field, tt.problem)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeExample(t *testing.T) {
	const fixed = `"impression_id":"i","ts":1,"user_id":"u","app_id":"a"`
	tests := []struct {
		name, msg      string
		label          int32
		installTS      int64
		hasInstallTS   bool
		field, problem string
	}{
		{name: "positive", msg: `{` + fixed + `,"label":1,"install_ts":7,"c":"x"}`, label: 1, installTS: 7, hasInstallTS: true},
		{name: "negative null", msg: `{` + fixed + `,"label":0,"install_ts":null}`},
		{name: "negative absent", msg: `{` + fixed + `,"label":0}`},
		{name: "missing label", msg: `{` + fixed + `}`, field: "label", problem: "missing"},
		{name: "label 2", msg: `{` + fixed + `,"label":2}`, field: "label", problem: "got 2, want 0 or 1"},
		{name: "label bool", msg: `{` + fixed + `,"label":true}`, field: "label", problem: "got a bool, want 0 or 1"},
		{name: "label float", msg: `{` + fixed + `,"label":1.0,"install_ts":3}`, field: "label", problem: "not an integer"},
		{name: "positive without install_ts", msg: `{` + fixed + `,"label":1}`, field: "install_ts", problem: "missing or null while label is 1"},
		{name: "positive null install_ts", msg: `{` + fixed + `,"label":1,"install_ts":null}`, field: "install_ts", problem: "missing or null while label is 1"},
		{name: "negative with install_ts", msg: `{` + fixed + `,"label":0,"install_ts":3}`, field: "install_ts", problem: "set while label is 0"},
		{name: "install_ts string", msg: `{` + fixed + `,"label":1,"install_ts":"3"}`, field: "install_ts", problem: "want an integer"},
		{name: "duplicate label", msg: `{` + fixed + `,"label":0,"label":0}`, field: "label", problem: "duplicate key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			ex := Example{Label: 1, InstallTS: 5, HasInstallTS: true}
			err := d.Example([]byte(tt.msg), &ex)
			if tt.problem != "" {
				checkFieldError(t, err, tt.field, tt.problem)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ex.Label != tt.label || ex.InstallTS != tt.installTS || ex.HasInstallTS != tt.hasInstallTS {
				t.Fatalf("got label=%d install_ts=%d has=%v", ex.Label, ex.InstallTS, ex.HasInstallTS)
			}
		})
	}
}

func TestFieldErrorMessage(t *testing.T) {
	tests := []struct {
		err  FieldError
		want string
	}{
		{FieldError{Field: "ts", Problem: "not an integer: 1.5"}, `field "ts": not an integer: 1.5`},
		{FieldError{Problem: "trailing data after the object at byte 3"}, `message: trailing data after the object at byte 3`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func checkFieldError(t *testing.T, err error, field, problem string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got error %v, want a *FieldError", err)
	}
	if fe.Field != field || !strings.Contains(fe.Problem, problem) {
		t.Fatalf("got %v (field %q), want field %q with problem containing %q", err, fe.Field, field, problem)
	}
}

// TestSpecial8 checks the word-at-a-time test of str against the byte
// predicate, for every byte value at every position of a word of plain
// bytes, and for pairs of bytes.
func TestSpecial8(t *testing.T) {
	special := func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80 }
	word := func(b [8]byte) uint64 { return binary.LittleEndian.Uint64(b[:]) }
	for pos := range 8 {
		for c := range 256 {
			b := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
			b[pos] = byte(c)
			if got := special8(word(b)); got != special(byte(c)) {
				t.Fatalf("byte %#x at %d: special8 %v", c, pos, got)
			}
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 200000 {
		var b [8]byte
		want := false
		for i := range b {
			b[i] = byte(r.IntN(256))
			if r.IntN(2) == 0 {
				b[i] = byte(0x20 + r.IntN(0x60)) // mostly plain
			}
			want = want || special(b[i])
		}
		if got := special8(word(b)); got != want {
			t.Fatalf("%q: special8 %v, want %v", b[:], got, want)
		}
	}
}
