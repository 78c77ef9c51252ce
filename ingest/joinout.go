package ingest

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/wdstream/wdstream/kafka"
)

// batch is what a partition's merge hands to its outPipe: the examples and
// dead letters emitted since the previous cut, and the input offsets that
// are safe to commit once all of them, and every earlier batch, are
// acknowledged.
type batch struct {
	out, dlq  []kafka.Record
	positives int64
	// arena holds the bytes of out (values, keys, header values); hdrs
	// their headers. Both are reused when the batch comes back.
	arena []byte
	hdrs  []kafka.Header

	commit  [2]int64      // impressions, installs
	next    int64         // impressions offset after the last one merged before the cut
	trigger *atomic.Int64 // the flush counter to bump once done
}

// full reports whether the batch reached a flush size.
func (b *batch) full(cfg *JoinConfig) bool {
	return len(b.out) >= cfg.FlushRecords || len(b.arena) >= cfg.FlushBytes
}

// outPipe produces the batches of one partition in order, each after the
// previous one was acknowledged, and commits the offsets each completes:
// production runs while the merge goes on, and a commit never covers a
// record whose examples are not all acknowledged. At most one batch waits
// while one is produced; a merge that gets ahead blocks on the queue.
type outPipe struct {
	jp    *joinPart
	ex    *kafka.Producer // examples
	dlq   *kafka.Producer // dead letters
	queue chan *batch
	free  chan *batch
	done  chan struct{} // closed when run returns
	err   error         // why run returned; read after done

	// Owned by run once it started.
	exEnd    int64  // end of examples[p] after the last acknowledged batch
	marks    []mark // see flush
	lastSent [2]kafka.Committed
	lastAt   time.Time
}

func newOutPipe(jp *joinPart) *outPipe {
	c := jp.s.client
	codec := jp.s.cfg.Compression
	return &outPipe{
		jp: jp, ex: kafka.NewProducer(c, codec), dlq: kafka.NewProducer(c, codec),
		queue: make(chan *batch, 1), free: make(chan *batch, 3), done: make(chan struct{}),
	}
}

// newBatch returns an empty batch, reusing one that was produced.
func (o *outPipe) newBatch() *batch {
	select {
	case b := <-o.free:
		return b
	default:
		return &batch{arena: make([]byte, 0, min(o.jp.s.cfg.FlushBytes, 1<<20)+4<<10)}
	}
}

func (o *outPipe) recycle(b *batch) {
	clear(b.out)
	clear(b.dlq)
	clear(b.hdrs)
	*b = batch{out: b.out[:0], dlq: b.dlq[:0], arena: b.arena[:0], hdrs: b.hdrs[:0]}
	select {
	case o.free <- b:
	default:
	}
}

// run produces and commits the queued batches until the queue is closed
// and empty, or until the first error, which it keeps in o.err.
func (o *outPipe) run(ctx context.Context) {
	defer close(o.done)
	for b := range o.queue {
		if err := o.flush(ctx, b); err != nil {
			o.err = err
			return
		}
		o.recycle(b)
	}
}

// flush produces b's examples and dead letters, then commits the offsets b
// completes. Each commit carries in its metadata an offset of examples[p]
// below every example of an impression at or after the committed offset:
// marks records, at each cut, the impressions offset after which every
// impression's example goes into a later batch, hence lands at or after
// the end of examples[p] once this batch is acknowledged.
func (o *outPipe) flush(ctx context.Context, b *batch) error {
	jp := o.jp
	s, c := jp.s, &jp.s.cfg
	if len(b.out) > 0 {
		end, err := o.ex.Produce(ctx, c.Examples, jp.p, b.out)
		if err != nil {
			return err
		}
		o.exEnd = end
		s.stats.examples.Add(int64(len(b.out)))
		s.stats.positives.Add(b.positives)
	}
	if len(b.dlq) > 0 {
		if _, err := o.dlq.Produce(ctx, c.DeadLetter, jp.p%s.dlqParts, b.dlq); err != nil {
			return err
		}
		s.stats.deadLetters.Add(int64(len(b.dlq)))
	}
	imp, ins := b.commit[0], b.commit[1]
	k := 0
	for k+1 < len(o.marks) && o.marks[k+1].imp <= imp {
		k++
	}
	o.marks = o.marks[k:]
	want := [2]kafka.Committed{{Offset: imp, Metadata: metaPrefix + strconv.FormatInt(o.marks[0].ex, 10)}, {Offset: ins}}
	// A later batch waiting commits at least as far: skip this commit
	// unless the last one is FlushInterval old.
	later := len(o.queue) > 0 && time.Since(o.lastAt) < c.FlushInterval
	if want != o.lastSent && !later {
		if err := s.client.Commit(ctx, jp.gen, jp.p, map[string]kafka.Committed{c.Impressions: want[0], c.Installs: want[1]}); err != nil {
			return err
		}
		o.lastSent, o.lastAt = want, time.Now()
		s.stats.commits.Add(1)
	}
	if n := len(o.marks); o.marks[n-1].imp != b.next || o.marks[n-1].ex != o.exEnd {
		o.marks = append(o.marks, mark{imp: b.next, ex: o.exEnd})
	}
	b.trigger.Add(1)
	return nil
}
