package redact

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"s3://AKIA:secret@bucket/prefix?endpoint=http://x&secret_key=s", "s3://bucket/prefix"},
		{"https://hooks.example/x?token=abc#sig=def", "https://hooks.example/x"},
		{"https://u@hooks.example/x?", "https://hooks.example/x"},
		{"file:///data/store", "file:///data/store"},
		{"/local/*.parquet", "/local/*.parquet"},
		{"s3://a:b/c@bucket/%zz", Unparsable},
	} {
		if got := URL(c.in); got != c.want {
			t.Errorf("URL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMessage(t *testing.T) {
	raw := "s3://AKIAUSERNAME:pa%2Fss-word@bucket/x?secret_access_key=SAKVALUE&sig=SIGVALUE&endpoint=" +
		"http%3A%2F%2Fepuser%3Aeppass%40host%3A9000&region=us"
	msg := fmt.Sprintf("open %q: user AKIAUSERNAME pass pa/ss-word pa%%2Fss-word key SAKVALUE sig SIGVALUE at http://epuser:eppass@host:9000 in us", raw)
	got := Message(msg, raw)
	for _, s := range []string{"AKIAUSERNAME", "pa/ss", "pa%2Fss", "SAKVALUE", "SIGVALUE", "epuser", "eppass"} {
		if strings.Contains(got, s) {
			t.Errorf("Message kept %q: %s", s, got)
		}
	}
	if !strings.Contains(got, `"s3://bucket/x"`) || !strings.HasSuffix(got, " in us") {
		t.Errorf("Message(%q) = %q: want the redacted URL, short values kept", msg, got)
	}
	if got := Message("parse s3://a:b/c@x/%zz failed", "s3://a:b/c@x/%zz"); strings.Contains(got, "b/c") {
		t.Errorf("unparsable URL kept: %q", got)
	}
}

func TestError(t *testing.T) {
	if Error(nil, "x") != nil {
		t.Error("Error(nil) != nil")
	}
	raw := "s3://bucket?token=TOKENVALUE"
	err := Error(fmt.Errorf("listing %s: %w", raw, context.Canceled), raw)
	if strings.Contains(err.Error(), "TOKENVALUE") || !errors.Is(err, context.Canceled) {
		t.Errorf("Error = %v (Is Canceled: %v)", err, errors.Is(err, context.Canceled))
	}
	if errors.Unwrap(err) != nil {
		t.Error("a scrubbed error unwraps to the unscrubbed one")
	}
}
