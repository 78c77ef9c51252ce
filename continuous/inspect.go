package continuous

import (
	"bytes"
	"context"
	"fmt"

	"github.com/wdstream/wdstream/publisher"
)

// Checkpoints returns the progress of every complete checkpoint of model,
// oldest first. A checkpoint without its manifest (being written, or cut
// short by a crash) is not complete and not listed.
func Checkpoints(ctx context.Context, store *publisher.Store, model string) ([]Progress, error) {
	seqs, err := listCheckpoints(ctx, store.Bucket(), model)
	if err != nil {
		return nil, err
	}
	out := make([]Progress, 0, len(seqs))
	for i := len(seqs) - 1; i >= 0; i-- {
		_, prog, err := readCheckpoint(ctx, store.Bucket(), model, seqs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *prog)
	}
	return out, nil
}

// TrainedSet reads the trained logs of model's complete checkpoints (the
// stage ran with TrainedLog) and returns every "impression_id,label" line
// with the number of times it was trained: 1 for each when training was
// exact. Only complete checkpoints count: the work of a crashed process
// after its last checkpoint was lost with it and redone.
func TrainedSet(ctx context.Context, store *publisher.Store, model string) (map[string]int, error) {
	seqs, err := listCheckpoints(ctx, store.Bucket(), model)
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for _, seq := range seqs {
		files, _, err := readCheckpoint(ctx, store.Bucket(), model, seq)
		if err != nil {
			return nil, err
		}
		log, ok := files[trainedFile]
		if !ok {
			return nil, fmt.Errorf("checkpoint %d of %s has no %s: was the stage run with the trained log?", seq, model, trainedFile)
		}
		for line := range bytes.Lines(log) {
			if line = bytes.TrimSpace(line); len(line) > 0 {
				seen[string(line)]++
			}
		}
	}
	return seen, nil
}
