//go:build unix

package publisher

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// otherDeviceDir returns a new directory on another filesystem (device)
// than os.TempDir(), removed when the test ends: /dev/shm (a tmpfs on
// Linux) or another candidate. It skips the test, saying why, when every
// candidate is on the temp dir's device or not writable.
func otherDeviceDir(t *testing.T) string {
	t.Helper()
	dev := func(p string) (uint64, bool) {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			return 0, false
		}
		return uint64(st.Dev), true
	}
	tmp := os.TempDir()
	tmpDev, ok := dev(tmp)
	if !ok {
		t.Skipf("cannot stat the temp dir %s", tmp)
	}
	candidates := []string{"/dev/shm", "/run/shm", "/var/tmp", "/run/user/" + strconv.Itoa(os.Getuid())}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, home)
	}
	for _, c := range candidates {
		if d, ok := dev(c); !ok || d == tmpDev {
			continue
		}
		dir, err := os.MkdirTemp(c, "wdstream-xdev-")
		if err != nil {
			continue
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	t.Skipf("no writable directory on another device than the temp dir %s among %v: cannot test a store across filesystems", tmp, candidates)
	return ""
}

// TestFileStoreOnAnotherFilesystem: a file:// store on another device
// than os.TempDir() publishes, loads, pins and keeps rejection reports.
// fileblob used to write each file in the temp dir and rename it into the
// store: "invalid cross-device link".
func TestFileStoreOnAnotherFilesystem(t *testing.T) {
	dir := otherDeviceDir(t)
	t.Logf("store in %s, temp dir %s", dir, os.TempDir())
	ctx := context.Background()
	s := openStore(t, "file://"+filepath.Join(dir, "store"))
	b, _ := testBundle(t)
	m := &Manifest{Model: "m"}
	if err := s.PublishUngated(ctx, b, m); err != nil {
		t.Fatal(err)
	}
	if _, man, err := Load(ctx, s, "m", ""); err != nil || man.Version != m.Version {
		t.Fatalf("Load: %v", err)
	}
	if err := s.Pin(ctx, "m", m.Version); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRejected(ctx, &Report{Model: "m", Version: NewVersionName(m.Created)}); err != nil {
		t.Fatal(err)
	}
	h, err := s.History(ctx, "m")
	if err != nil || len(h) != 1 {
		t.Fatalf("history %+v (%v)", h, err)
	}
	// No temporary file is left next to the artifacts.
	var tmps []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && filepath.Ext(p) == ".tmp" {
			tmps = append(tmps, p)
		}
		return nil
	})
	if len(tmps) > 0 {
		t.Fatalf("temporary files left: %v", tmps)
	}
}
