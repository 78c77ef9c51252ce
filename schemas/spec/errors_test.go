package spec

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// specErrors returns the *Error values joined in err.
func specErrors(t *testing.T, err error) []*Error {
	t.Helper()
	if err == nil {
		return nil
	}
	var out []*Error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var se *Error
		if !errors.As(e, &se) {
			t.Fatalf("error %q is not a *spec.Error", e)
		}
		out = append(out, se)
	}
	walk(err)
	return out
}

// base is a minimal valid spec; cases append to it or replace it.
const base = `version: 1
features:
  - name: app_id
    type: categorical
    wide: true
`

type wantErr struct {
	line int
	path string
	msg  string
}

func TestParseErrors(t *testing.T) {
	const file = "configs/x.yaml"
	tests := []struct {
		name string
		yaml string
		want []wantErr
	}{
		// Unknown keys, at any depth.
		{"unknown top key", base + "modle:\n  mode: deep\n", []wantErr{{6, "modle", `unknown key; did you mean "model"?`}}},
		{"unknown feature key", base + "    embeding_dim: 4\n", []wantErr{{6, "features[0].embeding_dim", `did you mean "embedding_dim"?`}}},
		{"unknown nested key", base + "model:\n  ftrl:\n    alpah: 0.1\n", []wantErr{{8, "model.ftrl.alpah", `did you mean "alpha"?`}}},
		{"unknown key no suggestion", base + "zzzzzzzz: 1\n", []wantErr{{6, "zzzzzzzz", "known keys: crosses, features, hooks"}}},
		{"unknown hook key", base + "hooks:\n  webhooks:\n    - urll: http://x\n", []wantErr{{8, "hooks.webhooks[0].urll", `did you mean "url"?`}}},
		{"non-string key", base + "1: x\n", []wantErr{{6, "1", "keys must be plain names, got integer 1"}}},
		{"merge key", base + "model:\n  <<: {mode: deep}\n", []wantErr{{7, "model", "merge keys"}}},
		{"duplicate key", base + "    wide: false\n", []wantErr{{6, "features[0].wide", "duplicate key (first at line 5)"}}},
		{"duplicate top key", base + "version: 1\n", []wantErr{{6, "version", "duplicate key (first at line 1)"}}},

		// Wrong types.
		{"string for int", base + `    embedding_dim: "8"` + "\n", []wantErr{{6, "features[0].embedding_dim", `must be an integer, got string "8"`}}},
		{"float for int", base + "model:\n  batch_size: 2.5\n", []wantErr{{7, "model.batch_size", "must be an integer, got number 2.5"}}},
		{"string for bool", base + "    deep: yes\n", []wantErr{{6, "features[0].deep", `must be true or false, got string "yes"`}}},
		{"string for float", base + "model:\n  ftrl:\n    alpha: fast\n", []wantErr{{8, "model.ftrl.alpha", `must be a number, got string "fast"`}}},
		{"list for map", base + "join: [1, 2]\n", []wantErr{{6, "join", "must be a mapping (key: value lines), got a list"}}},
		{"map for list", base + "model:\n  hidden: {a: 1}\n", []wantErr{{7, "model.hidden", "must be a list, got a mapping"}}},
		{"scalar for list", "version: 1\nfeatures: app_id\n", []wantErr{{2, "features", `must be a list, got string "app_id"`}}},
		{"map for string", base + "name: {a: b}\n", []wantErr{{6, "name", "must be a string, got a mapping"}}},
		{"scalar for feature", "version: 1\nfeatures:\n  - app_id\n", []wantErr{{3, "features[0]", "must be a mapping"}}},
		{"null scalar", base + "    embedding_dim:\n", []wantErr{{6, "features[0].embedding_dim", "has no value: must be an integer"}}},
		{"nan", base + "validation:\n  min_auc: .nan\n", []wantErr{{7, "validation.min_auc", "must be a finite number"}}},
		{"int overflow", base + "model:\n  seed: 99999999999999999999\n", []wantErr{{7, "model.seed", "must be an"}}},

		// Impossible values of features.
		{"embedding_dim 0", base + "    embedding_dim: 0\n", []wantErr{{6, "features[0].embedding_dim", "must be > 0, got 0"}}},
		{"min_count 0", base + "    min_count: 0\n", []wantErr{{6, "features[0].min_count", "must be >= 1, got 0"}}},
		{"negative oov", base + "    oov_buckets: -1\n", []wantErr{{6, "features[0].oov_buckets", "must be >= 0, got -1"}}},
		{"quantiles 1", base + "  - name: price\n    type: numeric\n    quantiles: 1\n", []wantErr{{8, "features[1].quantiles", "must be >= 2, got 1"}}},
		{"missing out of range", base + "  - name: price\n    type: numeric\n    missing: 1.5\n", []wantErr{{8, "features[1].missing", "must be in [0,1], got 1.5"}}},
		{"quantiles on categorical", base + "    quantiles: 10\n", []wantErr{{6, "features[0].quantiles", "applies only to numeric features"}}},
		{"embedding on numeric", base + "  - name: price\n    type: numeric\n    embedding_dim: 4\n", []wantErr{{8, "features[1].embedding_dim", "applies only to categorical features"}}},
		{"combiner on categorical", base + "    combiner: sum\n", []wantErr{{6, "features[0].combiner", "applies only to categorical_list features"}}},
		{"unknown combiner", base + "  - name: apps\n    type: categorical_list\n    combiner: avg\n", []wantErr{{8, "features[1].combiner", `unknown combiner "avg": want one of mean, sum, sqrtn`}}},
		{"unknown type", base + "  - name: apps\n    type: categorial\n", []wantErr{{7, "features[1].type", `unknown feature type "categorial": want one of categorical, categorical_list, numeric; did you mean "categorical"?`}}},
		{"missing type", base + "  - name: apps\n", []wantErr{{6, "features[1].type", "required"}}},
		{"missing name", base + "  - type: numeric\n", []wantErr{{6, "features[1].name", "required"}}},
		{"empty name", base + "  - name: ''\n    type: numeric\n", []wantErr{{6, "features[1].name", "must not be empty"}}},
		{"label as feature", base + "  - name: label\n    type: numeric\n", []wantErr{{6, "features[1].name", "it is the label"}}},
		{"duplicate feature", base + "  - name: app_id\n    type: categorical\n", []wantErr{{6, "features[1].name", `duplicate feature "app_id" (first at line 3)`}}},
		{"neither wide nor deep", base + "  - name: country\n    type: categorical\n    deep: false\n", []wantErr{{6, "features[1]", "used by neither part"}}},
		{"no features", "version: 1\nfeatures: []\n", []wantErr{{2, "features", "at least one feature"}}},

		// Crosses.
		{"cross unknown column", base + "crosses:\n  - columns: [app_id, instaled_apps]\n", []wantErr{{7, "crosses[0].columns[1]", `unknown feature "instaled_apps"`}}},
		{"cross numeric column", base + "  - name: price\n    type: numeric\ncrosses:\n  - columns: [app_id, price]\n", []wantErr{{9, "crosses[0].columns[1]", `feature "price" is numeric`}}},
		{"cross one column", base + "crosses:\n  - columns: [app_id]\n", []wantErr{{7, "crosses[0].columns", "at least 2 columns, got 1"}}},
		{"cross no columns", base + "crosses:\n  - name: c\n", []wantErr{{7, "crosses[0].columns", "required"}}},
		{"cross repeated column", base + "crosses:\n  - columns: [app_id, app_id]\n", []wantErr{{7, "crosses[0].columns[1]", "appears twice"}}},
		{"duplicate cross", base + "  - name: c\n    type: categorical\ncrosses:\n  - columns: [app_id, c]\n  - name: app_id_x_c\n    columns: [c, app_id]\n", []wantErr{{10, "crosses[1].name", `duplicate cross "app_id_x_c" (first at line 9)`}}},
		{"cross named as feature", base + "  - name: c\n    type: categorical\ncrosses:\n  - name: c\n    columns: [app_id, c]\n", []wantErr{{9, "crosses[0].name", "also a feature name"}}},
		{"cross hash buckets", base + "  - name: c\n    type: categorical\ncrosses:\n  - columns: [app_id, c]\n    hash_buckets: 0\n", []wantErr{{10, "crosses[0].hash_buckets", "must be > 0, got 0"}}},

		// Mode.
		{"unknown mode", base + "model:\n  mode: wideanddeep\n", []wantErr{{7, "model.mode", `unknown mode "wideanddeep"`}}},
		{"wide without wide input", "version: 1\nfeatures:\n  - name: a\n    type: categorical\nmodel:\n  mode: wide\n", []wantErr{{6, "model.mode", "mode wide needs a wide input"}}},
		{"wide_deep without wide input", "version: 1\nfeatures:\n  - name: a\n    type: categorical\n", []wantErr{{1, "model.mode", "mode wide_deep needs a wide input"}}},
		{"deep without deep input", "version: 1\nfeatures:\n  - name: a\n    type: categorical\n    wide: true\n    deep: false\nmodel:\n  mode: deep\n", []wantErr{{8, "model.mode", "mode deep needs a deep input"}}},

		// Durations, model, validation, publish.
		{"negative duration", base + "join:\n  label_window: -5m\n", []wantErr{{7, "join.label_window", "must be > 0, got -5m"}}},
		{"unparsable duration", base + "join:\n  label_window: 30\n", []wantErr{{7, "join.label_window", `invalid duration "30"`}}},
		{"bad unit", base + "join:\n  idle_advance: 1 minute\n", []wantErr{{7, "join.idle_advance", "invalid duration"}}},
		{"zero max_pending", base + "join:\n  max_pending: 0\n", []wantErr{{7, "join.max_pending", "must be > 0"}}},
		{"hidden layer 0", base + "model:\n  hidden: [64, 0]\n", []wantErr{{7, "model.hidden[1]", "must be > 0, got 0"}}},
		{"hidden empty", base + "model:\n  hidden: []\n", []wantErr{{7, "model.hidden", "at least one hidden layer"}}},
		{"zero alpha", base + "model:\n  ftrl:\n    alpha: 0\n", []wantErr{{8, "model.ftrl.alpha", "must be > 0, got 0"}}},
		{"negative l1", base + "model:\n  ftrl:\n    l1: -0.1\n", []wantErr{{8, "model.ftrl.l1", "must be >= 0, got -0.1"}}},
		{"calibration reversed", base + "validation:\n  calibration: [2, 1]\n", []wantErr{{7, "validation.calibration", "0 <= lo < hi, got [2, 1]"}}},
		{"calibration one number", base + "validation:\n  calibration: [1]\n", []wantErr{{7, "validation.calibration", "two numbers, got [1]"}}},
		{"min_auc above 1", base + "validation:\n  min_auc: 1.5\n", []wantErr{{7, "validation.min_auc", "must be in [0,1], got 1.5"}}},
		{"auc drop negative", base + "validation:\n  max_auc_drop: -0.1\n", []wantErr{{7, "validation.max_auc_drop", "must be in [0,1]"}}},
		{"no publish trigger", base + "publish:\n  every: 0s\n", []wantErr{{6, "publish", "no publish trigger"}}},
		{"retain 0", base + "publish:\n  retain: 0\n", []wantErr{{7, "publish.retain", "must be >= 1, got 0"}}},

		// Hooks.
		{"webhook not http", base + "hooks:\n  webhooks:\n    - url: ftp://example.com/x\n", []wantErr{{8, "hooks.webhooks[0].url", "must be an absolute http:// or https:// URL"}}},
		{"webhook no host", base + "hooks:\n  webhooks:\n    - url: http:///x\n", []wantErr{{8, "hooks.webhooks[0].url", "absolute"}}},
		{"webhook no url", base + "hooks:\n  webhooks:\n    - retries: 1\n", []wantErr{{8, "hooks.webhooks[0].url", "required"}}},
		{"webhook bad env", base + "hooks:\n  webhooks:\n    - url: https://x.example\n      secret_env: MY-SECRET\n", []wantErr{{9, "hooks.webhooks[0].secret_env", "environment variable"}}},
		{"empty argv", base + "hooks:\n  commands:\n    - argv: []\n", []wantErr{{8, "hooks.commands[0].argv", "required"}}},
		{"empty program", base + "hooks:\n  commands:\n    - argv: ['', x]\n", []wantErr{{8, "hooks.commands[0].argv[0]", "must not be empty"}}},
		{"bad topic", base + "hooks:\n  kafka:\n    - topic: 'model events'\n", []wantErr{{8, "hooks.kafka[0].topic", "Kafka topic name"}}},

		// The document.
		{"missing version", "features:\n  - name: a\n    type: categorical\n    wide: true\n", []wantErr{{1, "version", "required"}}},
		{"version 2", "version: 2\nfeatures:\n  - name: a\n    type: categorical\n    wide: true\n", []wantErr{{1, "version", "unsupported version 2"}}},
		{"two documents", base + "---\nversion: 1\n", []wantErr{{7, "", "a second YAML document starts here"}}},
		{"document not a mapping", "- a\n- b\n", []wantErr{{1, "", "a spec is a mapping of keys"}}},
		{"syntax error", base + "model: [\n", []wantErr{{6, "", "invalid YAML"}}},
		{"tab indentation", "version: 1\nfeatures:\n\t- name: a\n", []wantErr{{3, "", "invalid YAML"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(file, []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded with %+v, want errors %+v", s, tt.want)
			}
			got := specErrors(t, err)
			for _, w := range tt.want {
				if !hasError(got, file, w) {
					t.Errorf("missing error %s:%d: %s: ...%s...\ngot:\n%v", file, w.line, w.path, w.msg, err)
				}
			}
		})
	}
}

// hasError reports whether errs holds w, checking both the fields and the
// formatted message that users read.
func hasError(errs []*Error, file string, w wantErr) bool {
	for _, e := range errs {
		if e.File != file || e.Line != w.line || e.Path != w.path || !strings.Contains(e.Msg, w.msg) {
			continue
		}
		prefix := fmt.Sprintf("%s:%d:", file, w.line)
		s := e.Error()
		if strings.HasPrefix(s, prefix) && strings.Contains(s, w.path+": ") {
			return true
		}
	}
	return false
}

func TestParseEmpty(t *testing.T) {
	for _, data := range []string{"", "\n\n", "# only a comment\n", "---\n", "~\n"} {
		t.Run(fmt.Sprintf("%q", data), func(t *testing.T) {
			_, err := Parse("empty.yaml", []byte(data))
			if err == nil || !strings.HasPrefix(err.Error(), "empty.yaml") || !strings.Contains(err.Error(), "empty") {
				t.Fatalf("got %v, want an empty-file error naming empty.yaml", err)
			}
		})
	}
}

func TestParseCollectsAllErrors(t *testing.T) {
	data := base + "    embedding_dim: 0\nmodel:\n  hidden: [0]\n  batch_size: -1\nfoo: 1\n"
	_, err := Parse("x.yaml", []byte(data))
	got := specErrors(t, err)
	if len(got) != 4 {
		t.Fatalf("got %d errors, want 4:\n%v", len(got), err)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Line < got[i-1].Line {
			t.Errorf("errors not in line order: %v", err)
		}
	}
}

func TestParseErrorLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString(base)
	for i := range 40 {
		fmt.Fprintf(&b, "unknown%d: 1\n", i)
	}
	_, err := Parse("x.yaml", []byte(b.String()))
	got := specErrors(t, err)
	if len(got) != maxErrors+1 {
		t.Fatalf("got %d errors, want %d plus a count", len(got), maxErrors)
	}
	if last := got[len(got)-1]; !strings.Contains(last.Msg, "15 more not shown") {
		t.Errorf("last error %q, want a count of 15 more", last)
	}
}

// A field that failed to decode is not checked again: one mistake, one error.
func TestParseNoCascade(t *testing.T) {
	data := "version: 1\nfeatures:\n  - name: a\n    type: categorical\n    wide: true\n    embedding_dim: eight\njoin: 5\n"
	_, err := Parse("x.yaml", []byte(data))
	got := specErrors(t, err)
	if len(got) != 2 {
		t.Fatalf("got %d errors, want 2 (embedding_dim and join):\n%v", len(got), err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	if err == nil || !strings.Contains(err.Error(), "testdata/does-not-exist.yaml") {
		t.Fatalf("got %v, want an error naming the file", err)
	}
}

func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString(base + "hooks:\n  commands:\n")
	b.WriteString("    - &c {argv: [a, b, c, d, e, f, g, h, i, j]}\n")
	for range 12000 {
		b.WriteString("    - *c\n")
	}
	_, err := Parse("x.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "document too large") {
		t.Fatalf("got %v, want a too-large error", err)
	}
}

func TestErrorClipsLongText(t *testing.T) {
	long := strings.Repeat("é", 5000)
	_, err := Parse("x.yaml", []byte(base+"crosses:\n  - columns: [app_id, '"+long+"']\n"))
	got := specErrors(t, err)
	if len(got) != 1 || len(got[0].Msg) > 404 || !strings.HasSuffix(got[0].Msg, "...") {
		t.Fatalf("got %d errors, message of %d bytes; want one clipped message", len(got), len(got[0].Msg))
	}
}
