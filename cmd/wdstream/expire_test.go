package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestBackfillExpiresIDs: a backfill warm-started from a version whose
// app_id has a ttl evicts the apps not seen within the ttl of its newest
// example (delisted ones among them) and says how many; the version's
// manifest records them, and `models show` prints them.
func TestBackfillExpiresIDs(t *testing.T) {
	world := t.TempDir()
	run(t, "simulate", "--out", world, "--seed", "3", "--users", "300", "--apps", "300", "--days", "3",
		"--impressions-per-day", "4000", "--new-apps-per-day", "30", "--delisted-per-day", "60")
	sp := serviceSpec(t, "hash_buckets: 4194304", "hash_buckets: 16384",
		"min_auc: 0.55", "min_auc: 0.5", "max_logloss: 0.7", "max_logloss: 2",
		"calibration: [0.5, 2.0]", "calibration: [0.1, 10]",
		"max_auc_drop: 0.01", "max_auc_drop: 0.5", "max_logloss_rise: 0.01", "max_logloss_rise: 0.5",
		"latency_budget: 50ms", "latency_budget: 5s",
		"    min_count: 2         # an app gets its own id once seen twice ...",
		"    min_count: 2\n    ttl: 12h")
	url := "file://" + t.TempDir()
	backfill := func(days ...string) string {
		var imps, ins []string
		for _, d := range days {
			imps = append(imps, filepath.Join(world, "impressions", "day-"+d+".parquet"))
			ins = append(ins, filepath.Join(world, "installs", "day-"+d+".parquet"))
		}
		_, stderr := run(t, "backfill", "--spec", sp, "--store", url, "--model", "ps",
			"--impressions", strings.Join(imps, ","), "--installs", strings.Join(ins, ","), "--holdout", "0.1")
		return stderr
	}
	backfill("001")
	second := backfill("003") // day 2 skipped: the apps of day 1 not seen on day 3 leave
	m := regexp.MustCompile(`app_id: ttl 12h evicted (\d+) strings`).FindStringSubmatch(second)
	if m == nil {
		t.Fatalf("the backfill of day 3 reports no eviction:\n%s", second)
	}
	n, _ := strconv.Atoi(m[1])
	out, _ := run(t, "models", "show", "ps", "--store", url)
	t.Logf("evicted %d\n%s", n, out)
	if !regexp.MustCompile(`vocabulary app_id: \d+ ids, \d+ strings, ttl 12h: \d+ free ids, ` + m[1] + ` evicted since the parent \(a\d+, `).MatchString(out) {
		t.Fatalf("models show does not print the %d evictions:\n%s", n, out)
	}
}
