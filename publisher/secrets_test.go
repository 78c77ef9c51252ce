package publisher

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/schemas/spec"
)

func errorsIsCorrupt(err error, file string) bool {
	return errors.Is(err, ErrCorrupt) && strings.Contains(err.Error(), file)
}

const marker = "SECRET-MARKER"

// TestSecretsNeverLeak: credentials in the environment, in a store URL
// (user info, query), in input URLs and in a webhook URL never appear in
// an error, a manifest, a report or a log line.
func TestSecretsNeverLeak(t *testing.T) {
	f := getFixture(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIA"+marker)
	t.Setenv("AWS_SECRET_ACCESS_KEY", marker+"-env")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lw := &testenv.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(lw, nil))
	var errs []error

	// An unreachable S3 endpoint, with secrets in the URL.
	bad := "s3://AKIA" + marker + ":" + marker + "-userinfo@bucket?endpoint=http://127.0.0.1:1&use_path_style=true&region=us-east-1"
	s, err := OpenStore(ctx, bad)
	if err != nil {
		errs = append(errs, err)
	} else {
		defer s.Close()
		if strings.Contains(s.String(), marker) {
			t.Errorf("store name %q", s)
		}
		_, err := s.Latest(ctx, "m")
		errs = append(errs, err)
		p, perr := New(s, Options{Gate: fastGate(f), Logger: logger})
		if perr != nil {
			t.Fatal(perr)
		}
		_, err = p.Publish(ctx, f.good, &Manifest{Model: "m"}, f.fresh, PublishOptions{})
		errs = append(errs, err)
		_ = p.Close(ctx)
	}
	_, err = OpenStore(ctx, "bogus://"+marker+"@x?k="+marker)
	errs = append(errs, err)
	_, err = OpenStore(ctx, "s3://u:"+marker+"@bucket?region=us-east-1&unknown="+marker)
	errs = append(errs, err)

	// A webhook URL with a token, against a port nobody listens on.
	hooks, err := NewHooks(spec.Hooks{Webhooks: []spec.Webhook{{URL: "http://127.0.0.1:1/hook?token=" + marker,
		Timeout: spec.Duration(time.Second), Retries: 1}}}, HookConfig{})
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := fileStore(t)
	p := newPublisher(t, fs, Options{Gate: fastGate(f), Hooks: hooks, HookBackoff: time.Millisecond, Logger: logger})
	m := &Manifest{Model: "m", Data: DataInfo{Inputs: []string{"s3://data/day-1/*.parquet?endpoint=http://x&token=" + marker, "/local/file.parquet"}}}
	res, err := p.Publish(ctx, f.good, m, f.fresh, PublishOptions{})
	if err != nil || !res.Published {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}

	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: no error", i)
		} else if strings.Contains(err.Error(), marker) {
			t.Errorf("error leaks a secret: %v", err)
		}
	}
	man, err := fs.Manifest(ctx, "m", res.Version)
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := json.Marshal(man)
	if strings.Contains(string(mb), marker) {
		t.Errorf("manifest leaks a secret: %s", mb)
	}
	if man.Data.Inputs[1] != "/local/file.parquet" || !strings.HasPrefix(man.Data.Inputs[0], "s3://data/day-1/") {
		t.Errorf("inputs %v", man.Data.Inputs)
	}
	if !strings.Contains(lw.String(), "hook failed") {
		t.Errorf("the webhook failure was not logged:\n%s", lw.String())
	}
	if strings.Contains(lw.String(), marker) {
		t.Errorf("logs leak a secret:\n%s", lw.String())
	}
}
