// Package progress shows the progress of a long job: a bar with rate and
// ETA redrawn in place on a terminal, plain log lines every few seconds
// otherwise (CI logs, pipes).
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Bar reports progress of a job of a known size; not safe for concurrent
// use.
type Bar struct {
	w      io.Writer
	tty    bool
	label  string
	unit   string
	total  int64
	start  time.Time
	last   time.Time
	every  time.Duration
	done   int64
	closed bool
}

// New returns a bar writing to w for a job of total units (e.g.
// "examples"). On a terminal it redraws every 200 ms, elsewhere it logs a
// line every 10 s.
func New(w io.Writer, label, unit string, total int64) *Bar {
	b := &Bar{w: w, label: label, unit: unit, total: total, start: time.Now(), every: 10 * time.Second}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			b.tty, b.every = true, 200*time.Millisecond
		}
	}
	b.last = b.start
	return b
}

// Update records done units and redraws when due.
func (b *Bar) Update(done int64) {
	b.done = done
	if now := time.Now(); now.Sub(b.last) >= b.every {
		b.last = now
		b.draw(now)
	}
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	if b.closed {
		return
	}
	b.closed = true
	b.draw(time.Now())
	if b.tty {
		fmt.Fprintln(b.w)
	}
}

func (b *Bar) draw(now time.Time) {
	el := now.Sub(b.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(b.done) / el
	}
	eta := "?"
	if rate > 0 && b.total > 0 {
		eta = time.Duration(float64(b.total-b.done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	frac := 0.0
	if b.total > 0 {
		frac = float64(b.done) / float64(b.total)
	}
	if !b.tty {
		fmt.Fprintf(b.w, "%s: %d/%d %s (%.0f%%), %.0f %s/s, eta %s\n", b.label, b.done, b.total, b.unit, 100*frac, rate, b.unit, eta)
		return
	}
	const width = 30
	n := min(width, int(frac*width))
	fmt.Fprintf(b.w, "\r%s [%s%s] %5.1f%% %d/%d %s, %.0f/s, eta %s  ", b.label,
		strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac, b.done, b.total, b.unit, rate, eta)
}
