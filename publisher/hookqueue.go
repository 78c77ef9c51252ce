package publisher

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/wdstream/wdstream/internal/backoff"
)

// hookQueue runs hooks in the background: a bounded queue of deliveries
// served by a few workers, each delivery retried with exponential backoff.
// Publish waits at most enqueueWait for room in a full queue, then drops
// the delivery (logged and counted): a stuck receiver slows the publisher
// down by a bounded time and never stops it.
type hookQueue struct {
	hooks       []*Hook
	jobs        chan hookJob
	enqueueWait time.Duration
	backoff     time.Duration
	log         *slog.Logger
	met         *Collectors

	runCtx context.Context // cancelled by a hard stop
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex // guards closed against sends on a closed channel
	closed bool
}

type hookJob struct {
	hook *Hook
	ev   *Event
	body []byte
}

func newHookQueue(hooks []*Hook, size, workers int, enqueueWait, backoff time.Duration, log *slog.Logger, met *Collectors) *hookQueue {
	q := &hookQueue{hooks: hooks, jobs: make(chan hookJob, size), enqueueWait: enqueueWait, backoff: backoff, log: log, met: met}
	q.runCtx, q.cancel = context.WithCancel(context.Background())
	if len(hooks) == 0 {
		return q
	}
	for range workers {
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			for j := range q.jobs {
				q.deliver(j)
			}
		}()
	}
	return q
}

// enqueue queues ev for every hook.
func (q *hookQueue) enqueue(ev *Event) {
	if len(q.hooks) == 0 {
		return
	}
	body, err := json.Marshal(ev)
	if err != nil {
		q.log.Error("encoding a hook event", "event", ev.Kind, "version", ev.Version, "err", err)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, h := range q.hooks {
		if q.closed {
			q.drop(h, ev, "publisher closed")
			continue
		}
		t := time.NewTimer(q.enqueueWait)
		select {
		case q.jobs <- hookJob{hook: h, ev: ev, body: body}:
		case <-t.C:
			q.drop(h, ev, "hook queue full")
		}
		t.Stop()
	}
}

func (q *hookQueue) drop(h *Hook, ev *Event, why string) {
	q.met.HookDropped.WithLabelValues(h.Kind).Inc()
	q.log.Warn("hook delivery dropped", "hook", h.Kind, "target", h.Name, "event", ev.Kind, "model", ev.Model, "version", ev.Version, "reason", why)
}

// deliver runs one hook for one event: attempts with a per-attempt timeout,
// exponential backoff between them, until success, a permanent error, the
// retries are spent or a hard stop.
func (q *hookQueue) deliver(j hookJob) {
	h, ev := j.hook, j.ev
	bo := backoff.New(q.backoff, 30*time.Second)
	for attempt := 1; ; attempt++ {
		if q.runCtx.Err() != nil {
			q.drop(h, ev, "publisher closed before the delivery completed")
			return
		}
		ctx, cancel := context.WithTimeout(q.runCtx, h.Timeout)
		err := h.run(ctx, ev, j.body, attempt)
		cancel()
		if err == nil {
			q.met.HookAttempts.WithLabelValues(h.Kind, "ok").Inc()
			if attempt > 1 {
				q.log.Info("hook delivered after retries", "hook", h.Kind, "target", h.Name, "event", ev.Kind, "version", ev.Version, "attempts", attempt)
			}
			return
		}
		q.met.HookAttempts.WithLabelValues(h.Kind, "error").Inc()
		var perm permanentError
		last := attempt > h.Retries || errors.As(err, &perm)
		if last || q.runCtx.Err() != nil {
			q.met.HookFailures.WithLabelValues(h.Kind).Inc()
			q.log.Error("hook failed", "hook", h.Kind, "target", h.Name, "event", ev.Kind, "model", ev.Model, "version", ev.Version, "attempts", attempt, "err", err)
			return
		}
		wait := bo.Next()
		q.log.Warn("hook attempt failed, retrying", "hook", h.Kind, "target", h.Name, "event", ev.Kind, "version", ev.Version, "attempt", attempt, "retry_in", wait, "err", err)
		backoff.Sleep(q.runCtx, wait)
	}
}

// close stops intake, lets the workers finish the queued deliveries until
// ctx is done, then cancels what is still running (counted as dropped or
// failed) and closes the hooks.
func (q *hookQueue) close(ctx context.Context) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	close(q.jobs)
	q.mu.Unlock()
	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		q.cancel()
		<-done
		err = errors.New("hook queue: deliveries still running at the close deadline were cancelled")
	}
	q.cancel()
	return errors.Join(err, closeHooks(q.hooks))
}
