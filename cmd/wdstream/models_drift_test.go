package main

import (
	"strings"
	"testing"

	"github.com/wdstream/wdstream/drift"
	"github.com/wdstream/wdstream/publisher"
)

// TestModelsShowDrift: a backfilled version records the statistics of its
// training examples and `models show` prints them; a version shown while
// LATEST names another prints the drift against LATEST's statistics,
// marking the feature that changed; a version without statistics says so.
func TestModelsShowDrift(t *testing.T) {
	b := newBackfilled(t)
	out, _ := run(t, "models", "show", "ps", "--store", b.url)
	first := strings.Fields(out)[0] // NAME@VERSION
	for _, want := range []string{"(LATEST)", "statistics of ", "country", "categorical", "app_rating", "deciles", "file stats.json"} {
		if !strings.Contains(out, want) {
			t.Fatalf("show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "drift against LATEST") {
		t.Errorf("show of LATEST itself prints a drift:\n%s", out)
	}

	// A version whose statistics say every example came from a new country.
	b.publishAs(t, "ps", func(bd *publisher.Bundle) {
		c := bd.Profile.Feature("country")
		c.Top, c.Other, c.Missing = []drift.Share{{Value: "atlantis", Share: 1}}, 0, 0
	})
	out, _ = run(t, "models", "show", first, "--store", b.url)
	t.Logf("\n%s", out)
	var drifted []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "DRIFTED") {
			drifted = append(drifted, strings.Fields(line)[0]+" "+strings.Fields(line)[1])
		}
	}
	if !strings.Contains(out, "drift against LATEST ps@") || len(drifted) != 1 || drifted[0] != "country linf" {
		t.Fatalf("drifted %v, want [country linf]:\n%s", drifted, out)
	}

	// A version without statistics.
	v := b.publishAs(t, "ps", func(bd *publisher.Bundle) { bd.Profile = nil })
	out, _ = run(t, "models", "show", "ps@"+v, "--store", b.url)
	if !strings.Contains(out, "statistics: none recorded") {
		t.Fatalf("show of a version without statistics:\n%s", out)
	}
}
