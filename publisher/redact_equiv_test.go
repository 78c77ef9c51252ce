package publisher

import (
	"testing"

	"github.com/wdstream/wdstream/internal/redact"
)

// TestRedactMatchesInternalRedact: publisher.Redact (store URLs) and
// internal/redact.URL (inputs, webhooks, the spec) print a URL alike, so
// that store.go can later delegate to the shared package unchanged (they
// differ only on fragments, which redact.URL also drops).
func TestRedactMatchesInternalRedact(t *testing.T) {
	for _, raw := range []string{
		"s3://AKIA:secret@bucket/prefix?endpoint=http://x&secret_key=s",
		"s3://bucket?region=us-east-1",
		"file:///data/store?create_dir=true",
		"https://u@hooks.example/x?token=t",
		"/local/path",
		"s3://a:b/c@bucket/%zz",
	} {
		if a, b := Redact(raw), redact.URL(raw); a != b {
			t.Errorf("%q: publisher.Redact %q, redact.URL %q", raw, a, b)
		}
	}
}
