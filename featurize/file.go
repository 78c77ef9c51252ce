package featurize

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wdstream/wdstream/schemas/spec"
)

// WriteFile writes the encoded State to path atomically: to a temporary
// file in the same directory, fsync, rename over path, fsync the directory.
// A reader sees either the old file or the new one, never a torn one.
func WriteFile(path string, s *State, opts EncodeOptions) error {
	return writeFileAtomic(path, s.AppendEncoded(nil, opts))
}

func writeFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("featurize: writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			err = errors.Join(err, removeIfExists(tmp))
		}
	}()
	if _, err := f.Write(data); err != nil {
		return errors.Join(fmt.Errorf("featurize: writing %s: %w", tmp, err), f.Close())
	}
	if err := f.Sync(); err != nil {
		return errors.Join(fmt.Errorf("featurize: syncing %s: %w", tmp, err), f.Close())
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("featurize: closing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("featurize: renaming %s to %s: %w", tmp, path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("featurize: opening directory %s to sync: %w", dir, err)
	}
	if err := d.Sync(); err != nil {
		return errors.Join(fmt.Errorf("featurize: syncing directory %s: %w", dir, err), d.Close())
	}
	return d.Close()
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("featurize: removing %s: %w", path, err)
	}
	return nil
}

// ReadFile reads a State written by WriteFile and binds it to sp (see
// Decode). Errors name the file.
func ReadFile(path string, sp *spec.Spec, opts Options) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("featurize: reading state: %w", err)
	}
	s, err := decodeBytes(b, sp, opts)
	if err != nil {
		return nil, fmt.Errorf("featurize: reading state %s: %w", path, err)
	}
	return s, nil
}
