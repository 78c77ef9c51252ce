package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/serve"
)

// TestServeOverloadAndNonFiniteScores: the answers that are not scores.
//   - A request whose chunks do not fit the queue, or that runs past its
//     deadline, is answered 503 with Retry-After, and counted; a request
//     that fits is still answered.
//   - A version that passes its dry run but gives some candidate a NaN is
//     answered 500 naming the candidate, before any byte of an answer is
//     written (the JSON encoder would otherwise fail mid-answer), and
//     counted; candidates it scores finitely are answered.
func TestServeOverloadAndNonFiniteScores(t *testing.T) {
	bf := newBackfilled(t)
	imps := readImpressions(t, bf.world+"/impressions/day-002.parquet")
	request := func(n int) serve.Request {
		req := serve.Request{UserID: imps[0].UserID}
		for i := range n {
			req.Candidates = append(req.Candidates, serve.CandidateOf(&imps[i]))
		}
		return req
	}
	overloaded := func(base string) float64 { return metricValue(t, base, "wdstream_serve_overloaded_total") }

	t.Run("QueueFull", func(t *testing.T) {
		bf.publishAs(t, "busy", nil)
		// One worker, room for one chunk: a request cut into 4 chunks
		// cannot be queued whole.
		base, _ := startServe(t, "--store", bf.url, "--model", "busy", "--workers", "1", "--queue", "1", "--split", "4")
		resp := postRequest(t, base+"/v1/models/busy/score", request(8))
		if resp.code != 503 || resp.retryAfter != "1" || !strings.Contains(resp.body, "queue is full") {
			t.Fatalf("8 candidates in 4 chunks, queue 1: %d Retry-After %q %s, want 503 with Retry-After 1 naming the queue", resp.code, resp.retryAfter, resp.body)
		}
		if got := overloaded(base); got != 1 {
			t.Errorf("wdstream_serve_overloaded_total %v, want 1", got)
		}
		// One candidate is one chunk: it fits.
		if r := score(t, base, "busy", request(1), 200); len(r.Scores) != 1 {
			t.Fatalf("one candidate: %+v", r)
		}
	})
	t.Run("Deadline", func(t *testing.T) {
		bf.publishAs(t, "late", nil)
		base, _ := startServe(t, "--store", bf.url, "--model", "late", "--timeout", "1ns")
		resp := postRequest(t, base+"/v1/models/late/score", request(8))
		if resp.code != 503 || resp.retryAfter != "1" || !strings.Contains(resp.body, "deadline") {
			t.Fatalf("--timeout 1ns: %d Retry-After %q %s, want 503 with Retry-After 1 naming the deadline", resp.code, resp.retryAfter, resp.body)
		}
		if got := overloaded(base); got != 1 {
			t.Errorf("wdstream_serve_overloaded_total %v, want 1", got)
		}
	})
	t.Run("NonFinite", func(t *testing.T) {
		// NaN in the embedding of every app the vocabulary knows: the dry
		// run (an app it does not know) passes, a known app gives NaN.
		known := imps[0].AppID
		v := bf.publishAs(t, "nan", func(b *publisher.Bundle) {
			voc := b.State.Vocab("app_id")
			if voc == nil {
				t.Fatal("the spec has no app_id vocabulary")
			}
			poisoned := 0
			for k, d := range b.State.Layout().Deep {
				if d.Name != "app_id" {
					continue
				}
				e := &b.Model.Emb[k]
				for _, tok := range voc.Tokens() {
					id, _ := voc.Lookup(tok)
					if lo := int(id) * e.Dim; lo+e.Dim <= len(e.W) {
						for j := lo; j < lo+e.Dim; j++ {
							e.W[j] = float32(math.NaN())
						}
						poisoned++
					}
				}
			}
			if _, ok := voc.Lookup(known); !ok || poisoned == 0 {
				t.Fatalf("app %q in the vocabulary: %v; %d embedding rows poisoned", known, ok, poisoned)
			}
		})
		base, stderr := startServe(t, "--store", bf.url, "--model", "nan")
		resp := postRequest(t, base+"/v1/models/nan/score", request(3))
		if resp.code != 500 || !strings.Contains(resp.body, "candidates[0]") || !strings.Contains(resp.body, v) ||
			!strings.Contains(resp.body, "not a finite number") {
			t.Fatalf("a NaN score: %d %s, want 500 naming candidates[0] and version %s", resp.code, resp.body, v)
		}
		var e map[string]string
		if err := json.Unmarshal([]byte(resp.body), &e); err != nil || e["error"] == "" {
			t.Fatalf("the 500's body %q is not a JSON error: %v", resp.body, err)
		}
		if got := metricValue(t, base, "wdstream_serve_nonfinite_answers_total"); got != 1 {
			t.Errorf("wdstream_serve_nonfinite_answers_total %v, want 1", got)
		}
		if !strings.Contains(stderr.String(), "a score is not a finite number") {
			t.Errorf("the NaN score is not logged:\n%s", stderr.String())
		}
		// An app the vocabulary does not know is scored finitely.
		r := score(t, base, "nan", serve.Request{UserID: "u", Candidates: []serve.Candidate{{AppID: "no-such-app"}}}, 200)
		if len(r.Scores) != 1 || math.IsNaN(float64(r.Scores[0])) {
			t.Fatalf("an unknown app: %+v", r)
		}
	})
}

// TestServeRetriesAStoreItCannotRead: a version LATEST names whose files
// the store cannot serve for a while (the S3 server answers 503 to their
// reads: an outage, not a bad version) is not refused: the served version
// stays, the load is tried again at each poll, and the new version is
// served once the store answers. The store is a real S3 server, reached
// through a proxy that fails the version's reads on demand.
func TestServeRetriesAStoreItCannotRead(t *testing.T) {
	bf := newBackfilled(t)
	s3 := testenv.PrivateS3(t)
	st, err := publisher.OpenStore(context.Background(), s3.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b, _, err := publisher.Load(context.Background(), bf.st, "ps", "")
	if err != nil {
		t.Fatal(err)
	}
	publish := func() string {
		t.Helper()
		m := &publisher.Manifest{Model: "rt"}
		if err := st.PublishUngated(context.Background(), b, m); err != nil {
			t.Fatal(err)
		}
		return m.Version
	}
	v1 := publish()

	target, err := url.Parse(s3.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	var failing atomic.Bool
	var failed atomic.Int64
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The Host header stays the proxy's: the client signed it.
		if failing.Load() && strings.Contains(r.URL.Path, "/rt/versions/") {
			failed.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>the test's outage</Message></Error>`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	viaProxy := strings.Replace(s3.URL(), s3.Endpoint(), proxy.URL, 1)

	base, stderr := startServe(t, "--store", viaProxy, "--model", "rt", "--poll", "200ms")
	one := serve.Request{UserID: "u", Candidates: []serve.Candidate{{AppID: "a"}}}
	if r := score(t, base, "rt", one, 200); r.Version != v1 {
		t.Fatalf("served %s, want %s", r.Version, v1)
	}
	failing.Store(true)
	v2 := publish()
	waitFor(t, time.Minute, "a failed load of "+v2+" logged twice (retried)", func() bool {
		return strings.Count(stderr.String(), "retrying at the next poll") >= 2 && strings.Contains(stderr.String(), v2)
	}, stderr)
	if r := score(t, base, "rt", one, 200); r.Version != v1 {
		t.Fatalf("during the outage: served %s, want %s", r.Version, v1)
	}
	if got := metricValue(t, base, "wdstream_serve_refused_versions_total"); got != 0 {
		t.Fatalf("wdstream_serve_refused_versions_total %v during an outage, want 0 (a sound version is not refused)", got)
	}
	failing.Store(false)
	servedAfter(t, base, "rt", one, v2, stderr)
	if failed.Load() == 0 {
		t.Fatal("the proxy failed no read")
	}
	if strings.Contains(stderr.String(), "refusing a version") {
		t.Fatalf("a version was refused:\n%s", stderr.String())
	}
}

type answer struct {
	code             int
	body, retryAfter string
}

// postRequest posts req as JSON and returns the answer, whatever its code.
func postRequest(t *testing.T, url string, req serve.Request) answer {
	t.Helper()
	raw, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := testHTTP.Post(url, "application/json", bytes.NewReader(raw))
	retry := ""
	if err == nil {
		retry = resp.Header.Get("Retry-After")
	}
	code, _, b := httpAnswer(t, resp, err)
	return answer{code: code, body: string(b), retryAfter: retry}
}
