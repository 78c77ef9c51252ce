package publisher

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
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
}

// errHistory marks a move of LATEST that happened but could not be
// recorded in the history file.
var errHistory = errors.New("history not recorded")

// Lock timing: a lock older than lockStale is taken to belong to a dead
// process and broken; acquiring gives up after lockWait.
var (
	lockStale = 30 * time.Second
	lockWait  = 45 * time.Second
)

type lockBody struct {
	Owner string    `json:"owner"`
	Time  time.Time `json:"time"`
}

// lock takes NAME/LOCK, created only if absent (a conditional write, which
// S3, GCS, Azure and file:// support), and returns its release. Object
// stores have no compare-and-swap on contents, so this lock is what makes
// the read-modify-write of LATEST and history.jsonl safe between
// publishers. A lock left by a dead process is broken after lockStale; two
// processes breaking the same stale lock at once is the one window left,
// narrowed by re-reading the owner before deleting.
func (s *Store) lock(ctx context.Context, model string) (func(), error) {
	var id [8]byte
	_, _ = rand.Read(id[:])
	owner := hex.EncodeToString(id[:])
	key := path.Join(model, lockFile)
	deadline := time.Now().Add(lockWait)
	wait := 10 * time.Millisecond
	for {
		body, _ := json.Marshal(lockBody{Owner: owner, Time: time.Now().UTC()})
		err := s.bucket.WriteAll(ctx, key, body, &blob.WriterOptions{IfNotExist: true})
		if err == nil {
			release := func() {
				ctx := context.WithoutCancel(ctx)
				if b, err := s.bucket.ReadAll(ctx, key); err == nil && bytes.Contains(b, []byte(owner)) {
					_ = s.bucket.Delete(ctx, key)
				}
			}
			return release, nil
		}
		if gcerrors.Code(err) != gcerrors.FailedPrecondition {
			return nil, fmt.Errorf("store %s: taking %s: %w", s.where, key, err)
		}
		var held lockBody
		if b, err := s.bucket.ReadAll(ctx, key); err == nil && json.Unmarshal(b, &held) == nil &&
			time.Since(held.Time) > lockStale {
			if b2, err := s.bucket.ReadAll(ctx, key); err == nil && bytes.Equal(b, b2) {
				_ = s.bucket.Delete(ctx, key)
				continue
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("store %s: %s is held by %s since %s", s.where, key, held.Owner, held.Time.Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// moveLatest points LATEST at version under the model's lock and records
// the move in the history. With onlyForward, LATEST moves only if version
// sorts after the version it names (a racing publisher's newer version
// stays). It returns whether LATEST moved and what it named before. A move
// that happened but could not be recorded returns an error wrapping
// errHistory.
func (s *Store) moveLatest(ctx context.Context, model, version string, e HistoryEntry, onlyForward bool) (bool, string, error) {
	release, err := s.lock(ctx, model)
	if err != nil {
		return false, "", err
	}
	defer release()
	prev, err := s.Latest(ctx, model)
	if err != nil && !errors.Is(err, ErrNoVersion) {
		return false, "", err
	}
	if onlyForward && prev >= version {
		return false, prev, nil
	}
	if prev == version {
		return false, prev, nil
	}
	if err := s.SetLatest(ctx, model, version); err != nil {
		return false, prev, err
	}
	e.Version, e.Previous = version, prev
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if err := s.appendHistory(ctx, model, e); err != nil {
		return true, prev, fmt.Errorf("LATEST of %s moved to %s but %w: %w", model, version, errHistory, err)
	}
	return true, prev, nil
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
// after.
func Rollback(ctx context.Context, s *Store, model, to, reason string) (from, now string, err error) {
	cur, err := s.Latest(ctx, model)
	if err != nil {
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
	_, prev, err := s.moveLatest(ctx, model, to, HistoryEntry{Action: "rollback", Reason: reason}, false)
	if err != nil {
		return prev, to, err
	}
	return prev, to, nil
}
