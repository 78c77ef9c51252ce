package testenv

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Names of the environment variables of the contract (see the package doc).
const (
	EnvKafkaBrokers      = "WDSTREAM_KAFKA_BROKERS"
	EnvKafkaSASLBrokers  = "WDSTREAM_KAFKA_SASL_BROKERS"
	EnvKafkaSASLUser     = "WDSTREAM_KAFKA_SASL_USER"
	EnvKafkaSASLPassword = "WDSTREAM_KAFKA_SASL_PASSWORD"
	EnvS3URL             = "WDSTREAM_S3_URL"
	EnvKcat              = "WDSTREAM_KCAT"
	EnvPython            = "WDSTREAM_PYTHON"
	EnvCI                = "CI"
)

// InCI reports whether the tests run in CI, where a missing real service
// fails a test instead of skipping it.
func InCI() bool { return isCI(os.Getenv(EnvCI)) }

func isCI(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no":
		return false
	}
	return true
}

// missing skips tb because the variable env is not set, or fails it in CI.
func missing(tb testing.TB, what, env string) {
	tb.Helper()
	if msg, fail := missingMessage(what, env, InCI()); fail {
		tb.Fatal(msg)
	} else {
		tb.Skip(msg)
	}
}

// missingMessage says why a test cannot have what, and whether that is a
// failure (in CI) rather than a skip.
func missingMessage(what, env string, ci bool) (msg string, fail bool) {
	if ci {
		return fmt.Sprintf("testenv: %s is required in CI but %s is not set: run the tests through scripts/test.sh", what, env), true
	}
	return fmt.Sprintf("testenv: no %s: %s is not set (scripts/test.sh or scripts/services.sh sets it; see README.md, Tests)", what, env), false
}

// splitList splits a comma-separated list, trimming blanks and dropping
// empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// S3Bucket returns the gocloud.dev URL of the real S3-compatible bucket
// (WDSTREAM_S3_URL), skipping or failing tb as the package doc says when it
// is not set. For an s3:// URL it also requires AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY. Tests share the bucket: keep each test's objects
// under a prefix of its own, e.g. UniqueName(tb, "blob") + "/".
func S3Bucket(tb testing.TB) string {
	tb.Helper()
	raw := os.Getenv(EnvS3URL)
	if raw == "" {
		missing(tb, "S3 bucket", EnvS3URL)
	}
	if err := checkBucketURL(raw, os.Getenv); err != nil {
		tb.Fatalf("testenv: %s: %v", EnvS3URL, err)
	}
	return raw
}

func checkBucketURL(raw string, getenv func(string) string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme == "" || (u.Host == "" && u.Path == "") || (u.Scheme == "s3" && u.Host == "") {
		return fmt.Errorf("%q is not a bucket URL like s3://BUCKET?endpoint=URL", raw)
	}
	if u.Scheme == "s3" {
		var unset []string
		for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
			if getenv(v) == "" {
				unset = append(unset, v)
			}
		}
		if len(unset) > 0 {
			return fmt.Errorf("%s is set but %s not: the S3 server needs credentials", raw, strings.Join(unset, " and "))
		}
	}
	return nil
}

// Kcat returns the path of kcat: WDSTREAM_KCAT, else kcat on PATH. It skips
// or fails tb as the package doc says when there is neither.
func Kcat(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv(EnvKcat); p != "" {
		if err := checkExecutable(p); err != nil {
			tb.Fatalf("testenv: %s: %v", EnvKcat, err)
		}
		return p
	}
	p, err := exec.LookPath("kcat")
	if err != nil {
		missing(tb, "kcat (not on PATH either)", EnvKcat)
	}
	return p
}

// Python returns the interpreter named by WDSTREAM_PYTHON, which imports
// numpy, pyarrow and safetensors. It skips or fails tb as the package doc
// says when the variable is not set.
func Python(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv(EnvPython)
	if p == "" {
		missing(tb, "Python with numpy, pyarrow and safetensors", EnvPython)
	}
	if err := checkExecutable(p); err != nil {
		tb.Fatalf("testenv: %s: %v", EnvPython, err)
	}
	return p
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return errors.New(path + " is not an executable file")
	}
	return nil
}
