package schemas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// testColumns are the feature columns of generated impressions: about what
// the simulator writes (12 columns, one list of 10-40 strings).
var testColumns = []Column{
	{Name: "app_category", Kind: KindString},
	{Name: "country", Kind: KindString},
	{Name: "device", Kind: KindString},
	{Name: "hour", Kind: KindNumber},
	{Name: "installed_apps", Kind: KindStrings},
	{Name: "is_new_user", Kind: KindBool},
	{Name: "language", Kind: KindString},
	{Name: "os", Kind: KindString},
	{Name: "price", Kind: KindNumber},
	{Name: "rating", Kind: KindNumber},
	{Name: "user_age", Kind: KindNumber},
	{Name: "wifi", Kind: KindBool},
}

// genImpression fills a pseudo-random impression number i drawn from r. Every
// tenth impression lacks one feature column (absent/null).
func genImpression(r *rand.Rand, i int) Impression {
	imp := Impression{
		ImpressionID: fmt.Sprintf("imp-%08d", i),
		TS:           1_700_000_000_000 + int64(i)*7,
		UserID:       fmt.Sprintf("user-%d", r.IntN(100_000)),
		AppID:        fmt.Sprintf("app-%d", r.IntN(5_000)),
		Features:     make(map[string]Value, len(testColumns)),
	}
	for _, c := range testColumns {
		switch c.Kind {
		case KindString:
			imp.Features[c.Name] = String(fmt.Sprintf("%s-%d", c.Name, r.IntN(50)))
		case KindNumber:
			imp.Features[c.Name] = Number(math.Round(r.Float64()*1e4) / 100)
		case KindBool:
			imp.Features[c.Name] = Bool(r.IntN(2) == 1)
		case KindStrings:
			apps := make([]string, 10+r.IntN(31))
			for j := range apps {
				apps[j] = fmt.Sprintf("app-%d", r.IntN(5_000))
			}
			imp.Features[c.Name] = Strings(apps)
		}
	}
	if i%10 == 9 {
		delete(imp.Features, testColumns[i%len(testColumns)].Name)
	}
	return imp
}

// genExample labels a generated impression: every third one is positive.
func genExample(r *rand.Rand, i int) Example {
	ex := Example{Impression: genImpression(r, i)}
	if i%3 == 0 {
		ex.Label, ex.InstallTS, ex.HasInstallTS = 1, ex.TS+60_000, true
	}
	return ex
}

func impressionsEqual(a, b *Impression) bool {
	return a.ImpressionID == b.ImpressionID && a.TS == b.TS && a.UserID == b.UserID &&
		a.AppID == b.AppID && featuresEqual(a.Features, b.Features)
}

func examplesEqual(a, b *Example) bool {
	return impressionsEqual(&a.Impression, &b.Impression) && a.Label == b.Label &&
		a.HasInstallTS == b.HasInstallTS && a.InstallTS == b.InstallTS
}

// featuresEqual compares feature maps, ignoring KindNull entries (absent)
// and treating a nil and an empty list alike; numbers compare by bits so
// that -0 and 0 differ and NaN equals NaN.
func featuresEqual(a, b map[string]Value) bool {
	count := func(m map[string]Value) int {
		n := 0
		for _, v := range m {
			if v.Kind != KindNull {
				n++
			}
		}
		return n
	}
	if count(a) != count(b) {
		return false
	}
	for k, va := range a {
		if va.Kind == KindNull {
			continue
		}
		vb, ok := b[k]
		if !ok || !valuesEqual(va, vb) {
			return false
		}
	}
	return true
}

func valuesEqual(a, b Value) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case KindString:
		return a.Str == b.Str
	case KindNumber:
		return math.Float64bits(a.Num) == math.Float64bits(b.Num) || (math.IsNaN(a.Num) && math.IsNaN(b.Num))
	case KindBool:
		return a.Bool == b.Bool
	case KindStrings:
		return slices.Equal(a.Strs, b.Strs)
	}
	return true
}

// hostileImpression returns a valid impression with n distinct feature
// columns "0", "1", ... (about 10 bytes each: 96,000 of them fit in
// DefaultMaxBytes), all null when nulls is set, else all 0.
func hostileImpression(n int, nulls bool) []byte {
	value := "0"
	if nulls {
		value = "null"
	}
	msg := []byte(`{"impression_id":"hostile","ts":1,"user_id":"u","app_id":"a"`)
	for i := range n {
		msg = fmt.Appendf(msg, `,"%d":%s`, i, value)
	}
	return append(msg, '}')
}
