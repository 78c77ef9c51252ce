package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// runInOrder runs every runner until ctx is done or one of them returns,
// then stops them one at a time in the order given (stream order: join,
// archive, train, then the HTTP port), each after the one before it has
// returned. So the join drains and commits while the train stage still
// reads, the train stage then trains what it read, checkpoints and
// commits, and /metrics answers until the end. The whole stop is bounded
// by timeout: a stage still running then is left behind and an error
// returned (the process exits; checkpoints and commits make that safe).
func runInOrder(ctx context.Context, runners []func(context.Context) error, timeout time.Duration, logger *slog.Logger) error {
	type runner struct {
		cancel context.CancelFunc
		done   chan struct{}
		err    error
	}
	rs := make([]*runner, len(runners))
	anyDone := make(chan int, len(runners))
	base := context.WithoutCancel(ctx)
	for i, fn := range runners {
		rctx, cancel := context.WithCancel(base)
		r := &runner{cancel: cancel, done: make(chan struct{})}
		rs[i] = r
		go func() {
			defer close(r.done)
			r.err = fn(rctx)
			anyDone <- i
		}()
	}
	select {
	case <-ctx.Done():
		logger.Info("stopping in stream order", "timeout", timeout)
	case i := <-anyDone:
		if err := rs[i].err; err != nil {
			logger.Error("a stage failed; stopping the others in stream order", "err", err)
		} else {
			logger.Warn("a stage returned early; stopping the others in stream order")
		}
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var errs []error
	for i, r := range rs {
		r.cancel()
		select {
		case <-r.done:
			errs = append(errs, r.err)
		case <-deadline.C:
			for _, r := range rs[i:] {
				r.cancel()
			}
			logger.Error("stages did not stop within the shutdown timeout; exiting", "timeout", timeout)
			return fmt.Errorf("shutdown: stages still running after %s", timeout)
		}
	}
	return errors.Join(errs...)
}
