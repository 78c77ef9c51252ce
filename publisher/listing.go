package publisher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Entry is what a listing knows of one version, or of one rejected
// candidate: `wdstream models` and the status page both show them.
type Entry struct {
	Version string
	// Rejected marks a candidate the gate refused (it has a report, no
	// manifest).
	Rejected bool
	// Manifest of a version; nil for a rejected candidate or when Err.
	Manifest *Manifest
	// Report: the gate's report (the manifest's, or the rejection's); nil
	// for an ungated version or when Err.
	Report *Report
	Latest bool // LATEST names it
	Pinned bool // retention keeps it
	// Err: its manifest or report could not be read (wrapping ErrCorrupt,
	// or ErrNoVersion for one deleted since it was listed); the listing
	// goes on without it.
	Err error
}

// Time is when the version was created, or the candidate evaluated (zero
// when unreadable).
func (e *Entry) Time() time.Time {
	switch {
	case e.Manifest != nil:
		return e.Manifest.Created
	case e.Report != nil:
		return e.Report.Time
	}
	return time.Time{}
}

// Verdict is the version's gate verdict in the words every listing uses
// (Manifest.GateVerdict; "rejected" for a rejected candidate; "-" when
// unreadable).
func (e *Entry) Verdict() string {
	switch {
	case e.Rejected:
		return "rejected"
	case e.Manifest != nil:
		return e.Manifest.GateVerdict()
	}
	return "-"
}

// List reads a model's versions and rejected candidates, sorted by name,
// the last limit of them (0: all). It lists what it can read and marks the
// rest (Entry.Err); it fails only when the store itself cannot be read.
// latestErr is the error of reading LATEST when it names a missing or
// unreadable version (wrapping ErrCorrupt), for the caller to report.
func (s *Store) List(ctx context.Context, model string, limit int) (entries []Entry, latestErr error, err error) {
	vs, err := s.Versions(ctx, model)
	if err != nil {
		return nil, nil, err
	}
	rej, err := s.Rejected(ctx, model)
	if err != nil {
		return nil, nil, err
	}
	latest, err := s.Latest(ctx, model)
	switch {
	case errors.Is(err, ErrCorrupt):
		latestErr = err
	case err != nil && !errors.Is(err, ErrNoVersion):
		return nil, nil, err
	}
	pins, err := s.Pins(ctx, model)
	if err != nil {
		return nil, nil, err
	}
	if limit > 0 {
		vs, rej = vs[max(0, len(vs)-limit):], rej[max(0, len(rej)-limit):]
	}
	for _, v := range vs {
		e := Entry{Version: v, Latest: v == latest, Pinned: slices.Contains(pins, v)}
		e.Manifest, e.Err = s.Manifest(ctx, model, v)
		if err := fatalReadErr(ctx, e.Err); err != nil {
			return nil, nil, err
		}
		if e.Manifest != nil {
			e.Report = e.Manifest.Verdict
		}
		entries = append(entries, e)
	}
	for _, v := range rej {
		e := Entry{Version: v, Rejected: true}
		e.Report, e.Err = s.RejectedReport(ctx, model, v)
		if err := fatalReadErr(ctx, e.Err); err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	slices.SortStableFunc(entries, func(a, b Entry) int { return strings.Compare(a.Version, b.Version) })
	if limit > 0 {
		entries = entries[max(0, len(entries)-limit):]
	}
	return entries, latestErr, nil
}

// fatalReadErr sorts a per-version read error of a listing: nil when err
// is nil or condemns only that version (ErrCorrupt; ErrNoVersion, a version
// deleted since it was listed), so that the listing marks it and goes on;
// err itself otherwise (the store unreachable, ctx done).
func fatalReadErr(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNoVersion) {
		return nil
	}
	return fmt.Errorf("listing: %w", err)
}
