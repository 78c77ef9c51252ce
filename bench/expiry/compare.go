package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// readLines reads the JSON lines of one run.
func readLines(path string) ([]dayLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []dayLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var l dayLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("%s: %d days, want 2 or more", path, len(out))
	}
	return out, nil
}

// compare prints the runs side by side: every `every` days and the last,
// the features' ids, the version's size, the heap, the resident memory and
// the day's AUC; then the last day's AUC and the mean of the last week, and
// the growth of each figure over the second half of the days.
func compare(w io.Writer, features []string, every int, names []string, runs [][]dayLine) error {
	n := len(runs[0])
	for i, r := range runs {
		if len(r) != n {
			return fmt.Errorf("run %s has %d days, %s %d", names[i], len(r), names[0], n)
		}
	}
	head := func(what string) string {
		var cols []string
		for _, nm := range names {
			cols = append(cols, what+" "+nm)
		}
		return strings.Join(cols, " | ")
	}
	var idHeads []string
	for _, f := range features {
		idHeads = append(idHeads, head(f+" ids"))
	}
	fmt.Fprintf(w, "| day | %s | %s | %s | %s | %s |\n", strings.Join(idHeads, " | "), head("version MB"), head("heap MB"), head("RSS MB"), head("AUC"))
	fmt.Fprintf(w, "|---|%s\n", strings.Repeat("---|", (4+len(features))*len(names)))
	mb := func(b float64) string { return fmt.Sprintf("%.1f", b/(1<<20)) }
	for d := range n {
		if (d+1)%every != 0 && d != 0 && d != n-1 {
			continue
		}
		var ids, ver, heap, rss, auc []string
		for _, f := range features {
			for _, r := range runs {
				ids = append(ids, fmt.Sprint(r[d].Vocabs[f].IDs))
			}
		}
		for _, r := range runs {
			l := r[d]
			ver = append(ver, mb(float64(l.VersionBytes)))
			heap = append(heap, mb(float64(l.HeapBytes)))
			rss = append(rss, mb(float64(l.RSSBytes)))
			if d == 0 {
				auc = append(auc, "-")
			} else {
				auc = append(auc, fmt.Sprintf("%.4f", l.AUC))
			}
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s |\n", d+1, strings.Join(ids, " | "), strings.Join(ver, " | "),
			strings.Join(heap, " | "), strings.Join(rss, " | "), strings.Join(auc, " | "))
	}
	fmt.Fprintln(w)
	for i, r := range runs {
		week := r[max(1, n-7):]
		var sum float64
		for _, l := range week {
			sum += l.AUC
		}
		var peak int64
		for _, l := range r {
			peak = max(peak, l.RSSPeakBytes)
		}
		mid, end := r[n/2], r[n-1]
		var grow []string
		for _, f := range features {
			grow = append(grow, fmt.Sprintf("%s ids %+.1f%%", f, pct(mid.Vocabs[f].IDs, end.Vocabs[f].IDs)))
		}
		fmt.Fprintf(w, "%s: last day AUC %.4f, mean of the last %d days %.4f; day %d -> %d: %s, version %+.1f%%, heap %+.1f%%, RSS %+.1f%%; peak RSS %s MB\n",
			names[i], end.AUC, len(week), sum/float64(len(week)), mid.Day, end.Day, strings.Join(grow, ", "),
			pct(mid.VersionBytes, end.VersionBytes), pct(mid.HeapBytes, end.HeapBytes), pct(mid.RSSBytes, end.RSSBytes), mb(float64(peak)))
	}
	return nil
}

func pct[T int | int64 | uint64](from, to T) float64 {
	return 100 * (float64(to) - float64(from)) / float64(from)
}
