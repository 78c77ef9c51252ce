package serve

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/simulate"
)

// benchImpressions are n impressions of a small simulated world.
func benchImpressions(b *testing.B, n int) []schemas.Impression {
	b.Helper()
	w, err := simulate.NewWorld(simulate.Config{Seed: 3, Users: 500, Apps: 200, Days: 1, ImpressionsPerDay: n, Start: time.Unix(1.7e9, 0)})
	if err != nil {
		b.Fatal(err)
	}
	var imps []schemas.Impression
	if _, err := w.Run(context.Background(), func(ev simulate.Event) error {
		if ev.Impression != nil && len(imps) < n {
			imps = append(imps, *ev.Impression)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return imps
}

// The request path before the model, for 200 candidates: decoding the
// JSON body into examples, and featurizing them (configs/paper.yaml).
func BenchmarkRequest200(b *testing.B) {
	imps := benchImpressions(b, 20000)
	req := Request{UserID: imps[0].UserID}
	for i := range 200 {
		req.Candidates = append(req.Candidates, CandidateOf(&imps[i]))
	}
	body, _ := json.Marshal(req)
	// As a serving fleet asks: the user's columns once.
	user := Request{UserID: imps[0].UserID, Features: map[string]json.RawMessage{}}
	userCols := []string{simulate.ColCountry, simulate.ColLanguage, simulate.ColDevice, simulate.ColAgeBucket, simulate.ColInstalledApps}
	for _, c := range req.Candidates {
		c2 := Candidate{AppID: c.AppID, Features: map[string]json.RawMessage{}}
		for k, v := range c.Features {
			if slices.Contains(userCols, k) {
				user.Features[k] = v
			} else if k != simulate.ColTrueP {
				c2.Features[k] = v
			}
		}
		user.Candidates = append(user.Candidates, c2)
	}
	userBody, _ := json.Marshal(user)
	for _, c := range []struct {
		name string
		body []byte
	}{{"decode/every-column-per-candidate", body}, {"decode/user-columns-once", userBody}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			for b.Loop() {
				if _, err := decodeRequest(c.body, 10000, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	sp, err := spec.Load("../configs/paper.yaml")
	if err != nil {
		b.Fatal(err)
	}
	st, err := featurize.New(sp, featurize.Options{})
	if err != nil {
		b.Fatal(err)
	}
	exs := make([]schemas.Example, len(imps))
	for i := range imps {
		exs[i].Impression = imps[i]
	}
	if err := st.Fit(exs); err != nil {
		b.Fatal(err)
	}
	st.RefreshBoundaries()
	rexs, err := decodeRequest(body, 10000, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("featurize", func(b *testing.B) {
		var bt featurize.Batch
		for b.Loop() {
			if err := st.Transform(&bt, rexs); err != nil {
				b.Fatal(err)
			}
		}
	})
}
