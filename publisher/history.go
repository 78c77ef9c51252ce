package publisher

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/wdstream/wdstream/internal/procid"
)

// HistoryEntry is one move of LATEST, a line of NAME/history.jsonl.
type HistoryEntry struct {
	Time time.Time `json:"time"`
	// Action is "publish" or "rollback".
	Action string `json:"action"`
	// Version is what LATEST names after the move, Previous before it
	// ("" for the first version).
	Version  string `json:"version"`
	Previous string `json:"previous,omitempty"`
	// Forced marks a publish past a failed gate; Reason is the force
	// reason or the rollback's reason.
	Forced bool   `json:"forced,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Note says what was special about a publish's move (see the
	// only-forward rule in the package doc): it repaired a LATEST that
	// named a missing or unreadable version, or it passed a version
	// whose name ran ahead of the store's clock.
	Note string `json:"note,omitempty"`
}

// Lock timing. A lock whose holder is known to be dead (same machine,
// process gone: see package procid) is broken at once. Otherwise a lock
// that a waiter sees unchanged (same owner, same bytes) for lockStale, by
// the waiter's own monotonic clock, is taken for a dead holder's and
// broken; acquiring gives up after lockWait. Between tries a waiter sleeps
// lockPoll, doubled after each try up to lockPollMax, each sleep drawn at
// random in its upper half. Tokens of broken locks are kept lockTokenKeep.
var (
	lockStale     = 30 * time.Second
	lockWait      = 45 * time.Second
	lockPoll      = 10 * time.Millisecond
	lockPollMax   = time.Second
	lockTokenKeep = time.Hour
)

// lockBody is the content of NAME/LOCK.
type lockBody struct {
	Owner string    `json:"owner"`
	Time  time.Time `json:"time"`
	// Host (for people) and Proc (a procid, "" where unknown) name the
	// holding process: a waiter on the same machine breaks the lock at
	// once when that process is gone.
	Host string `json:"host,omitempty"`
	Proc string `json:"proc,omitempty"`
}

// lock takes NAME/LOCK, created only if absent (createIfAbsent: link(2)
// on file://, If-None-Match: * on S3), and returns its release. Object
// stores have no compare-and-swap on contents, so this lock is what makes
// the read-modify-write of LATEST and history.jsonl safe between
// publishers.
//
// A lock left by a dead process is broken (breakLock) as soon as a waiter
// on the holder's machine sees that the process is gone, or else once a
// waiter has seen it unchanged for lockStale: that time is measured by the
// waiter, so a holder whose clock is off can neither have its live lock
// broken early nor leave a dead one that is never broken.
func (s *Store) lock(ctx context.Context, model string) (func(), error) {
	if err := s.checkConditionalWrites(ctx, model); err != nil {
		return nil, err
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	owner := hex.EncodeToString(id[:])
	key := path.Join(model, lockFile)
	start := time.Now()
	wait := lockPoll
	var seen []byte      // the holder's lock as this waiter last saw it
	var seenAt time.Time // when this waiter first saw it so
	for {
		release := func() {
			defer heldLocks.Delete(owner)
			ctx := context.WithoutCancel(ctx)
			if b, err := s.bucket.ReadAll(ctx, key); err == nil && bytes.Contains(b, []byte(owner)) {
				_ = s.bucket.Delete(ctx, key)
			}
		}
		body, _ := json.Marshal(lockBody{Owner: owner, Time: time.Now().UTC(), Host: hostname, Proc: selfProc})
		heldLocks.Store(owner, struct{}{})
		err := s.createIfAbsent(ctx, key, body, "application/json")
		if err == nil {
			return release, nil
		}
		heldLocks.Delete(owner)
		if !errors.Is(err, errExists) && !errors.Is(err, errBusy) {
			return nil, fmt.Errorf("taking %s: %w", key, err)
		}
		b, err := s.bucket.ReadAll(ctx, key)
		var held lockBody
		switch {
		case gcerrors.Code(err) == gcerrors.NotFound:
			continue // released meanwhile: try again at once
		case err != nil:
			return nil, fmt.Errorf("store %s: reading %s: %w", s.where, key, err)
		case json.Unmarshal(b, &held) == nil && held.Owner == owner:
			// Our own create, whose answer was lost (the store restarted)
			// and whose retry found it.
			heldLocks.Store(owner, struct{}{})
			return release, nil
		case held.Proc != "" && (procid.Dead(held.Proc) || held.Proc == selfProc && !holding(held.Owner)):
			// A dead process's lock, or one of this process that no call
			// holds any more (its release could not delete it).
			if err := s.breakLock(ctx, model, b); err != nil {
				return nil, err
			}
			seen, seenAt = nil, time.Time{}
			continue
		case seenAt.IsZero() || !bytes.Equal(b, seen):
			seen, seenAt = b, time.Now()
		case time.Since(seenAt) > lockStale:
			if err := s.breakLock(ctx, model, b); err != nil {
				return nil, err
			}
			seen, seenAt = nil, time.Time{}
			continue
		}
		if time.Since(start) > lockWait {
			return nil, fmt.Errorf("store %s: %s is held by %q on %q (taken at %s by its clock), still after %s",
				s.where, key, held.Owner, held.Host, held.Time.Format(time.RFC3339), lockWait)
		}
		d := wait/2 + time.Duration(mrand.Int64N(int64(wait/2)+1))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d):
		}
		wait = min(2*wait, lockPollMax)
	}
}

// breakerPause runs between breakLock's last read of the lock and its
// delete; tests make it a slow breaker's pause.
var breakerPause = func() {}

// heldLocks holds the owners of the locks this process holds now (or is
// taking): a lock naming this process whose owner is not among them was
// left by a release that could not delete it, and is broken at once.
var heldLocks sync.Map

func holding(owner string) bool {
	_, ok := heldLocks.Load(owner)
	return ok
}

// hostname and selfProc go into this process's locks (lockBody).
var (
	hostname, _ = os.Hostname()
	selfProc    = procid.Self()
)

// breakLock deletes NAME/LOCK holding b, the lock of a dead holder. Of
// several waiters breaking the same lock only one deletes it: each first
// creates NAME/LOCK.broken/SHA256(b), exclusive like the lock itself, and
// only the one that created it goes on (the others see the lock gone or
// taken again, and wait their turn). Without that, a slow breaker could
// delete the lock that a faster one had just taken. It also reads the lock
// once more right before deleting it, for a holder that was only slow.
// Tokens are kept lockTokenKeep, far longer than any waiter's view of a
// lock, and then removed.
func (s *Store) breakLock(ctx context.Context, model string, b []byte) error {
	key := path.Join(model, lockFile)
	tokens := path.Join(model, lockFile+".broken") + "/"
	err := s.createIfAbsent(ctx, tokens+checksum(b), nil, "")
	switch {
	case errors.Is(err, errExists) || errors.Is(err, errBusy):
		return nil // another waiter breaks it
	case err != nil:
		return fmt.Errorf("store %s: breaking the stale %s: %w", s.where, key, err)
	}
	if b2, err := s.bucket.ReadAll(ctx, key); err == nil && bytes.Equal(b, b2) {
		breakerPause()
		if err := s.bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return fmt.Errorf("store %s: breaking the stale %s: %w", s.where, key, err)
		}
	}
	it := s.bucket.List(&blob.ListOptions{Prefix: tokens})
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			break // io.EOF, or tokens to remove at the next break
		}
		if time.Since(obj.ModTime) > lockTokenKeep {
			_ = s.bucket.Delete(ctx, obj.Key)
		}
	}
	return nil
}

// clockAhead bounds how far a version's name may run ahead of the store's
// time of its manifest and still count as its time in the only-forward
// rule (see orderTime). Names are made from the publisher's clock before
// the gate runs, so an honest name is older than its manifest; a minute
// covers the clock skew of synced machines many times over.
var clockAhead = time.Minute

// latestMove is what moveLatest did to LATEST.
type latestMove struct {
	moved    bool
	previous string // what LATEST named before ("" for none or unreadable)
	// note says why LATEST stayed, or what was special about a move: it
	// repaired a LATEST naming a missing or unreadable version, or it
	// passed a version whose name runs ahead of its store time. "" for a
	// plain move.
	note string
}

// moveLatest points LATEST at version under the model's lock and records
// the move in the history. With onlyForward, the only-forward rule of the
// package doc applies: LATEST stays on a complete version that ranks after
// version (a racing publisher's newer version), and moves past one that is
// missing or unreadable (repaired) or that ranks before. The history line
// is written before LATEST, so a move is never without its line.
func (s *Store) moveLatest(ctx context.Context, model, version string, e HistoryEntry, onlyForward bool) (latestMove, error) {
	release, err := s.lock(ctx, model)
	if err != nil {
		return latestMove{}, err
	}
	defer release()
	if err := s.finishInterrupted(ctx, model); err != nil {
		return latestMove{}, err
	}
	var mv latestMove
	prev, err := s.Latest(ctx, model)
	switch {
	case errors.Is(err, ErrCorrupt):
		mv.note = fmt.Sprintf("repaired: %v", err)
	case err != nil && !errors.Is(err, ErrNoVersion):
		return mv, err
	}
	mv.previous = prev
	if prev == version {
		mv.note = "LATEST already names " + version
		return mv, nil
	}
	if onlyForward && prev != "" {
		forward, note, err := s.forward(ctx, model, prev, version)
		if err != nil {
			return mv, err
		}
		mv.note = note
		if !forward {
			return mv, nil
		}
	}
	// The history line first, then LATEST: a mover killed between the two
	// leaves a line whose move the next mover finishes (finishInterrupted),
	// never a move of LATEST without its line.
	e.Version, e.Previous, e.Note = version, prev, mv.note
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if err := s.appendHistory(ctx, model, e); err != nil {
		return mv, fmt.Errorf("LATEST of %s not moved to %s: recording the move: %w", model, version, err)
	}
	if err := s.SetLatest(ctx, model, version); err != nil {
		return mv, err
	}
	mv.moved = true
	return mv, nil
}

// finishInterrupted completes the move of LATEST that the last history
// line records when LATEST still names that line's previous version: its
// mover wrote the line (see moveLatest) and stopped before LATEST. The
// caller holds the model's lock.
func (s *Store) finishInterrupted(ctx context.Context, model string) error {
	h, err := s.History(ctx, model)
	if err != nil || len(h) == 0 {
		return err
	}
	last := h[len(h)-1]
	cur, err := s.Latest(ctx, model)
	switch {
	case errors.Is(err, ErrNoVersion):
		if last.Previous != "" {
			return nil // LATEST removed by other means: not this case
		}
	case errors.Is(err, ErrCorrupt):
		return nil // garbage: the move that follows repairs it, and says so
	case err != nil:
		return err
	case cur == last.Version || cur != last.Previous:
		return nil // done, or LATEST moved by other means since
	}
	if _, err := s.Manifest(ctx, model, last.Version); err != nil {
		return nil // not a complete version: nothing to finish
	}
	if err := s.SetLatest(ctx, model, last.Version); err != nil {
		return fmt.Errorf("finishing the interrupted move of LATEST of %s to %s: %w", model, last.Version, err)
	}
	return nil
}

// forward applies the only-forward rule between prev, the version LATEST
// names, and version, a complete version just written: it reports whether
// LATEST moves to version, and a note when it stays or when the move is
// not a plain step forward.
func (s *Store) forward(ctx context.Context, model, prev, version string) (bool, string, error) {
	if _, err := s.Manifest(ctx, model, prev); errors.Is(err, ErrNoVersion) || errors.Is(err, ErrCorrupt) {
		return true, fmt.Sprintf("repaired: LATEST named %s, which is not a complete version (%v)", prev, err), nil
	} else if err != nil {
		return false, "", fmt.Errorf("only-forward rule: %w", err)
	}
	tp, aheadBy, err := s.orderTime(ctx, model, prev)
	if err != nil {
		return false, "", err
	}
	tv, _, err := s.orderTime(ctx, model, version)
	if err != nil {
		return false, "", err
	}
	if tp.After(tv) || (tp.Equal(tv) && prev > version) {
		return false, fmt.Sprintf("LATEST stays on %s, newer than %s", prev, version), nil
	}
	if aheadBy > 0 && prev > version {
		return true, fmt.Sprintf("LATEST named %s, whose name runs %s ahead of the store's time of its manifest (its publisher's clock ran ahead): it ranks as of %s, before %s",
			prev, aheadBy.Round(time.Second), tp.Format(time.RFC3339), version), nil
	}
	return true, "", nil
}

// orderTime is the time a complete version ranks by in the only-forward
// rule: the time in its name, but no later than clockAhead after the
// store wrote its manifest (by the store's clock: the S3 server's, the
// file system's); a name without a time ranks at that bound. aheadBy is
// how far the name ran past the store's time when the bound applied.
func (s *Store) orderTime(ctx context.Context, model, version string) (t time.Time, aheadBy time.Duration, err error) {
	key := versionPrefix(model, version) + ManifestFile
	a, err := s.bucket.Attributes(ctx, key)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("store %s: reading the attributes of %s: %w", s.where, key, err)
	}
	bound := a.ModTime.Add(clockAhead)
	named, ok := versionTime(version)
	if !ok {
		return bound, 0, nil
	}
	if named.After(bound) {
		return bound, named.Sub(a.ModTime), nil
	}
	return named, 0, nil
}

// appendHistory adds a line to NAME/history.jsonl (read, append, write:
// callers hold the model's lock).
func (s *Store) appendHistory(ctx context.Context, model string, e HistoryEntry) error {
	key := path.Join(model, HistoryFile)
	old, err := s.bucket.ReadAll(ctx, key)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("store %s: reading %s: %w", s.where, key, err)
	}
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if len(old) > 0 && old[len(old)-1] != '\n' {
		old = append(old, '\n')
	}
	if err := s.bucket.WriteAll(ctx, key, append(append(old, line...), '\n'), nil); err != nil {
		return fmt.Errorf("store %s: writing %s: %w", s.where, key, err)
	}
	return nil
}

// History returns the moves of LATEST of a model, oldest first. A line that
// does not parse is an error naming it.
func (s *Store) History(ctx context.Context, model string) ([]HistoryEntry, error) {
	if err := validName("model", model); err != nil {
		return nil, err
	}
	key := path.Join(model, HistoryFile)
	b, err := s.bucket.ReadAll(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: reading %s: %w", s.where, key, err)
	}
	var out []HistoryEntry
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		var e HistoryEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return nil, fmt.Errorf("store %s: %s line %d: %w", s.where, key, i+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Rollback points LATEST of a model back at version to ("" means the
// newest complete version older than the one LATEST names), after loading
// it through Load so that a corrupt version is refused, and records the
// move with reason in the history. It returns the versions before and
// after. A rollback to a named version also repairs a LATEST whose
// contents are not a version name.
func Rollback(ctx context.Context, s *Store, model, to, reason string) (from, now string, err error) {
	cur, err := s.Latest(ctx, model)
	if err != nil && !(to != "" && errors.Is(err, ErrCorrupt)) {
		return "", "", fmt.Errorf("rollback of %s: %w", model, err)
	}
	if to == "" {
		vs, err := s.Versions(ctx, model)
		if err != nil {
			return "", "", err
		}
		for _, v := range vs {
			if v < cur {
				to = v
			}
		}
		if to == "" {
			return "", "", fmt.Errorf("rollback of %s: no version older than %s: %w", model, cur, ErrNoVersion)
		}
	}
	if _, _, err := Load(ctx, s, model, to); err != nil {
		return "", "", fmt.Errorf("rollback of %s to %s: %w", model, to, err)
	}
	if to == cur {
		return cur, cur, fmt.Errorf("rollback of %s: LATEST already names %s", model, to)
	}
	mv, err := s.moveLatest(ctx, model, to, HistoryEntry{Action: "rollback", Reason: reason}, false)
	if err != nil {
		return mv.previous, to, err
	}
	return mv.previous, to, nil
}
