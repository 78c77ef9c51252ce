package join

import (
	"testing"
	"time"

	"github.com/wdstream/wdstream/schemas"
)

func TestOfflineLabelsAndKeepsColumns(t *testing.T) {
	m := time.Minute.Milliseconds()
	imps := []schemas.Impression{
		{ImpressionID: "b", TS: 10 * m, UserID: "u", AppID: "x", Features: map[string]schemas.Value{"pos": schemas.Number(2)}},
		{ImpressionID: "a", TS: 0, UserID: "u", AppID: "x", Features: map[string]schemas.Value{"pos": schemas.Number(1)}},
		{ImpressionID: "c", TS: 5 * m, UserID: "v", AppID: "y"},
	}
	installs := []schemas.Install{
		{TS: 12 * m, UserID: "u", AppID: "x"}, // unattributed: latest impression of (u, x) is b
		{TS: 6 * m, ImpressionID: "c"},        // by id
		{TS: 7 * m, ImpressionID: "c"},        // duplicate
		{TS: 50 * m, ImpressionID: "a"},       // outside a's window
	}
	exs, st, err := Offline(imps, installs, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]schemas.Example{}
	for _, e := range exs {
		got[e.ImpressionID] = e
	}
	if len(exs) != 3 || got["a"].Label != 0 || got["b"].Label != 1 || got["c"].Label != 1 {
		t.Fatalf("examples %+v", exs)
	}
	if got["b"].InstallTS != 12*m || !got["b"].HasInstallTS || got["a"].HasInstallTS {
		t.Fatalf("install ts: %+v", got)
	}
	if got["b"].Features["pos"].Num != 2 {
		t.Fatalf("feature columns lost: %+v", got["b"].Features)
	}
	if exs[0].ImpressionID != "a" || exs[1].ImpressionID != "c" || exs[2].ImpressionID != "b" {
		t.Fatalf("order %s %s %s, want emission order a c b", exs[0].ImpressionID, exs[1].ImpressionID, exs[2].ImpressionID)
	}
	if st.Matched != 2 || st.Duplicates != 1 || st.OutOfWindow+st.Late != 1 {
		t.Fatalf("stats %+v", st)
	}
}
