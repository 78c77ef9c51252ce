package publisher

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/wdstream/wdstream/schemas/spec"
)

// Environment variables a command hook gets besides CommandEnv; the
// event's JSON is its standard input.
const (
	EnvEvent      = "WDSTREAM_EVENT"       // published or rejected
	EnvModel      = "WDSTREAM_MODEL"       // the model name
	EnvVersion    = "WDSTREAM_VERSION"     // the version (or rejected candidate)
	EnvVersionURL = "WDSTREAM_VERSION_URL" // the version folder or report, without credentials
	EnvVerdict    = "WDSTREAM_VERDICT"     // passed, forced or rejected
	EnvIdemKey    = "WDSTREAM_IDEMPOTENCY_KEY"
)

// CommandEnv is the allowlist of the publisher's environment variables a
// command hook gets, when set and not empty: what a program needs to run
// and find its files, and nothing that is usually a credential. The rest
// of the environment (AWS_*, webhook secrets, Kafka passwords, ...) is
// withheld unless the command's spec names it in env.
var CommandEnv = []string{"PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR"}

// commandEnv returns the environment of a command hook: the allowlist, the
// spec's extra names, then the event variables (which win over both).
func commandEnv(getenv func(string) string, extra []string, e *Event) []string {
	var env []string
	seen := map[string]bool{}
	for _, names := range [][]string{CommandEnv, extra} {
		for _, name := range names {
			if seen[name] {
				continue
			}
			seen[name] = true
			if v := getenv(name); v != "" {
				env = append(env, name+"="+v)
			}
		}
	}
	return append(env,
		EnvEvent+"="+e.Kind, EnvModel+"="+e.Model, EnvVersion+"="+e.Version,
		EnvVersionURL+"="+e.URL, EnvVerdict+"="+e.Verdict, EnvIdemKey+"="+e.IdempotencyKey())
}

func newCommand(c spec.Command, cfg HookConfig) *Hook {
	argv := append([]string(nil), c.Argv...)
	extra := append([]string(nil), c.Env...)
	getenv := cfg.Getenv
	h := &Hook{Kind: "command", Name: argv[0], Retries: cfg.CommandRetries, Timeout: c.Timeout.D()}
	h.run = func(ctx context.Context, e *Event, body []byte, attempt int) error {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = commandEnv(getenv, extra, e)
		cmd.Stdin = bytes.NewReader(body)
		var out limitedBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.WaitDelay = time.Second // then a killed command's pipes are closed
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("command %s: %w after %s", argv[0], ctx.Err(), c.Timeout)
			}
			return fmt.Errorf("command %s: %w: %s", argv[0], err, strings.TrimSpace(out.String()))
		}
		return nil
	}
	return h
}

// limitedBuffer keeps the first 2 KiB written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := 2048 - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
