package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// spillRoot is a join stage's directory of spill files while it runs:
// BASE/wdstream-join-N, with an exclusive flock held on BASE/wdstream-join-N.lock.
// The kernel releases the lock when the process dies, however it dies, so
// a stage starting later on the same BASE tells the directories of dead
// processes (the lock is free) from those of running ones, and deletes
// them.
type spillRoot struct {
	dir  string
	lock *os.File
}

const spillRootPrefix = "wdstream-join-"

// openSpillRoot deletes the spill directories that no running process
// holds under base (created when missing) and makes this stage's.
func openSpillRoot(base string, logger *slog.Logger) (*spillRoot, error) {
	if base == "" {
		base = os.TempDir()
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		return nil, fmt.Errorf("join spill: %w", err)
	}
	cleanStaleSpill(base, logger)
	for range 10 {
		r, retry, err := tryOpenSpillRoot(base)
		if !retry {
			return r, err
		}
	}
	return nil, fmt.Errorf("join spill: could not lock a directory of its own in %s", base)
}

// tryOpenSpillRoot creates and locks a lock file, then its directory. It
// asks for a retry when a concurrent cleanStaleSpill took the new lock
// file before its flock (it deletes the file, which is then no longer the
// one at the path).
func tryOpenSpillRoot(base string) (*spillRoot, bool, error) {
	f, err := os.CreateTemp(base, spillRootPrefix+"*.lock")
	if err != nil {
		return nil, false, fmt.Errorf("join spill: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) { // a cleaner holds it, and deletes it
			return nil, true, nil
		}
		os.Remove(f.Name())
		return nil, false, spillErr("locking", f.Name(), err)
	}
	if !samePath(f) {
		f.Close()
		return nil, true, nil
	}
	dir := strings.TrimSuffix(f.Name(), ".lock")
	if err := os.RemoveAll(dir); err != nil { // left by a cleaner that failed half way
		f.Close()
		return nil, false, fmt.Errorf("join spill: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		os.Remove(f.Name())
		f.Close()
		return nil, false, fmt.Errorf("join spill: %w", err)
	}
	return &spillRoot{dir: dir, lock: f}, false, nil
}

// samePath reports whether f is still the file at its path.
func samePath(f *os.File) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(f.Name())
	return err == nil && os.SameFile(a, b)
}

// cleanStaleSpill deletes the spill directories under base whose lock no
// process holds. It is best effort: what it cannot delete is logged.
func cleanStaleSpill(base string, logger *slog.Logger) {
	locks, _ := filepath.Glob(filepath.Join(base, spillRootPrefix+"*.lock"))
	for _, path := range locks {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil || !samePath(f) {
			f.Close() // held by a running stage, or just deleted by another cleaner
			continue
		}
		dir := strings.TrimSuffix(path, ".lock")
		err = os.RemoveAll(dir)
		if err == nil {
			err = os.Remove(path)
		}
		f.Close()
		if err != nil {
			logger.Warn("could not delete the spill files of a stopped join stage", "dir", dir, "err", err)
			continue
		}
		logger.Info("deleted the spill files of a stopped join stage", "dir", dir)
	}
}

// close deletes the directory and releases the lock.
func (r *spillRoot) close() error {
	err := os.RemoveAll(r.dir)
	if rerr := os.Remove(r.lock.Name()); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return errors.Join(err, r.lock.Close())
}
