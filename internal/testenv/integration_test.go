package testenv_test

// The tests that prove the test infrastructure end to end: the real Kafka
// broker with kafka-go on one side and kcat on the other, the real S3 server
// through gocloud.dev/blob, and the Python interpreter. In CI they must run;
// elsewhere they skip without the services (see the package doc).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // registers s3://
	"gocloud.dev/gcerrors"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/simulate"
)

// testImpressions returns the first n impressions of a small simulated
// world, each with an extra column whose string needs JSON escaping.
func testImpressions(t *testing.T, n int) []schemas.Impression {
	t.Helper()
	w, err := simulate.NewWorld(simulate.Config{Seed: 7, Users: 300, Apps: 60, Days: 1, ImpressionsPerDay: 2 * n})
	if err != nil {
		t.Fatalf("simulated world: %v", err)
	}
	out := make([]schemas.Impression, 0, n)
	errEnough := errors.New("enough impressions")
	_, err = w.Run(t.Context(), func(e simulate.Event) error {
		if e.Impression == nil {
			return nil
		}
		imp := *e.Impression
		imp.Features = maps.Clone(imp.Features)
		imp.Features["note"] = schemas.String(fmt.Sprintf("quote \" back\\slash ünïcode ☃ tab\t #%d", len(out)))
		out = append(out, imp)
		if len(out) == n {
			return errEnough
		}
		return nil
	})
	if !errors.Is(err, errEnough) {
		t.Fatalf("simulated world gave %d impressions, want %d: %v", len(out), n, err)
	}
	return out
}

// kcatRecord is one message as `kcat -C -J` prints it.
type kcatRecord struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Offset    int64   `json:"offset"`
	Key       *string `json:"key"`
	Payload   *string `json:"payload"`
}

// TestIntegrationKafkaToKcat produces simulated impressions, as JSON, to the
// real broker with kafka-go and reads them back with kcat, a client we did not write.
func TestIntegrationKafkaToKcat(t *testing.T) {
	brokers := testenv.RealKafka(t)
	kcat := testenv.Kcat(t)
	const n, partitions = 300, 3
	topic := testenv.Topic(t, brokers, partitions)
	imps := testImpressions(t, n)

	msgs := make([]kafka.Message, n)
	for i := range imps {
		msgs[i] = kafka.Message{
			Key:   []byte(imps[i].ImpressionID),
			Value: schemas.AppendImpressionJSON(nil, &imps[i]),
		}
	}
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{
		Addr: kafka.TCP(brokers...), Topic: topic, Transport: tr,
		Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond,
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("producing %d impressions to %s: %v", n, topic, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("closing the writer: %v", err)
	}

	cmd := exec.CommandContext(ctx, kcat, "-C", "-b", strings.Join(brokers, ","), "-t", topic,
		"-o", "beginning", "-e", "-J", "-q")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, stderr.String())
	}

	byID := make(map[string]*schemas.Impression, n)
	for i := range imps {
		byID[imps[i].ImpressionID] = &imps[i]
	}
	var dec schemas.Decoder
	seen := map[string]bool{}
	nextOffset := map[int32]int64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec kcatRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("kcat printed a line that is not its JSON envelope: %v: %q", err, sc.Text())
		}
		if rec.Payload == nil || rec.Key == nil {
			t.Fatalf("kcat record %s/%d@%d has no key or payload", rec.Topic, rec.Partition, rec.Offset)
		}
		if rec.Offset != nextOffset[rec.Partition] {
			t.Errorf("partition %d: offset %d after %d: kcat skipped or repeated records", rec.Partition, rec.Offset, nextOffset[rec.Partition]-1)
		}
		nextOffset[rec.Partition] = rec.Offset + 1
		// Valid JSON for a generic parser, not only for ours.
		var generic map[string]any
		if err := json.Unmarshal([]byte(*rec.Payload), &generic); err != nil {
			t.Fatalf("payload at %d/%d is not JSON: %v: %s", rec.Partition, rec.Offset, err, *rec.Payload)
		}
		var got schemas.Impression
		if err := dec.Impression([]byte(*rec.Payload), &got); err != nil {
			t.Fatalf("decoding the payload at %d/%d: %v: %s", rec.Partition, rec.Offset, err, *rec.Payload)
		}
		want, ok := byID[got.ImpressionID]
		switch {
		case !ok:
			t.Fatalf("read impression %q, which was not produced", got.ImpressionID)
		case seen[got.ImpressionID]:
			t.Fatalf("read impression %q twice", got.ImpressionID)
		case *rec.Key != got.ImpressionID:
			t.Errorf("impression %q came with key %q", got.ImpressionID, *rec.Key)
		case !reflect.DeepEqual(&got, want):
			t.Errorf("impression %q changed on the way:\n got %+v\nwant %+v", got.ImpressionID, got, *want)
		}
		seen[got.ImpressionID] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading kcat's output: %v", err)
	}
	if len(seen) != n {
		t.Fatalf("kcat read %d distinct impressions, want %d", len(seen), n)
	}
	if len(nextOffset) != partitions {
		t.Errorf("records came from %d partitions, want all %d (hash of %d keys)", len(nextOffset), partitions, n)
	}
}

// TestIntegrationS3Blob writes, reads, lists and deletes objects on the real
// S3 server through gocloud.dev/blob's s3blob.
func TestIntegrationS3Blob(t *testing.T) {
	bucketURL := testenv.S3Bucket(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	b, err := blob.OpenBucket(ctx, bucketURL)
	if err != nil {
		t.Fatalf("opening %s: %v", bucketURL, err)
	}
	defer b.Close()
	prefix := testenv.UniqueName(t, "testenv") + "/"
	defer removeAll(t, b, prefix) // before b.Close: defers run last first

	rng := rand.New(rand.NewPCG(3, 4))
	big := make([]byte, 6<<20+123) // over the 5 MiB part size: a multipart upload
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	objects := map[string][]byte{
		prefix + "manifest.json":         []byte(`{"version":1}`),
		prefix + "weights/big.bin":       big,
		prefix + "weights/vocab/app.txt": []byte("app-1\napp-2\n"),
	}
	for key, data := range objects {
		if err := b.WriteAll(ctx, key, data, &blob.WriterOptions{ContentType: "application/octet-stream"}); err != nil {
			t.Fatalf("writing %s (%d bytes): %v", key, len(data), err)
		}
	}
	for key, data := range objects {
		got, err := b.ReadAll(ctx, key)
		if err != nil {
			t.Fatalf("reading %s: %v", key, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: read %d bytes that differ from the %d written", key, len(got), len(data))
		}
	}
	r, err := b.NewRangeReader(ctx, prefix+"weights/big.bin", 5<<20, 10, nil)
	if err != nil {
		t.Fatalf("range read: %v", err)
	}
	part, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(part, big[5<<20:5<<20+10]) {
		t.Fatalf("range read of 10 bytes at 5 MiB: %x, %v; want %x", part, err, big[5<<20:5<<20+10])
	}

	// A flat listing sees every object with its size.
	var listed []string
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("listing %s: %v", prefix, err)
		}
		if want := int64(len(objects[obj.Key])); obj.Size != want {
			t.Errorf("listed %s with size %d, want %d", obj.Key, obj.Size, want)
		}
		listed = append(listed, obj.Key)
	}
	wantKeys := []string{prefix + "manifest.json", prefix + "weights/big.bin", prefix + "weights/vocab/app.txt"}
	if !slices.Equal(listed, wantKeys) {
		t.Fatalf("listing %s gave %q, want %q", prefix, listed, wantKeys)
	}
	// A listing with a delimiter shows one level, folders as IsDir.
	var level []string
	it = b.List(&blob.ListOptions{Prefix: prefix + "weights/", Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("listing %sweights/ by level: %v", prefix, err)
		}
		level = append(level, fmt.Sprintf("%s dir=%v", strings.TrimPrefix(obj.Key, prefix), obj.IsDir))
	}
	if want := []string{"weights/big.bin dir=false", "weights/vocab/ dir=true"}; !slices.Equal(level, want) {
		t.Fatalf("listing one level gave %q, want %q", level, want)
	}

	if err := b.Delete(ctx, prefix+"manifest.json"); err != nil {
		t.Fatalf("deleting: %v", err)
	}
	if _, err := b.ReadAll(ctx, prefix+"manifest.json"); gcerrors.Code(err) != gcerrors.NotFound {
		t.Fatalf("reading a deleted object: got error %v, want NotFound", err)
	}
}

func removeAll(t *testing.T, b *blob.Bucket, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			if err != io.EOF {
				t.Logf("cleaning up %s: %v", prefix, err)
			}
			return
		}
		if err := b.Delete(ctx, obj.Key); err != nil {
			t.Logf("cleaning up %s: %v", obj.Key, err)
		}
	}
}

// TestIntegrationPython checks that the interop interpreter imports the
// packages later checks use.
func TestIntegrationPython(t *testing.T) {
	py := testenv.Python(t)
	cmd := exec.CommandContext(t.Context(), py, "-c",
		"import numpy, pyarrow, safetensors; print(numpy.__version__, pyarrow.__version__, safetensors.__version__)")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	if f := strings.Fields(string(out)); len(f) != 3 {
		t.Fatalf("%s printed %q, want three versions", cmd, out)
	}
}
