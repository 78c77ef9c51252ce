package publisher

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wdstream/wdstream/internal/redact"
	"github.com/wdstream/wdstream/schemas/spec"
)

// Webhook request headers.
const (
	// SignatureHeader carries "sha256=" + the hex HMAC-SHA256 of the body
	// keyed with the secret named by the hook's secret_env.
	SignatureHeader = "X-Wdstream-Signature"
	// IdempotencyHeader carries Event.IdempotencyKey, the same on every
	// retry.
	IdempotencyHeader = "Idempotency-Key"
	EventHeader       = "X-Wdstream-Event"
	AttemptHeader     = "X-Wdstream-Attempt"
)

// Sign returns the value of SignatureHeader for body and secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports whether header is body's valid signature under
// secret (in constant time), for receivers written in Go.
func VerifySignature(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(header), []byte(Sign(secret, body)))
}

// webhookTarget resolves a webhook's URL (inline or from url_env) and
// returns it with the hook's name for logs and a scrubber for every text
// that could quote it. The name is the URL without user info and query;
// for a URL from the environment, also without its path (a Slack-style
// URL keeps its token there).
func webhookTarget(w spec.Webhook, getenv func(string) string) (raw, name string, scrub func(string) string, err error) {
	switch {
	case w.URL != "" && w.URLEnv != "":
		return "", "", nil, errors.New("give url or url_env, not both")
	case w.URLEnv != "":
		raw = getenv(w.URLEnv)
		if raw == "" {
			return "", "", nil, fmt.Errorf("url_env %s is not set in the environment", w.URLEnv)
		}
	case w.URL != "":
		raw = w.URL
	default:
		return "", "", nil, errors.New("no url or url_env")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		if w.URLEnv != "" {
			return "", "", nil, fmt.Errorf("url_env %s: %q: want an absolute http or https URL", w.URLEnv, redact.URL(raw))
		}
		return "", "", nil, fmt.Errorf("url %q: want an absolute http or https URL", redact.URL(raw))
	}
	name = redact.URL(raw)
	path := ""
	if w.URLEnv != "" {
		name = u.Scheme + "://" + u.Host + " (url_env " + w.URLEnv + ")"
		path = u.EscapedPath()
	}
	scrub = func(msg string) string {
		msg = redact.Message(msg, raw)
		if len(path) > 1 {
			msg = strings.ReplaceAll(msg, path, "/"+redact.Placeholder)
		}
		return msg
	}
	return raw, name, scrub, nil
}

func newWebhook(w spec.Webhook, cfg HookConfig) (*Hook, error) {
	target, name, scrub, err := webhookTarget(w, cfg.Getenv)
	if err != nil {
		return nil, err
	}
	var secret []byte
	if w.SecretEnv != "" {
		s := cfg.Getenv(w.SecretEnv)
		if s == "" {
			return nil, fmt.Errorf("secret_env %s is not set in the environment", w.SecretEnv)
		}
		secret = []byte(s)
	}
	client := cfg.HTTPClient
	h := &Hook{Kind: "webhook", Name: name, Retries: w.Retries, Timeout: w.Timeout.D()}
	h.run = func(ctx context.Context, e *Event, body []byte, attempt int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return permanentError{fmt.Errorf("POST %s: %s", name, scrub(redactURLError(err)))}
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "wdstream-publisher")
		req.Header.Set(IdempotencyHeader, e.IdempotencyKey())
		req.Header.Set(EventHeader, e.Kind)
		req.Header.Set(AttemptHeader, strconv.Itoa(attempt))
		if secret != nil {
			req.Header.Set(SignatureHeader, Sign(secret, body))
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("POST %s: %s", name, scrub(redactURLError(err)))
		}
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		// The receiver's answer could quote the request's URL.
		err = fmt.Errorf("POST %s: HTTP %d: %q", name, resp.StatusCode, scrub(string(bytes.TrimSpace(snippet))))
		if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
			return permanentError{err}
		}
		return err
	}
	return h, nil
}

// redactURLError drops the URL (which may carry a token) from an
// *url.Error, keeping the operation and the cause.
func redactURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
