package publisher

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/wdstream/wdstream/schemas/spec"
)

// Environment variables a command hook gets (besides the publisher's own
// environment); the event's JSON is its standard input.
const (
	EnvEvent      = "WDSTREAM_EVENT"       // published or rejected
	EnvModel      = "WDSTREAM_MODEL"       // the model name
	EnvVersion    = "WDSTREAM_VERSION"     // the version (or rejected candidate)
	EnvVersionURL = "WDSTREAM_VERSION_URL" // the version folder or report, without credentials
	EnvVerdict    = "WDSTREAM_VERDICT"     // passed, forced or rejected
	EnvIdemKey    = "WDSTREAM_IDEMPOTENCY_KEY"
)

func newCommand(c spec.Command, retries int) *Hook {
	argv := append([]string(nil), c.Argv...)
	h := &Hook{Kind: "command", Name: argv[0], Retries: retries, Timeout: c.Timeout.D()}
	h.run = func(ctx context.Context, e *Event, body []byte, attempt int) error {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(),
			EnvEvent+"="+e.Kind, EnvModel+"="+e.Model, EnvVersion+"="+e.Version,
			EnvVersionURL+"="+e.URL, EnvVerdict+"="+e.Verdict, EnvIdemKey+"="+e.IdempotencyKey())
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
