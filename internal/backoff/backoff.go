// Package backoff is the retry pacing every wdstream loop uses: waits that
// double from Min up to Max, and a sleep that ends with its context.
package backoff

import (
	"context"
	"time"
)

// Backoff paces the retries of one loop. Its zero value is not usable:
// set Min and Max.
type Backoff struct {
	Min, Max time.Duration
	next     time.Duration
}

// New returns a backoff from min, doubling up to max.
func New(min, max time.Duration) *Backoff { return &Backoff{Min: min, Max: max} }

// Next returns the wait before the next retry: Min, then twice the last
// wait, at most Max.
func (b *Backoff) Next() time.Duration {
	d := max(b.next, b.Min)
	b.next = min(2*d, b.Max)
	return d
}

// Reset starts again from Min, after a success.
func (b *Backoff) Reset() { b.next = 0 }

// Wait sleeps the next wait; it returns false when ctx ended first.
func (b *Backoff) Wait(ctx context.Context) bool { return Sleep(ctx, b.Next()) }

// Sleep waits d; it returns false when ctx ended first.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
