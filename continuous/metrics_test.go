package continuous

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestStageExportsFeatureCounters: the featurizer's per-feature counters
// reach /metrics, among them the list elements cut by max_length (set to 2
// here, so that the simulated installed_apps lists are cut): every
// trained example goes through Transform once, so the counters must equal
// what the examples hold.
func TestStageExportsFeatureCounters(t *testing.T) {
	sp := testSpec(t)
	const maxLen = 2
	found := false
	for i := range sp.Features {
		if sp.Features[i].Name == "installed_apps" {
			sp.Features[i].MaxLength, found = maxLen, true
		}
	}
	if !found {
		t.Fatal("the spec has no installed_apps feature")
	}
	reg := prometheus.NewRegistry()
	h := newHarness(t, 1, sp)
	h.reg = reg
	exs := worldExamples(t, 9, 1, 3000)
	var cut, cutLists float64
	for _, ex := range exs {
		if n := len(ex.Features["installed_apps"].Strs); n > maxLen {
			cut += float64(n - maxLen)
			cutLists++
		}
	}
	if cutLists == 0 {
		t.Fatal("no simulated list is longer than max_length: the test checks nothing")
	}
	produce(t, h.brokers, h.topic, exs)
	h.run(int64(len(exs)))

	got := gathered(t, reg)
	for k, want := range map[string]float64{
		"wdstream_featurize_truncated_elements_total/installed_apps": cut,
		"wdstream_featurize_truncated_lists_total/installed_apps":    cutLists,
		"wdstream_featurize_truncated_elements_total/app_id":         0,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if got["wdstream_featurize_values_total/app_id"] == 0 || got["wdstream_featurize_vocab_size/app_id"] == 0 {
		t.Errorf("app_id's counters are not exported: %v", got)
	}
}

// gathered returns the values of reg's counters and gauges by name, by
// NAME/FEATURE for those with a feature label.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "feature" {
					key += "/" + l.GetValue()
				}
			}
			got[key] += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return got
}
