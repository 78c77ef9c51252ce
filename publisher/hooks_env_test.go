package publisher

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/redact"
	"github.com/wdstream/wdstream/schemas/spec"
)

const tokenMark = "HOOKTOKEN"

// echoServer records the request URIs it gets and answers each with
// status and a body quoting the request's URI, as some receivers do.
func echoServer(t *testing.T, status int) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		got = append(got, r.RequestURI)
		mu.Unlock()
		w.WriteHeader(status)
		fmt.Fprintf(w, "no such hook %s (user %s)", r.RequestURI, r.Header.Get("Authorization"))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }
}

func runHook(t *testing.T, h *Hook) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev := &Event{Kind: EventPublished, Model: "m", Version: "v1", URL: "file:///s/m/versions/v1/"}
	return h.run(ctx, ev, []byte(`{}`), 1)
}

// TestWebhookURLFromEnv: a webhook's url_env is read when the hooks are
// built and the calls go to that URL (path and query included), while the
// hook's name and its errors show neither the token in its path nor the
// one in its query; an unset or empty variable, or url with url_env, is an
// error naming the key and the variable.
func TestWebhookURLFromEnv(t *testing.T) {
	srv, got := echoServer(t, http.StatusInternalServerError)
	target := srv.URL + "/services/" + tokenMark + "path?token=" + tokenMark + "query"
	t.Setenv("WDSTREAM_TEST_HOOK_URL", target)
	hooks, err := NewHooks(spec.Hooks{Webhooks: []spec.Webhook{{URLEnv: "WDSTREAM_TEST_HOOK_URL",
		Timeout: spec.Duration(5 * time.Second)}}}, HookConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = closeHooks(hooks) }()
	h := hooks[0]
	if strings.Contains(h.Name, tokenMark) || !strings.Contains(h.Name, "WDSTREAM_TEST_HOOK_URL") {
		t.Errorf("hook name %q: want the variable's name and no token", h.Name)
	}
	err = runHook(t, h)
	if err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("run: %v, want the HTTP 500", err)
	}
	if strings.Contains(err.Error(), tokenMark) {
		t.Errorf("error leaks the URL's token: %v", err)
	}
	if g := got(); len(g) != 1 || g[0] != strings.TrimPrefix(target, srv.URL) {
		t.Errorf("requests %q, want one to %s", g, target)
	}

	for _, c := range []struct {
		name string
		w    spec.Webhook
		want string
	}{
		{"unset", spec.Webhook{URLEnv: "WDSTREAM_TEST_HOOK_URL_UNSET"}, "hooks.webhooks[0]: url_env WDSTREAM_TEST_HOOK_URL_UNSET is not set"},
		{"empty", spec.Webhook{URLEnv: "WDSTREAM_TEST_HOOK_URL_EMPTY"}, "hooks.webhooks[0]: url_env WDSTREAM_TEST_HOOK_URL_EMPTY is not set"},
		{"not http", spec.Webhook{URLEnv: "WDSTREAM_TEST_HOOK_URL_FTP"}, "hooks.webhooks[0]: url_env WDSTREAM_TEST_HOOK_URL_FTP: \"ftp://x.example/h\": want an absolute http"},
		{"both", spec.Webhook{URL: srv.URL, URLEnv: "WDSTREAM_TEST_HOOK_URL"}, "hooks.webhooks[0]: give url or url_env, not both"},
		{"neither", spec.Webhook{}, "hooks.webhooks[0]: no url or url_env"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("WDSTREAM_TEST_HOOK_URL_EMPTY", "")
			t.Setenv("WDSTREAM_TEST_HOOK_URL_FTP", "ftp://u:"+tokenMark+"@x.example/h?token="+tokenMark)
			c.w.Timeout = spec.Duration(time.Second)
			_, err := NewHooks(spec.Hooks{Webhooks: []spec.Webhook{c.w}}, HookConfig{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("NewHooks: %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), tokenMark) {
				t.Errorf("error leaks the URL's token: %v", err)
			}
		})
	}
}

// TestWebhookInlineURLScrubbed: an inline url with user info and a token
// in its query still works, and neither the hook's name nor its errors
// (the receiver's answer quoting the URL included) show them.
func TestWebhookInlineURLScrubbed(t *testing.T) {
	srv, got := echoServer(t, http.StatusNotFound)
	inline := strings.Replace(srv.URL, "http://", "http://hookuser:"+tokenMark+"pass@", 1) + "/hook?sig=" + tokenMark + "sig&x=1"
	hooks, err := NewHooks(spec.Hooks{Webhooks: []spec.Webhook{{URL: inline, Timeout: spec.Duration(5 * time.Second)}}}, HookConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = closeHooks(hooks) }()
	err = runHook(t, hooks[0])
	if err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("run: %v, want the HTTP 404", err)
	}
	if g := got(); len(g) != 1 || g[0] != "/hook?sig="+tokenMark+"sig&x=1" {
		t.Errorf("requests %q", g)
	}
	for what, s := range map[string]string{"name": hooks[0].Name, "error": err.Error()} {
		if strings.Contains(s, tokenMark) || strings.Contains(s, "hookuser") {
			t.Errorf("%s leaks the URL's credentials: %s", what, s)
		}
	}
	if hooks[0].Name != redact.URL(inline) {
		t.Errorf("name %q, want %q", hooks[0].Name, redact.URL(inline))
	}
}

// TestCommandHookEnvAllowlist: a command hook gets the CommandEnv
// allowlist, its spec's env names and the WDSTREAM_* event variables, and
// not the rest of the publisher's environment: cloud credentials and
// webhook secrets stay out.
func TestCommandHookEnvAllowlist(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-"+tokenMark)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIA"+tokenMark)
	t.Setenv("WDSTREAM_TEST_HOOK_SECRET", "hmac-"+tokenMark)
	t.Setenv("WDSTREAM_TEST_HOOK_URL", "https://hooks.example/"+tokenMark)
	t.Setenv("WDSTREAM_TEST_PASSED", "passed-through")
	t.Setenv("TZ", "UTC")
	out := filepath.Join(t.TempDir(), "env")
	// sh is the program here, not a wrapper the hook adds: argv runs as is.
	hooks, err := NewHooks(spec.Hooks{Commands: []spec.Command{{
		Argv: []string{sh, "-c", `env > "$0"`, out}, Env: []string{"WDSTREAM_TEST_PASSED", "WDSTREAM_TEST_UNSET"},
		Timeout: spec.Duration(10 * time.Second)}}}, HookConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := runHook(t, hooks[0]); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	if strings.Contains(string(raw), tokenMark) {
		t.Errorf("the command saw a secret:\n%s", raw)
	}
	for _, name := range []string{"AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "WDSTREAM_TEST_HOOK_SECRET", "WDSTREAM_TEST_HOOK_URL", "WDSTREAM_TEST_UNSET"} {
		if _, ok := env[name]; ok {
			t.Errorf("the command got %s", name)
		}
	}
	for name, want := range map[string]string{
		"PATH": os.Getenv("PATH"), "TZ": "UTC", "WDSTREAM_TEST_PASSED": "passed-through",
		EnvEvent: EventPublished, EnvModel: "m", EnvVersion: "v1", EnvVersionURL: "file:///s/m/versions/v1/",
		EnvIdemKey: "m@v1/published",
	} {
		if env[name] != want {
			t.Errorf("the command's %s = %q, want %q", name, env[name], want)
		}
	}
	if _, ok := env[EnvVerdict]; !ok {
		t.Errorf("the command lacks %s", EnvVerdict)
	}
}
