package simulate

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wdstream/wdstream/schemas"
)

// readParquet reads every day's files back, impressions and installs as
// separate streams.
func readParquet(t *testing.T, dir string, days int) (imps, insts []Event) {
	t.Helper()
	for d := 1; d <= days; d++ {
		ir, err := schemas.OpenImpressions(filepath.Join(dir, "impressions", fmt.Sprintf("day-%03d.parquet", d)))
		if err != nil {
			t.Fatal(err)
		}
		for {
			imp := new(schemas.Impression)
			if err := ir.Read(imp); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			imps = append(imps, Event{Impression: imp})
		}
		ir.Close()
		nr, err := schemas.OpenInstalls(filepath.Join(dir, "installs", fmt.Sprintf("day-%03d.parquet", d)))
		if err != nil {
			t.Fatal(err)
		}
		for {
			in := new(schemas.Install)
			if err := nr.Read(in); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			insts = append(insts, Event{Install: in})
		}
		nr.Close()
	}
	return imps, insts
}

func split(evs []Event) (imps, insts []Event) {
	for _, e := range evs {
		if e.Impression != nil {
			imps = append(imps, e)
		} else {
			insts = append(insts, e)
		}
	}
	return imps, insts
}

func TestWriteFilesParquetRoundTrip(t *testing.T) {
	w, err := NewWorld(smallConfig(4))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var last Progress
	rep, err := WriteFiles(context.Background(), w, WriteOptions{Dir: dir, Progress: func(p Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	evs, rep2 := collect(t, w)
	if rep.Impressions != rep2.Impressions || rep.Positives != rep2.Positives {
		t.Errorf("report of WriteFiles %+v differs from Run's %+v", rep, rep2)
	}
	if last.Events() != int64(len(evs)) {
		t.Errorf("last progress counts %d events, want %d", last.Events(), len(evs))
	}
	wantImps, wantInsts := split(evs)
	gotImps, gotInsts := readParquet(t, dir, w.Config().Days)
	if len(gotImps) != len(wantImps) || len(gotInsts) != len(wantInsts) {
		t.Fatalf("read %d impressions and %d installs, want %d and %d", len(gotImps), len(gotInsts), len(wantImps), len(wantInsts))
	}
	for i := range wantImps {
		var a, b strings.Builder
		writeEvent(&a, wantImps[i])
		writeEvent(&b, gotImps[i])
		if a.String() != b.String() {
			t.Fatalf("impression %d read back as\n%s want\n%s", i, b.String(), a.String())
		}
	}
	if fingerprint(gotInsts) != fingerprint(wantInsts) {
		t.Error("installs read back differ from the stream")
	}
	// Every file is sorted by ts and only complete files remain.
	for _, sub := range []string{"impressions", "installs"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != w.Config().Days {
			t.Errorf("%s: %d files, want %d", sub, len(ents), w.Config().Days)
		}
	}
	for _, stream := range [][]Event{gotImps, gotInsts} {
		for i := 1; i < len(stream); i++ {
			if eventTS(stream[i]) < eventTS(stream[i-1]) {
				t.Fatalf("event %d out of ts order", i)
			}
		}
	}
}

func hashDir(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s %d\n", rel, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestWriteFilesDeterministic(t *testing.T) {
	for _, format := range []Format{FormatParquet, FormatJSONL} {
		t.Run(string(format), func(t *testing.T) {
			var hashes []string
			for _, procs := range []int{1, 2} {
				prev := runtime.GOMAXPROCS(procs)
				w, err := NewWorld(smallConfig(9))
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				_, err = WriteFiles(context.Background(), w, WriteOptions{Dir: dir, Format: format})
				runtime.GOMAXPROCS(prev)
				if err != nil {
					t.Fatal(err)
				}
				hashes = append(hashes, hashDir(t, dir))
			}
			if hashes[0] != hashes[1] {
				t.Errorf("GOMAXPROCS 1 and 2 give different files: %s vs %s", hashes[0], hashes[1])
			}
		})
	}
}

func TestWriteFilesJSONL(t *testing.T) {
	w, err := NewWorld(Config{Seed: 1, Users: 300, Apps: 50, Days: 2, ImpressionsPerDay: 2000})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rep, err := WriteFiles(context.Background(), w, WriteOptions{Dir: dir, Format: FormatJSONL})
	if err != nil {
		t.Fatal(err)
	}
	var d schemas.Decoder
	lines := 0
	for day := 1; day <= 2; day++ {
		f, err := os.Open(filepath.Join(dir, "impressions", fmt.Sprintf("day-%03d.jsonl", day)))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var imp schemas.Impression
			if err := d.Impression(sc.Bytes(), &imp); err != nil {
				t.Fatalf("day %d line %d: %v", day, lines+1, err)
			}
			lines++
		}
		f.Close()
	}
	if lines != rep.Impressions {
		t.Errorf("%d impression lines, want %d", lines, rep.Impressions)
	}
}

func TestWriteFilesErrors(t *testing.T) {
	w, err := NewWorld(Config{Seed: 1, Users: 300, Apps: 50, Days: 2, ImpressionsPerDay: 2000})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts WriteOptions
		want string
	}{
		{"no dir", WriteOptions{}, "no output directory"},
		{"bad format", WriteOptions{Dir: t.TempDir(), Format: "csv"}, `format "csv"`},
		{"dir is a file", WriteOptions{Dir: file}, "plain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := WriteFiles(context.Background(), w, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("WriteFiles error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	// Cancelled: no file of the day in progress is left behind.
	w, err = NewWorld(Config{Seed: 1, Users: 300, Apps: 50, Days: 3, ImpressionsPerDay: 30_000})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	_, err = WriteFiles(ctx, w, WriteOptions{Dir: dir, Progress: func(Progress) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled WriteFiles: error %v, want context.Canceled", err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*", "*.tmp"))
	if len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}
