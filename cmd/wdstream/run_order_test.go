package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestRunInOrder: on stop (or when a stage fails) the runners are stopped
// one at a time in stream order, each after the one before has returned,
// and the whole stop is bounded by the timeout.
func TestRunInOrder(t *testing.T) {
	var mu sync.Mutex
	var order []string
	stage := func(name string, drain time.Duration, fail error) func(context.Context) error {
		return func(ctx context.Context) error {
			if fail != nil {
				return fail
			}
			<-ctx.Done()
			time.Sleep(drain) // draining: the next stage must still run
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return nil
		}
	}
	log := slog.New(slog.DiscardHandler)

	t.Run("stop", func(t *testing.T) {
		order = nil
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		err := runInOrder(ctx, []func(context.Context) error{stage("join", 30*time.Millisecond, nil), stage("archive", 0, nil), stage("train", 20*time.Millisecond, nil), stage("http", 0, nil)}, time.Second, log)
		if err != nil || !slices.Equal(order, []string{"join", "archive", "train", "http"}) {
			t.Fatalf("err %v, stop order %v", err, order)
		}
	})
	t.Run("failure", func(t *testing.T) {
		order = nil
		boom := errors.New("boom")
		err := runInOrder(context.Background(), []func(context.Context) error{stage("join", 0, nil), stage("train", 0, boom), stage("http", 0, nil)}, time.Second, log)
		if !errors.Is(err, boom) || !slices.Equal(order, []string{"join", "http"}) {
			t.Fatalf("err %v, stop order %v", err, order)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		t0 := time.Now()
		release := make(chan struct{})
		defer close(release)
		hang := func(context.Context) error { <-release; return nil } // ignores its context
		err := runInOrder(ctx, []func(context.Context) error{stage("join", 0, nil), hang}, 200*time.Millisecond, log)
		if err == nil || time.Since(t0) > time.Second {
			t.Fatalf("err %v after %v: want a shutdown timeout error after 200ms", err, time.Since(t0))
		}
	})
}
