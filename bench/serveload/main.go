// Command serveload sends score requests to `wdstream serve` and reports
// their latency: an open-loop load generator (requests start at a fixed
// rate whether or not earlier ones have answered, so a slow server shows
// as latency, not as a lower rate), bounded by a request count and a time.
// Candidates come from an impressions file (Parquet or JSON lines): each
// request takes --candidates consecutive impressions and is the first
// one's user asking for them, as a serving fleet asks: the user's columns
// (--shared, the simulator's user columns by default) once, from the first
// impression, and each candidate with its app's columns. --drop names
// columns no client sends (the simulator's true_p).
//
// usage: serveload --url http://127.0.0.1:8080/v1/models/ps/score
//
//	--input day.parquet --candidates 200 --rate 20 --requests 400 --duration 30s
//
// It prints one line: rate asked and achieved, answered, errors by status,
// p50, p90, p99 and max latency in ms, and the model versions that
// answered (in the order first seen). SIGINT stops it early, with the
// same line.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/serve"
)

func main() {
	url := flag.String("url", "", "score endpoint (required)")
	input := flag.String("input", "", "impressions: Parquet or JSON lines (required)")
	candidates := flag.Int("candidates", 200, "candidates per request")
	rate := flag.Float64("rate", 10, "requests started per second")
	requests := flag.Int("requests", 200, "requests to send at most")
	duration := flag.Duration("duration", 30*time.Second, "time to send for at most")
	sharedCols := flag.String("shared", "country,language,device,age_bucket,installed_apps", "columns of the user, sent once per request (comma-separated)")
	dropCols := flag.String("drop", "true_p", "columns not sent (comma-separated)")
	flag.Parse()
	shared, drop := strings.Split(*sharedCols, ","), strings.Split(*dropCols, ",")
	if *url == "" || *input == "" {
		log.Fatal("serveload: --url and --input are required")
	}
	// SIGINT or SIGTERM stops sending; the answers still due are awaited
	// and the line printed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	files, err := ingest.Glob(ctx, *input)
	if err != nil {
		log.Fatal(err)
	}
	imps, err := ingest.ReadImpressions(ctx, files)
	if err != nil {
		log.Fatal(err)
	}
	if len(imps) < *candidates {
		log.Fatalf("serveload: %s holds %d impressions, fewer than --candidates %d", *input, len(imps), *candidates)
	}
	var bodies [][]byte
	for lo := 0; lo+*candidates <= len(imps) && len(bodies) < 64; lo += *candidates {
		bodies = append(bodies, body(imps[lo:lo+*candidates], shared, drop))
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}
	var mu sync.Mutex
	var lat []time.Duration
	codes := map[int]int{}
	var versions []string
	var wg sync.WaitGroup
	every := time.Duration(float64(time.Second) / *rate)
	start := time.Now()
	sent := 0
	for next := start; sent < *requests && time.Since(start) < *duration && ctx.Err() == nil; next = next.Add(every) {
		select {
		case <-time.After(time.Until(next)):
		case <-ctx.Done():
			continue
		}
		b := bodies[sent%len(bodies)]
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			resp, err := client.Post(*url, "application/json", bytes.NewReader(b))
			code, version := -1, ""
			if err == nil {
				var ans struct {
					Version string `json:"version"`
				}
				raw, rerr := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				code = resp.StatusCode
				if rerr != nil {
					code = -1
				} else if code == http.StatusOK && json.Unmarshal(raw, &ans) == nil {
					version = ans.Version
				}
			}
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			codes[code]++
			if code == http.StatusOK {
				lat = append(lat, d)
				if version != "" && !slices.Contains(versions, version) {
					versions = append(versions, version)
				}
			}
		}()
	}
	elapsed := time.Since(start)
	wg.Wait()
	slices.Sort(lat)
	q := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / 1e6
	}
	errs := ""
	for c, n := range codes {
		if c != http.StatusOK {
			errs += fmt.Sprintf(" %d:%d", c, n)
		}
	}
	fmt.Printf("rate %.1f/s asked, %.1f/s sent; %d answered 200, errors [%s ]; latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f; versions %d %v\n",
		*rate, float64(sent)/elapsed.Seconds(), len(lat), errs, q(0.5), q(0.9), q(0.99), q(1), len(versions), versions)
}

// body is the score request of one user's view of imps: the first
// impression's user, time and shared columns, every impression a candidate
// with its other columns.
func body(imps []schemas.Impression, shared, drop []string) []byte {
	req := serve.Request{UserID: imps[0].UserID, TS: imps[0].TS, Features: map[string]json.RawMessage{}}
	for k, raw := range serve.CandidateOf(&imps[0]).Features {
		if slices.Contains(shared, k) {
			req.Features[k] = raw
		}
	}
	for i := range imps {
		c := serve.CandidateOf(&imps[i])
		for k := range c.Features {
			if slices.Contains(shared, k) || slices.Contains(drop, k) {
				delete(c.Features, k)
			}
		}
		req.Candidates = append(req.Candidates, c)
	}
	b, err := json.Marshal(req)
	if err != nil {
		log.Fatal(err)
	}
	return b
}
