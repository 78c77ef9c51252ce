package spec

import (
	"reflect"
	"strings"
	"testing"
)

// TestWebhookURLEnv: a webhook gives url or url_env, exactly one; the
// marshaled spec (the spec.yaml stored with each version) keeps url_env's
// name, and an invalid inline url is reported without its token.
func TestWebhookURLEnv(t *testing.T) {
	s, err := Parse("x.yaml", []byte(base+"hooks:\n  webhooks:\n    - url_env: WDSTREAM_HOOK_URL\n      secret_env: HOOK_KEY\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := s.Hooks.Webhooks[0]; w.URLEnv != "WDSTREAM_HOOK_URL" || w.URL != "" {
		t.Fatalf("webhook %+v", w)
	}
	out, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "url_env: WDSTREAM_HOOK_URL") || strings.Contains(string(out), "url: ") {
		t.Errorf("marshaled hooks:\n%s", out[strings.Index(string(out), "hooks:"):])
	}
	back, err := Parse("spec.yaml", out)
	if err != nil {
		t.Fatalf("the marshaled spec does not parse: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back.Hooks, s.Hooks) {
		t.Errorf("round trip: %+v, want %+v", back.Hooks, s.Hooks)
	}

	for _, c := range []struct{ name, hooks, path, msg string }{
		{"both", "    - url: https://x.example\n      url_env: HOOK_URL\n", "hooks.webhooks[0].url_env", "not both"},
		{"neither", "    - retries: 1\n", "hooks.webhooks[0].url", "url_env"},
		{"bad name", "    - url_env: HOOK-URL\n", "hooks.webhooks[0].url_env", "environment variable"},
		{"bad url with token", "    - url: ftp://u:TOKEN1234@x.example/h?token=TOKEN1234\n", "hooks.webhooks[0].url", "absolute"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(base+"hooks:\n  webhooks:\n"+c.hooks))
			errs := specErrors(t, err)
			if len(errs) != 1 || errs[0].Path != c.path || !strings.Contains(errs[0].Error(), c.msg) {
				t.Fatalf("errors %v: want one at %s saying %q", err, c.path, c.msg)
			}
			if strings.Contains(err.Error(), "TOKEN1234") {
				t.Errorf("the error leaks the URL's token: %v", err)
			}
		})
	}
}

// TestCommandEnv: a command's env lists variable names, kept by a round
// trip through the canonical YAML.
func TestCommandEnv(t *testing.T) {
	s, err := Parse("x.yaml", []byte(base+"hooks:\n  commands:\n    - argv: [notify]\n      env: [SLACK_TOKEN, KUBECONFIG]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Hooks.Commands[0].Env; !reflect.DeepEqual(got, []string{"SLACK_TOKEN", "KUBECONFIG"}) {
		t.Fatalf("env %v", got)
	}
	out, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("spec.yaml", out)
	if err != nil || !reflect.DeepEqual(back.Hooks, s.Hooks) {
		t.Fatalf("round trip: %v %+v, want %+v", err, back, s.Hooks)
	}
	_, err = Parse("x.yaml", []byte(base+"hooks:\n  commands:\n    - argv: [notify]\n      env: [OK, BAD-NAME]\n"))
	if errs := specErrors(t, err); len(errs) != 1 || errs[0].Path != "hooks.commands[0].env[1]" {
		t.Fatalf("errors %v: want one at hooks.commands[0].env[1]", err)
	}
}
