package ingest

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/wdstream/wdstream/kafka"

	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/schemas"
)

// mark records that every impression at or after offset imp was read after
// the examples partition ended at ex.
type mark struct{ imp, ex int64 }

const metaPrefix = "wdstream-join/1 examples="

// joinPart is the join of one partition number p during one generation.
type joinPart struct {
	s      *JoinStage
	gen    kafka.Generation
	p      int
	cancel context.CancelFunc
	wg     sync.WaitGroup
	in     [2]input // impressions, installs

	j       *join.Joiner[impPayload]
	st      joinState // j, the messages of its pending impressions, the spill
	dec     schemas.Decoder
	headImp schemas.Impression
	headKey join.Key
	headIns join.Install
	emitImp schemas.Impression

	cur     *batch              // examples and dead letters since the last cut
	pipe    *outPipe            // produces and commits the cut batches
	seen    map[string]struct{} // impression ids already in examples
	seenMax int64               // largest src_offset among them
	maxTS   int64
	pushed  [2]int64 // last offset added to the joiner
	last    join.Stats
	dirty   bool
	flushed time.Time
}

func (s *JoinStage) newPartition(ctx context.Context, gen kafka.Generation, p int) (*joinPart, error) {
	c := &s.cfg
	per := (c.MaxPending + s.partitions - 1) / s.partitions
	j, err := join.New[impPayload](join.Config{Window: c.Window, MaxPending: per})
	if err != nil {
		return nil, err
	}
	jp := &joinPart{s: s, gen: gen, p: p, j: j, st: newJoinState(j, &s.budget, p, s.partitions),
		maxTS: math.MinInt64, pushed: [2]int64{-1, -1}, seenMax: -1, flushed: time.Now()}
	jp.pipe = newOutPipe(jp)
	jp.cur = jp.pipe.newBatch()
	offs, err := s.client.CommittedAt(ctx, c.Group, p, c.Impressions, c.Installs)
	if err != nil {
		return nil, err
	}
	exFirst, exEnd, err := s.client.PartitionOffsets(ctx, c.Examples, p)
	if err != nil {
		return nil, err
	}
	pipe := jp.pipe
	pipe.exEnd = exEnd
	start := [2]int64{}
	fresh := false
	for i, t := range []string{c.Impressions, c.Installs} {
		if o := offs[t].Offset; o >= 0 {
			start[i] = o
			continue
		}
		fresh = true
		first, _, err := s.client.PartitionOffsets(ctx, t, p)
		if err != nil {
			return nil, err
		}
		start[i] = first
	}
	pipe.marks = []mark{{imp: start[0], ex: exEnd}}
	if fresh {
		// First run of this group on p: commit the start with the current
		// end of examples, so that a crash before the first flush finds
		// where to look for what it emitted.
		pipe.lastSent = [2]kafka.Committed{{Offset: start[0], Metadata: metaPrefix + strconv.FormatInt(exEnd, 10)}, {Offset: start[1]}}
		if err := s.client.Commit(ctx, gen, p, map[string]kafka.Committed{c.Impressions: pipe.lastSent[0], c.Installs: pipe.lastSent[1]}); err != nil {
			return nil, err
		}
	} else {
		pipe.lastSent = [2]kafka.Committed{offs[c.Impressions], offs[c.Installs]}
		meta := offs[c.Impressions].Metadata
		from, err := strconv.ParseInt(strings.TrimPrefix(meta, metaPrefix), 10, 64)
		if !strings.HasPrefix(meta, metaPrefix) || err != nil {
			s.logger.Warn("committed offsets carry no examples offset: examples emitted before the last stop may be emitted again", "partition", p, "metadata", meta)
		} else if err := jp.scanEmitted(ctx, max(from, exFirst), exEnd); err != nil {
			return nil, err
		}
	}
	s.logger.Info("partition starting", "partition", p, "impressions_offset", start[0], "installs_offset", start[1], "examples_end", exEnd, "already_emitted", len(jp.seen))

	fctx, cancel := context.WithCancel(ctx)
	jp.cancel = cancel
	for i, t := range []string{c.Impressions, c.Installs} {
		in := &jp.in[i]
		*in = input{topic: t, ch: make(chan kafka.Fetched, fetchAhead), status: kafka.NewFetchStatus(), next: start[i], fetchNext: start[i]}
		f := &kafka.Fetcher{Client: s.client, Topic: t, Partition: p, Offset: start[i], MaxBytes: c.FetchMaxBytes, MaxWait: 500 * time.Millisecond, Logger: s.logger, Status: in.status}
		jp.wg.Add(1)
		go func() {
			defer jp.wg.Done()
			f.Run(fctx, in.ch)
		}()
	}
	return jp, nil
}

// fetchAhead is how many fetched batches an input partition queues for the
// merge, besides the one the merge is reading and the one its fetcher is
// handing over: decompressed, they are most of the stage's heap on a
// backlog (8 inputs at up to a few MB each). With 4, half way through
// TestKafkaJoinThroughput the heap held 459-541 MB and the stage made
// 282,000-305,000 events/s; with 1, 340-344 MB and 291,000-311,000 events/s
// (the same session, WDSTREAM_BENCH_HEAPPROFILE). Each input's fetcher
// fetches one batch at a time anyway, so a deeper queue only holds more.
const fetchAhead = 1

// scanEmitted collects the impression ids of examples[p] in [from, to).
func (jp *joinPart) scanEmitted(ctx context.Context, from, to int64) error {
	jp.seen = map[string]struct{}{}
	off := from
	for off < to {
		msgs, hwm, err := jp.s.client.FetchOnce(ctx, jp.s.cfg.Examples, jp.p, off, 8<<20, 500*time.Millisecond)
		if err != nil {
			return fmt.Errorf("reading examples %d at %d to suppress re-emission: %w", jp.p, off, err)
		}
		n := len(msgs)
		for _, m := range msgs {
			off = m.Offset + 1
			for _, h := range m.Headers {
				switch h.Key {
				case "impression_id":
					jp.seen[string(h.Value)] = struct{}{}
				case "src_offset":
					if o, err := strconv.ParseInt(string(h.Value), 10, 64); err == nil {
						jp.seenMax = max(jp.seenMax, o)
					}
				}
			}
		}
		if n == 0 && hwm <= off {
			break
		}
	}
	return nil
}

func (jp *joinPart) close() {
	jp.cancel()
	jp.wg.Wait()
	if err := jp.st.close(); err != nil {
		jp.s.logger.Warn("deleting the partition's spill files", "partition", jp.p, "err", err)
	}
	jp.s.stats.pending.Add(-jp.last.Pending)
	jp.s.stats.held.Add(-jp.last.Held)
	jp.s.stats.dropWatermark(jp.p)
}

// run merges and joins until ctx is done, then hands over what it has and
// waits (within DrainTimeout) until it is produced and committed, and
// returns nil; or returns the first error. The partition's outPipe produces
// and commits the cut batches while the merge goes on.
func (jp *joinPart) run(ctx context.Context) (err error) {
	cfg := &jp.s.cfg
	pctx, pcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer pcancel()
	go jp.pipe.run(pctx)
	defer func() {
		if err != nil { // the restart must not race a produce still running
			pcancel()
			<-jp.pipe.done
		}
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if ctx.Err() != nil {
			return jp.drain(pcancel)
		}
		now := time.Now()
		if err := jp.pull(); err != nil {
			return err
		}
		n := 0
		for ; n < 4096; n++ {
			ok, err := jp.step(now)
			if err != nil {
				return err
			}
			if !ok || jp.cur.full(cfg) {
				break
			}
		}
		var trigger *atomic.Int64
		wait := true
		switch {
		case len(jp.cur.out) >= cfg.FlushRecords:
			trigger = &jp.s.stats.flushRecords
		case len(jp.cur.arena) >= cfg.FlushBytes:
			trigger = &jp.s.stats.flushBytes
		case jp.dirty && now.Sub(jp.flushed) >= cfg.FlushInterval:
			trigger = &jp.s.stats.flushTime
		case n == 0 && len(jp.cur.out)+len(jp.cur.dlq) > 0:
			// Idle: hand over what waits if the pipe takes it now.
			trigger, wait = &jp.s.stats.flushIdle, false
		}
		if trigger != nil {
			sent, err := jp.cut(ctx, trigger, wait)
			if err != nil {
				return err
			}
			if sent {
				continue
			}
		}
		if n > 0 {
			continue
		}
		// Nothing to merge: wait for a fetch, the idle deadline or the end.
		var c0, c1 <-chan kafka.Fetched
		if jp.in[0].drained() {
			c0 = jp.in[0].ch
		}
		if jp.in[1].drained() {
			c1 = jp.in[1].ch
		}
		timer.Reset(100 * time.Millisecond)
		select {
		case b := <-c0:
			if b.Err != nil {
				return b.Err
			}
			jp.in[0].set(b)
		case b := <-c1:
			if b.Err != nil {
				return b.Err
			}
			jp.in[1].set(b)
		case <-jp.pipe.done:
			return jp.pipe.err
		case <-timer.C:
		case <-ctx.Done():
		}
	}
}

// drain hands the last batch over and waits until the pipe has produced
// and committed everything, within DrainTimeout.
func (jp *joinPart) drain(pcancel context.CancelFunc) error {
	dctx, cancel := context.WithTimeout(context.Background(), jp.s.cfg.DrainTimeout)
	defer cancel()
	sent, err := jp.cut(dctx, &jp.s.stats.flushStop, true)
	if err == nil && !sent {
		err = fmt.Errorf("partition %d: the last batch was not taken within %v at shutdown", jp.p, jp.s.cfg.DrainTimeout)
	}
	if err != nil {
		pcancel()
		<-jp.pipe.done
		return err
	}
	close(jp.pipe.queue)
	select {
	case <-jp.pipe.done:
		return jp.pipe.err
	case <-dctx.Done():
		pcancel()
		<-jp.pipe.done
		return fmt.Errorf("partition %d: produce and commit did not finish within %v at shutdown", jp.p, jp.s.cfg.DrainTimeout)
	}
}

// pull takes a fetched batch for each drained input, without waiting.
func (jp *joinPart) pull() error {
	for i := range jp.in {
		in := &jp.in[i]
		if !in.drained() {
			continue
		}
		select {
		case b := <-in.ch:
			if b.Err != nil {
				return b.Err
			}
			in.set(b)
		default:
		}
	}
	return nil
}

// head decodes the head of input i, dead-lettering invalid records, and
// reports whether a valid head is there.
func (jp *joinPart) head(i int) bool {
	in := &jp.in[i]
	for !in.hasHead {
		if in.drained() {
			return false
		}
		m := &in.buf[in.pos]
		var err error
		if i == 0 {
			err = jp.dec.ImpressionKey(m.Value, &jp.headImp) // the message is kept as read
			if err == nil {
				jp.headKey = join.Key{ImpressionID: jp.headImp.ImpressionID, TS: jp.headImp.TS, UserID: jp.headImp.UserID, AppID: jp.headImp.AppID}
				in.noteHead(jp.headImp.TS, m.Time, jp.s.cfg.IdleAdvance)
			}
		} else {
			var ins schemas.Install
			err = jp.dec.Install(m.Value, &ins)
			if err == nil {
				jp.headIns = join.Install{TS: ins.TS, ImpressionID: ins.ImpressionID, UserID: ins.UserID, AppID: ins.AppID}
				in.noteHead(ins.TS, m.Time, jp.s.cfg.IdleAdvance)
			}
		}
		if err != nil {
			jp.deadLetter(in.topic, m, err)
			in.advance()
			jp.dirty = true
			continue
		}
		in.hasHead = true
	}
	return true
}

func (jp *joinPart) deadLetter(topic string, m *kafka.Message, reason error) {
	jp.cur.dlq = append(jp.cur.dlq, kafka.Record{
		Key:   m.Key,
		Value: m.Value,
		Headers: []kafka.Header{
			{Key: "source_topic", Value: []byte(topic)},
			{Key: "source_partition", Value: strconv.AppendInt(nil, int64(jp.p), 10)},
			{Key: "source_offset", Value: strconv.AppendInt(nil, m.Offset, 10)},
			{Key: "reason", Value: reasonHeader(reason.Error())},
		},
	})
}

// maxReasonBytes caps the dead-letter reason header: an error text quotes
// the key or value at fault, and a record with a 1 MB key must not make a
// 3 MB header.
const maxReasonBytes = 1024

// reasonHeader returns reason, cut to maxReasonBytes (at a UTF-8 boundary)
// with a note of how much was cut.
func reasonHeader(reason string) []byte {
	if len(reason) <= maxReasonBytes {
		return []byte(reason)
	}
	cut := maxReasonBytes
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return fmt.Appendf([]byte(reason[:cut]), "... (%d more bytes)", len(reason)-cut)
}

// step merges one record into the joiner, if the merge order allows one
// now, and reports whether it did.
func (jp *joinPart) step(now time.Time) (bool, error) {
	cfg := &jp.s.cfg
	h0, h1 := jp.head(0), jp.head(1)
	take := -1
	switch {
	case h0 && h1:
		take = 0
		if jp.in[1].headTS < jp.in[0].headTS {
			take = 1
		}
	case h0:
		if jp.in[1].emptyUntil(now, cfg.IdleAdvance, &jp.in[0]) >= jp.in[0].headTS {
			take = 0
		}
	case h1:
		if jp.in[0].emptyUntil(now, cfg.IdleAdvance, &jp.in[1]) >= jp.in[1].headTS {
			take = 1
		}
	default:
		b := min(jp.in[0].emptyUntil(now, cfg.IdleAdvance, &jp.in[1]), jp.in[1].emptyUntil(now, cfg.IdleAdvance, &jp.in[0]))
		if b > math.MinInt64 && b-cfg.AllowedLateness.Milliseconds() > jp.j.Watermark() {
			if err := jp.j.Advance(b-cfg.AllowedLateness.Milliseconds(), jp.emit); err != nil {
				return false, err
			}
			jp.st.note(false)
			jp.dirty = true
		}
		return false, nil
	}
	if take < 0 {
		return false, nil
	}
	in := &jp.in[take]
	m := &in.buf[in.pos]
	if take == 0 {
		jp.s.stats.impressions.Add(1)
		if err := jp.st.addImpression(jp.headKey, m.Value, m.Offset, jp.emit); err != nil {
			return false, err
		}
	} else {
		jp.s.stats.installs.Add(1)
		jp.j.AddInstall(jp.headIns, m.Offset)
	}
	jp.pushed[take] = m.Offset
	jp.maxTS = max(jp.maxTS, in.headTS)
	in.advance()
	jp.dirty = true
	if err := jp.j.Advance(jp.maxTS-cfg.AllowedLateness.Milliseconds(), jp.emit); err != nil {
		return false, err
	}
	jp.st.note(false)
	return true, nil
}

// emit turns a labeled impression into an example record, unless it is
// already in the examples topic. The value is the impression's message as
// read (from memory or the spill), with label and install_ts added as its
// last members (see the package doc, "Encoding of examples").
func (jp *joinPart) emit(r join.Result[impPayload]) error {
	if jp.seen != nil {
		if _, dup := jp.seen[r.ImpressionID]; dup {
			delete(jp.seen, r.ImpressionID)
			jp.s.stats.suppressed.Add(1)
			_, err := jp.st.take(r.Payload, false)
			return err
		}
	}
	raw, err := jp.st.take(r.Payload, true)
	if err != nil {
		return fmt.Errorf("impression at offset %d: %w", r.Payload.off, err)
	}
	b := jp.cur
	start := len(b.arena)
	b.arena = appendExample(b.arena, raw, r.Label, r.InstallTS)
	if len(b.arena)-start > schemas.DefaultMaxBytes {
		// Past the readers' default message limit (a raw impression near
		// it, with white space): write the compact encoding instead.
		if err := jp.dec.Impression(raw, &jp.emitImp); err != nil {
			return fmt.Errorf("re-decoding impression at offset %d: %w", r.Payload.off, err)
		}
		ex := schemas.Example{Impression: jp.emitImp, Label: r.Label}
		ex.InstallTS, ex.HasInstallTS = r.InstallTS, r.Label == 1
		b.arena = schemas.AppendExampleJSON(b.arena[:start], &ex)
	}
	val := b.arena[start:len(b.arena):len(b.arena)]
	start = len(b.arena)
	b.arena = append(b.arena, r.UserID...)
	b.arena = append(b.arena, r.ImpressionID...)
	b.arena = strconv.AppendInt(b.arena, r.Payload.off, 10)
	key := b.arena[start : start+len(r.UserID) : start+len(r.UserID)]
	id := b.arena[start+len(key) : start+len(key)+len(r.ImpressionID) : start+len(key)+len(r.ImpressionID)]
	off := b.arena[start+len(key)+len(id) : len(b.arena) : len(b.arena)]
	b.hdrs = append(b.hdrs, kafka.Header{Key: "impression_id", Value: id}, kafka.Header{Key: "src_offset", Value: off})
	n := len(b.hdrs)
	b.out = append(b.out, kafka.Record{Key: key, Value: val, Headers: b.hdrs[n-2 : n : n]})
	if r.Label == 1 {
		b.positives++
	}
	return nil
}

// appendExample appends the example of the impression message raw (a JSON
// object that schemas.Decoder.Impression accepted, hence without label and
// install_ts keys and with at least the fixed members) to dst: raw without
// its closing brace and trailing white space, then ,"label":L,
// "install_ts":T or null, and the brace. schemas.Decoder.Example accepts
// the result and decodes it to the example AppendExampleJSON would write.
func appendExample(dst, raw []byte, label int32, installTS int64) []byte {
	end := len(raw)
	for end > 0 && (raw[end-1] == ' ' || raw[end-1] == '\t' || raw[end-1] == '\n' || raw[end-1] == '\r') {
		end--
	}
	dst = append(dst, raw[:end-1]...) // without the closing brace
	if label == 1 {
		dst = append(dst, `,"label":1,"install_ts":`...)
		dst = strconv.AppendInt(dst, installTS, 10)
	} else {
		dst = append(dst, `,"label":0,"install_ts":null`...)
	}
	return append(dst, '}')
}

// cut hands the current batch to the pipe with the offsets it completes,
// waiting for room when wait is set, and reports whether it did.
func (jp *joinPart) cut(ctx context.Context, trigger *atomic.Int64, wait bool) (bool, error) {
	b, pipe := jp.cur, jp.pipe
	ci, cs := jp.j.Committed()
	b.commit = [2]int64{commitPoint(ci, jp.pushed[0], jp.in[0].next), commitPoint(cs, jp.pushed[1], jp.in[1].next)}
	b.next = jp.in[0].next
	b.trigger = trigger
	if wait {
		select {
		case pipe.queue <- b:
		case <-pipe.done:
			return false, pipe.err
		case <-ctx.Done():
			return false, nil
		}
	} else {
		select {
		case pipe.queue <- b:
		case <-pipe.done:
			return false, pipe.err
		default:
			return false, nil
		}
	}
	jp.cur = pipe.newBatch()
	if jp.seen != nil && (len(jp.seen) == 0 || ci > jp.seenMax) {
		jp.seen = nil
	}
	jp.noteStats()
	jp.dirty = false
	jp.flushed = time.Now()
	return true, nil
}

// commitPoint is the offset to commit for one input: the joiner's first
// unfinished record, or, when every record it was given is finished, the
// next record to read (records skipped to the dead-letter topic included).
func commitPoint(joinerCommitted, pushed, next int64) int64 {
	if joinerCommitted < 0 || joinerCommitted > pushed {
		return next
	}
	return joinerCommitted
}

func (jp *joinPart) noteStats() {
	st, c := jp.j.Stats(), &jp.s.stats
	d := func(now, before int64) int64 { return now - before }
	if n := d(st.Forced, jp.last.Forced); n > 0 {
		jp.s.noteForced(jp.p, n)
	}
	c.late.Add(d(st.Late, jp.last.Late))
	c.orphans.Add(d(st.Orphans, jp.last.Orphans))
	c.dupInstalls.Add(d(st.Duplicates, jp.last.Duplicates))
	c.outOfWindow.Add(d(st.OutOfWindow, jp.last.OutOfWindow))
	c.dupImps.Add(d(st.DupImpressions, jp.last.DupImpressions))
	c.pending.Add(d(st.Pending, jp.last.Pending))
	c.held.Add(d(st.Held, jp.last.Held))
	jp.st.note(true)
	jp.last = st
	if wm := jp.j.Watermark(); wm > math.MinInt64 {
		c.setWatermark(jp.p, wm)
	}
}
