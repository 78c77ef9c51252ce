package continuous

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"

	"github.com/wdstream/wdstream/publisher"
)

// Progress is what a checkpoint records besides the bundle.
type Progress struct {
	Seq     int64     `json:"seq"`
	Created time.Time `json:"created"`
	Topic   string    `json:"topic"`
	// Offsets maps partition to the next offset not trained on.
	Offsets map[int]int64 `json:"offsets"`
	// Examples trained since the cold start, and their event-time range
	// (with negative sampling, the negatives it dropped count too: the
	// model has covered them).
	Examples int64 `json:"examples"`
	FromTS   int64 `json:"from_ts"`
	ToTS     int64 `json:"to_ts"`
	// Parent is the published version the lineage started from, and
	// LastPublished the newest version this stage published.
	Parent        string `json:"parent,omitempty"`
	LastPublished string `json:"last_published,omitempty"`
	// Bootstrapped is false until the cold-start boundaries are fixed.
	Bootstrapped bool `json:"bootstrapped"`
	// Evictions are what the vocabularies' ttls evicted since
	// LastPublished, for the next version's manifest.
	Evictions *publisher.Evictions `json:"evictions,omitempty"`
}

const (
	progressFile = "progress.json"
	trainedFile  = "trained.txt"
	ckptManifest = "manifest.json"
)

type ckptMeta struct {
	Seq   int64                         `json:"seq"`
	Files map[string]publisher.FileInfo `json:"files"`
}

func ckptPrefix(model string) string { return model + "/checkpoints/" }

func ckptDir(model string, seq int64) string {
	return ckptPrefix(model) + fmt.Sprintf("%020d", seq) + "/"
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// writeCheckpoint writes files and progress under a new sequence number,
// the manifest last.
func writeCheckpoint(ctx context.Context, b *blob.Bucket, model string, files map[string][]byte, prog *Progress) error {
	pj, err := json.MarshalIndent(prog, "", "  ")
	if err != nil {
		return err
	}
	files[progressFile] = pj
	meta := ckptMeta{Seq: prog.Seq, Files: map[string]publisher.FileInfo{}}
	dir := ckptDir(model, prog.Seq)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := b.WriteAll(ctx, dir+n, files[n], nil); err != nil {
			return fmt.Errorf("checkpoint %d: writing %s: %w", prog.Seq, n, err)
		}
		meta.Files[n] = publisher.FileInfo{Size: int64(len(files[n])), SHA256: sum(files[n])}
	}
	mj, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	if err := b.WriteAll(ctx, dir+ckptManifest, mj, nil); err != nil {
		return fmt.Errorf("checkpoint %d: writing its manifest: %w", prog.Seq, err)
	}
	return nil
}

// listCheckpoints returns the sequence numbers of complete checkpoints,
// newest first.
func listCheckpoints(ctx context.Context, b *blob.Bucket, model string) ([]int64, error) {
	var seqs []int64
	it := b.List(&blob.ListOptions{Prefix: ckptPrefix(model), Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("listing checkpoints of %s: %w", model, err)
		}
		if !obj.IsDir {
			continue
		}
		seq, err := strconv.ParseInt(strings.TrimSuffix(path.Base(obj.Key), "/"), 10, 64)
		if err != nil {
			continue
		}
		if ok, err := b.Exists(ctx, ckptDir(model, seq)+ckptManifest); err != nil {
			return nil, err
		} else if ok {
			seqs = append(seqs, seq)
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] > seqs[j] })
	return seqs, nil
}

// readCheckpoint reads and verifies checkpoint seq.
func readCheckpoint(ctx context.Context, b *blob.Bucket, model string, seq int64) (map[string][]byte, *Progress, error) {
	dir := ckptDir(model, seq)
	mj, err := b.ReadAll(ctx, dir+ckptManifest)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %d: %w", seq, err)
	}
	var meta ckptMeta
	if err := json.Unmarshal(mj, &meta); err != nil {
		return nil, nil, fmt.Errorf("checkpoint %d: manifest: %w", seq, err)
	}
	files := map[string][]byte{}
	for n, fi := range meta.Files {
		data, err := b.ReadAll(ctx, dir+n)
		if err != nil {
			return nil, nil, fmt.Errorf("checkpoint %d: reading %s: %w", seq, n, err)
		}
		if int64(len(data)) != fi.Size || sum(data) != fi.SHA256 {
			return nil, nil, fmt.Errorf("checkpoint %d: %s does not match its checksum: %w", seq, n, publisher.ErrCorrupt)
		}
		files[n] = data
	}
	var prog Progress
	if err := json.Unmarshal(files[progressFile], &prog); err != nil {
		return nil, nil, fmt.Errorf("checkpoint %d: %s: %w", seq, progressFile, err)
	}
	delete(files, progressFile)
	return files, &prog, nil
}

// pruneCheckpoints deletes complete checkpoints older than the newest keep
// (and their files); it never deletes the newest.
func pruneCheckpoints(ctx context.Context, b *blob.Bucket, model string, keep int) error {
	seqs, err := listCheckpoints(ctx, b, model)
	if err != nil {
		return err
	}
	var errs []error
	for _, seq := range seqs[min(len(seqs), max(keep, 1)):] {
		dir := ckptDir(model, seq)
		// The manifest first: a half-deleted checkpoint is then invisible.
		if err := b.Delete(ctx, dir+ckptManifest); err != nil {
			errs = append(errs, err)
			continue
		}
		it := b.List(&blob.ListOptions{Prefix: dir})
		for {
			obj, err := it.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				errs = append(errs, err)
				break
			}
			errs = append(errs, b.Delete(ctx, obj.Key))
		}
	}
	return errors.Join(errs...)
}
