package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// EnvChromium names a Chromium (or Chrome) binary for the browser tests;
// without it, Chromium looks for chromium on PATH and at /usr/bin/chromium
// (Debian's chromium package, which scripts/install.sh installs).
const EnvChromium = "WDSTREAM_CHROMIUM"

// Chromium returns the path of a Chromium that can run headless:
// WDSTREAM_CHROMIUM, else chromium on PATH, else /usr/bin/chromium. It
// skips tb when there is none, or fails it in CI.
func Chromium(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv(EnvChromium); p != "" {
		if err := checkExecutable(p); err != nil {
			tb.Fatalf("testenv: %s: %v", EnvChromium, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if checkExecutable("/usr/bin/chromium") == nil {
		return "/usr/bin/chromium"
	}
	missing(tb, "Chromium (not on PATH or at /usr/bin/chromium either)", EnvChromium)
	return ""
}
