package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/schemas"
)

// archiveInput is an examples topic written the way the join stage writes
// it, and what the archive of it must hold.
type archiveInput struct {
	topic  string
	parts  int
	labels map[string]int32 // by impression id
	ends   []int64          // end offset per partition
}

// fillExamples writes the examples of n simulated impressions (a day of
// event time, so many hours) to a new topic with parts partitions, keyed
// and partitioned by user_id, labeled 1 for every fifth.
func fillExamples(t *testing.T, brokers []string, tag string, parts, n int) archiveInput {
	t.Helper()
	return fillTopic(t, brokers, testenv.UniqueName(t, "arch"+tag), parts, n)
}

// fillTopic is fillExamples into the named topic, which it creates.
func fillTopic(t *testing.T, brokers []string, topic string, parts, n int) archiveInput {
	t.Helper()
	in := archiveInput{topic: topic, parts: parts, labels: map[string]int32{}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := kafka.NewClient(brokers, kafka.Auth{}).EnsureTopics(ctx, parts, in.topic); err != nil {
		t.Fatal(err)
	}
	deleteAtEnd(t, brokers, in.topic)
	part := kafka.NewMurmur2(parts)
	recs := make([][]kafka.Record, parts)
	i := 0
	for _, e := range simEvents(t, n) {
		imp := e.Impression
		if imp == nil {
			continue
		}
		label := int32(0)
		if i%5 == 0 {
			label = 1
		}
		i++
		in.labels[imp.ImpressionID] = label
		p := part.Partition([]byte(imp.UserID))
		val := appendExample(nil, schemas.AppendImpressionJSON(nil, imp), label, imp.TS+60_000)
		recs[p] = append(recs[p], kafka.Record{Key: []byte(imp.UserID), Value: val,
			Headers: []kafka.Header{{Key: "impression_id", Value: []byte(imp.ImpressionID)}}})
	}
	client := kafka.NewClient(brokers, kafka.Auth{})
	pr := kafka.NewProducer(client, kafka.Zstd)
	for p, rs := range recs {
		for attempt := 0; ; attempt++ {
			_, err := pr.Produce(ctx, in.topic, p, rs)
			if err == nil {
				break
			}
			if attempt == 4 {
				t.Fatal(err)
			}
			rs = rs[pr.Acked():]
			time.Sleep(500 * time.Millisecond)
		}
		_, end, err := client.PartitionOffsets(ctx, in.topic, p)
		if err != nil {
			t.Fatal(err)
		}
		in.ends = append(in.ends, end)
	}
	return in
}

var archiveKey = regexp.MustCompile(`^date=(\d{4}-\d\d-\d\d)/hour=(\d\d)/part-(\d{5})-(\d{20})\.parquet$`)

// archiveFile is one archive file read back.
type archivedFile struct {
	key         string
	part        int
	first, rows int64
	ids         []string
}

// readArchive lists the .parquet objects under prefix and reads each one
// completely with schemas' reader, checking its name: the date and hour of
// every example's ts. Any object that is not a complete Parquet file fails
// the test: files must appear only when complete.
func readArchive(t *testing.T, b *blob.Bucket, prefix string, labels map[string]int32) []archivedFile {
	t.Helper()
	ctx := context.Background()
	var out []archivedFile
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(obj.Key, prefix)
		m := archiveKey.FindStringSubmatch(rel)
		if m == nil {
			t.Fatalf("object %s: not an archive file name", obj.Key)
		}
		data, err := b.ReadAll(ctx, obj.Key)
		if err != nil {
			if isNotFound(err) { // replaced by a re-upload between List and read
				continue
			}
			t.Fatal(err)
		}
		f := archivedFile{key: obj.Key}
		f.part, _ = strconv.Atoi(m[3])
		f.first, _ = strconv.ParseInt(m[4], 10, 64)
		r, err := schemas.NewExampleReader(bytes.NewReader(data), int64(len(data)), obj.Key)
		if err != nil {
			t.Fatalf("object %s (%d bytes) is not a complete Parquet file: %v", obj.Key, len(data), err)
		}
		for {
			var ex schemas.Example
			err := r.Read(&ex)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("reading %s: %v", obj.Key, err)
			}
			ts := time.UnixMilli(ex.TS).UTC()
			if got := ts.Format("2006-01-02") + "/" + fmt.Sprintf("%02d", ts.Hour()); got != m[1]+"/"+m[2] {
				t.Fatalf("%s holds an example of %s (ts %d)", obj.Key, ts, ex.TS)
			}
			if want, ok := labels[ex.ImpressionID]; !ok || want != ex.Label || (ex.Label == 1) != ex.HasInstallTS {
				t.Fatalf("%s: example %s label %d install_ts %v, want label %d (known %v)", obj.Key, ex.ImpressionID, ex.Label, ex.HasInstallTS, want, ok)
			}
			f.ids = append(f.ids, ex.ImpressionID)
		}
		r.Close()
		f.rows = int64(len(f.ids))
		out = append(out, f)
	}
	return out
}

func isNotFound(err error) bool {
	var e interface{ NotFound() bool }
	return strings.Contains(err.Error(), "NotFound") || strings.Contains(err.Error(), "not found") || (errors.As(err, &e) && e.NotFound())
}

// checkCovered checks that the files of each partition follow each other
// from offset 0 without a gap or an overlap (the topic's offsets are
// contiguous) and reach at least committed[p].
func checkCovered(t *testing.T, files []archivedFile, committed []int64) {
	t.Helper()
	for p, c := range committed {
		var fs []archivedFile
		for _, f := range files {
			if f.part == p {
				fs = append(fs, f)
			}
		}
		slices.SortFunc(fs, func(a, b archivedFile) int { return int(a.first - b.first) })
		next := int64(0)
		for _, f := range fs {
			if f.first != next {
				t.Fatalf("partition %d: file %s starts at %d, want %d (a gap or an overlap; committed offset %d)", p, f.key, f.first, next, c)
			}
			next = f.first + f.rows
		}
		if next < c {
			t.Fatalf("partition %d: committed offset %d, but the files cover only [0, %d)", p, c, next)
		}
	}
}

// checkExactlyOnce checks that the files hold every example once.
func checkExactlyOnce(t *testing.T, files []archivedFile, labels map[string]int32) {
	t.Helper()
	seen := map[string]string{}
	for _, f := range files {
		for _, id := range f.ids {
			if prev, dup := seen[id]; dup {
				t.Fatalf("example %s is in %s and %s", id, prev, f.key)
			}
			seen[id] = f.key
		}
	}
	if len(seen) != len(labels) {
		t.Fatalf("the archive holds %d examples, want %d", len(seen), len(labels))
	}
}

func archiveCommitted(t *testing.T, brokers []string, group string, in archiveInput) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := make([]int64, in.parts)
	for p := range in.parts {
		offs, err := kafka.NewClient(brokers, kafka.Auth{}).CommittedAt(ctx, group, p, in.topic)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = max(offs[in.topic].Offset, 0)
	}
	return out
}

// bucketURLs returns the stores the archive tests run on: a file://
// directory, and the real S3 server's bucket when there is one (in CI).
func bucketURLs(t *testing.T) map[string]string {
	urls := map[string]string{"file": "file://" + t.TempDir()}
	if testenv.InCI() || envSet(testenv.EnvS3URL) {
		urls["s3"] = testenv.S3Bucket(t)
	}
	return urls
}

// withPath returns the bucket URL u with a key path (for ingest.Glob).
func withPath(t *testing.T, u, p string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if pu.Scheme == "file" {
		pu.Path = path.Join(pu.Path, p)
	} else {
		pu.Path = "/" + p
	}
	return pu.String()
}

// TestKafkaArchiveStage runs the archive stage on the real broker into a
// file:// directory and into the real S3 server: while it runs, every file
// listed is a complete Parquet file named by its examples' date and hour,
// and the committed offsets never pass what the files hold; in the end the
// files hold every example exactly once, and ingest.Glob with a bucket URL
// pattern plus ingest.ReadExamples (the code path of `wdstream backfill
// --examples`) reads them all.
func TestKafkaArchiveStage(t *testing.T) {
	brokers := testenv.RealKafka(t)
	for name, u := range bucketURLs(t) {
		t.Run(name, func(t *testing.T) {
			in := fillExamples(t, brokers, name, 2, scaled(30000))
			ctx := context.Background()
			b, err := blob.OpenBucket(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			prefix := testenv.UniqueName(t, "m") + "/examples/"
			group := testenv.UniqueName(t, "ga")
			a, err := NewArchiveStage(ArchiveConfig{Brokers: brokers, Group: group, Topic: in.topic, Bucket: b, Prefix: prefix,
				FileBytes: 16 << 10, FlushInterval: 2 * time.Second, RowGroupRows: 64, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- a.Run(rctx) }()
			deadline := time.Now().Add(2 * time.Minute)
			checks := 0
			for {
				c := archiveCommitted(t, brokers, group, in) // before listing: files only grow
				files := readArchive(t, b, prefix, in.labels)
				checkCovered(t, files, c)
				checks++
				if slices.Equal(c, in.ends) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("committed %v after 2 minutes, want %v", c, in.ends)
				}
				time.Sleep(200 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			files := readArchive(t, b, prefix, in.labels)
			checkExactlyOnce(t, files, in.labels)
			st := a.Stats()
			if st.CutHour == 0 || (st.CutBytes == 0 && !raceEnabled) || st.Examples != int64(len(in.labels)) {
				t.Fatalf("stats %+v: want cuts by hour and by size, %d examples", st, len(in.labels))
			}
			// The backfill's reading path, on a bucket URL glob.
			fs, err := Glob(ctx, withPath(t, u, prefix+"date=*/hour=*/*.parquet"))
			if err != nil {
				t.Fatal(err)
			}
			defer fs.Close()
			exs, err := ReadExamples(ctx, fs)
			if err != nil {
				t.Fatal(err)
			}
			if len(exs) != len(in.labels) || len(fs.Names()) != len(files) {
				t.Fatalf("Glob+ReadExamples: %d examples in %d files, want %d in %d", len(exs), len(fs.Names()), len(in.labels), len(files))
			}
			t.Logf("%d examples in %d files (%d checks while running); stats %+v", len(exs), len(files), checks, st)
		})
	}
}

// TestArchiveWaitsForItsTopic starts the archive stage before its topic
// exists, as `run --stages join,archive` does when the join stage has yet
// to create the examples topic: the stage waits for the topic instead of
// joining its group early and getting no partitions for good.
func TestArchiveWaitsForItsTopic(t *testing.T) {
	brokers := testenv.EmbeddedKafka(t)
	ctx := context.Background()
	b, err := blob.OpenBucket(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	topic := testenv.UniqueName(t, "late")
	var logs testenv.SyncBuffer
	a, err := NewArchiveStage(ArchiveConfig{Brokers: brokers, Group: testenv.UniqueName(t, "ga"), Topic: topic, Bucket: b,
		FlushInterval: time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(rctx) }()
	for wait := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "waiting for the topic to read"); {
		if time.Now().After(wait) {
			t.Fatalf("the archive stage did not wait for its topic:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	in := fillTopic(t, brokers, topic, 2, 2000)
	deadline := time.Now().Add(time.Minute)
	for a.Stats().Examples < int64(len(in.labels)) {
		if time.Now().After(deadline) {
			t.Fatalf("archived %d of %d examples after a minute:\n%s", a.Stats().Examples, len(in.labels), logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, readArchive(t, b, "", in.labels), in.labels)
}
