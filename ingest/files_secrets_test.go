package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// secretMark is in every credential the tests below plant in an input URL.
const secretMark = "S3KRIT"

// fakeS3 answers ListObjectsV2 and GetObject like an S3 server that
// refuses, echoing the credentials it was given in its messages (as real S3
// does with the access key id in SignatureDoesNotMatch), so that a test
// sees whether the client's error text carries them on.
func fakeS3(t *testing.T, status int, code string, listable bool, echo ...string) string {
	t.Helper()
	refuse := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>refused for %s</Message><RequestId>r1</RequestId></Error>`,
			code, strings.Join(echo, " "))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("list-type") == "2" && listable {
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix>x/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>x/a.parquet</Key><Size>10</Size><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>"abc"</ETag></Contents></ListBucketResult>`)
			return
		}
		refuse(w)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestFilesErrorsHideURLCredentials: credentials planted in an input URL
// (user info, and query parameters named like credentials) appear in no
// error of Glob and of reading the files: bucket URLs that cannot be
// opened or parsed, missing buckets, unreachable endpoints, unreadable
// objects, including when the server echoes the credentials back.
func TestFilesErrorsHideURLCredentials(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")

	user, pass := "AKIA"+secretMark+"USER", secretMark+"/pass word" // the password needs escaping
	userinfo := url.UserPassword(user, pass).String() + "@"
	s3opts := func(endpoint string) string {
		return "region=us-east-1&use_path_style=true&endpoint=" + url.QueryEscape(endpoint)
	}

	type tc struct {
		name    string
		pattern string
		read    bool // Glob must succeed, and reading fail
		want    string
	}
	var cases []tc
	for _, key := range []string{"secret_access_key", "access_key_id", "session_token", "sig", "signature", "password", "token", "X-Amz-Signature"} {
		cases = append(cases, tc{
			name:    "unknown parameter " + key,
			pattern: "s3://" + userinfo + "bucket/x/*.parquet?region=us-east-1&" + key + "=" + url.QueryEscape(secretMark+"-"+key+"/+="),
			want:    "opening bucket",
		})
	}
	cases = append(cases,
		tc{name: "unknown scheme", pattern: "bogus://" + userinfo + "bucket/x/*.parquet?token=" + secretMark + "tok", want: "opening bucket"},
		tc{name: "unparsable", pattern: "s3://AKIA:" + secretMark + "/x%zz@bucket/x/*.parquet?token=" + secretMark, want: "not a valid URL"},
		tc{name: "unparsable port", pattern: "s3://AKIA:" + secretMark + "/x@bucket/x/*.parquet", want: "not a valid URL"},
		tc{name: "unreachable endpoint", pattern: "s3://" + userinfo + "bucket/x/*.parquet?" + s3opts("http://"+secretMark+"user@127.0.0.1:1"), want: "listing"},
		tc{name: "missing bucket", pattern: "s3://" + userinfo + "bucket/x/*.parquet?" +
			s3opts(fakeS3(t, http.StatusNotFound, "NoSuchBucket", false, user, pass)), want: "listing"},
		tc{name: "listing refused", pattern: "s3://" + userinfo + "bucket/x/*.parquet?" +
			s3opts(fakeS3(t, http.StatusForbidden, "SignatureDoesNotMatch", false, user, pass)), want: "listing"},
		tc{name: "unreadable object", pattern: "s3://" + userinfo + "bucket/x/*.parquet?" +
			s3opts(fakeS3(t, http.StatusForbidden, "AccessDenied", true, user, pass)), read: true, want: "x/a.parquet"},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			f, err := Glob(ctx, c.pattern)
			if c.read {
				if err != nil {
					t.Fatalf("Glob: %v", err)
				}
				defer f.Close()
				if strings.Contains(fmt.Sprint(f.pattern, f.Names()), secretMark) {
					t.Errorf("files %q %v hold a credential", f.pattern, f.Names())
				}
				_, err = ReadExamples(ctx, f)
			} else if err == nil {
				f.Close()
				t.Fatal("Glob: no error")
			}
			if err == nil {
				t.Fatal("no error")
			}
			msg := fmt.Sprintf("%v|%+v|%s", err, err, err)
			if strings.Contains(msg, secretMark) {
				t.Errorf("the error leaks a credential: %s", msg)
			}
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not say %q", msg, c.want)
			}
			if c.read && !strings.Contains(msg, "from s3://bucket:") {
				t.Errorf("error %q does not name the bucket", msg)
			}
			if !c.read && strings.Contains(c.pattern, "bucket/") && c.want != "not a valid URL" && !strings.Contains(msg, "bucket/x/*.parquet") {
				t.Errorf("error %q does not name the pattern", msg)
			}
		})
	}
}

// TestFilesErrorsKeepIs: a scrubbed error still answers errors.Is, so a
// cancelled read is still seen as one.
func TestFilesErrorsKeepIs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Glob(ctx, "s3://"+url.UserPassword("AKIA", secretMark).String()+"@bucket/x/*.parquet?region=us-east-1&endpoint=http%3A%2F%2F127.0.0.1%3A1&use_path_style=true")
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v: want context.Canceled in its chain", err)
	}
	if strings.Contains(err.Error(), secretMark) {
		t.Errorf("the error leaks a credential: %v", err)
	}
}
