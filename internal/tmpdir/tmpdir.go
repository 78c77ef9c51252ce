// Package tmpdir gives a wdstream process a temporary directory of its
// own, and removes the ones of wdstream processes that died.
//
// gocloud.dev's fileblob writes every object to a temporary file in
// os.TempDir() and renames it into place; a process killed mid-write
// leaves that file behind (a checkpoint's or an archive's can weigh tens
// of megabytes), and nothing else would ever remove it. With TMPDIR
// pointing at a directory named after its owner (see package procid), the
// next wdstream on the machine sees that the owner is gone and removes
// the directory with all it holds.
package tmpdir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/wdstream/wdstream/internal/procid"
)

// Own creates this process's directory under base/wdstream-UID, removes
// there the directories of processes that procid reports dead, and returns
// the directory's path, the names of what it removed, and a release that
// removes the directory. Where process ids are not available (see procid)
// the directory gets a random name and is removed only by its release.
func Own(base string) (dir string, removed []string, release func(), err error) {
	parent := filepath.Join(base, "wdstream-"+strconv.Itoa(os.Getuid()))
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", nil, nil, fmt.Errorf("temporary directory: %w", err)
	}
	name := procid.Self()
	if name == "" {
		var r [8]byte
		_, _ = rand.Read(r[:])
		name = "x" + hex.EncodeToString(r[:])
	}
	dir = filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", nil, nil, fmt.Errorf("temporary directory: %w", err)
	}
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		if e.Name() == name || !e.IsDir() || !procid.Dead(e.Name()) {
			continue
		}
		if os.RemoveAll(filepath.Join(parent, e.Name())) == nil {
			removed = append(removed, filepath.Join(parent, e.Name()))
		}
	}
	return dir, removed, func() { _ = os.RemoveAll(dir) }, nil
}
