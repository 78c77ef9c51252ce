package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/serve"
	"github.com/wdstream/wdstream/simulate"
)

// rankingArm is an arm that ranks by a fixed rule and records what it
// served and the installs it was given.
type rankingArm struct {
	name    string
	reverse bool
	mu      sync.Mutex
	served  map[string]bool
	got     []schemas.Install
}

func (a *rankingArm) arm() Arm {
	return Arm{Name: a.name, Score: a.score, Installs: func(_ context.Context, ins []schemas.Install) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.got = append(a.got, ins...)
		return nil
	}}
}

func (a *rankingArm) score(_ context.Context, req *serve.Request) (*serve.Response, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	resp := &serve.Response{Model: a.name, Version: "v1"}
	for i := range req.Candidates {
		r := i
		if a.reverse {
			r = len(req.Candidates) - 1 - i
		}
		resp.Ranking = append(resp.Ranking, r)
		id := fmt.Sprintf("%s-%d-%d", a.name, req.TS, i)
		resp.ImpressionIDs = append(resp.ImpressionIDs, id)
		a.served[id] = true
	}
	return resp, nil
}

func newLive(t *testing.T) *simulate.Live {
	t.Helper()
	w, err := simulate.NewWorld(simulate.Config{Seed: 5, Users: 3000, Apps: 300, Days: 3, ImpressionsPerDay: 2000})
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := w.RunLive(context.Background(), 1, func(simulate.Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestRunArms: requests go to their user's arm; each arm is shown its top
// Shown; the installs it gets carry ids it served, in event-time order; at
// the horizon the treatment has a verdict; the page renders the arms and
// the verdict, and its JSON the report.
func TestRunArms(t *testing.T) {
	a := &rankingArm{name: "control", served: map[string]bool{}}
	b := &rankingArm{name: "treatment", served: map[string]bool{}}
	const requests = 4000
	e, err := New(Config{Live: newLive(t), Arms: []Arm{a.arm(), b.arm()}, Rate: 1e6, Speed: 1e6, Requests: requests, Shown: 3, MinImpressions: 100, FlushEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep := e.Report()
	if !rep.Final || rep.Requests != requests || rep.Arms[0].Requests+rep.Arms[1].Requests != requests {
		t.Fatalf("report %+v: want %d requests, final", rep, requests)
	}
	for i, arm := range []*rankingArm{a, b} {
		r := rep.Arms[i]
		if r.Rate.Impressions != 3*r.Requests || r.Errors != 0 {
			t.Errorf("arm %s: %d impressions of %d requests: want 3 each", r.Name, r.Rate.Impressions, r.Requests)
		}
		if int64(len(arm.got)) != r.InstallsDelivered || r.InstallsDelivered == 0 || r.InstallsDelivered > r.Rate.Installs {
			t.Errorf("arm %s: %d installs received, %d delivered of %d", r.Name, len(arm.got), r.InstallsDelivered, r.Rate.Installs)
		}
		for j, in := range arm.got {
			if !arm.served[in.ImpressionID] || !strings.HasPrefix(in.ImpressionID, arm.name) {
				t.Fatalf("arm %s: install %+v names no impression it served", arm.name, in)
			}
			if j > 0 && in.TS < arm.got[j-1].TS {
				t.Fatalf("arm %s: installs out of event-time order", arm.name)
			}
		}
		// The split is by user: a user's requests all went to one arm.
		for u := range e.arms[i].users {
			if ArmOf("wdstream-experiment", u, 2) != i {
				t.Fatalf("user %s in arm %d, the split says %d", u, i, ArmOf("wdstream-experiment", u, 2))
			}
		}
	}
	if g := rep.Arms[1].Gain; g == nil || rep.Arms[1].Verdict == VerdictPending {
		t.Fatalf("no final verdict: %+v", rep.Arms[1])
	}

	rec := httptest.NewRecorder()
	NewPage(e, func() []LineStatus { return []LineStatus{{Name: "control", Published: 2}, {Name: "treatment"}} }).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if body := rec.Body.String(); !strings.Contains(body, "treatment") || !strings.Contains(body, rep.Arms[1].Verdict) {
		t.Fatalf("page without the arms or the verdict:\n%s", body)
	}
	rec = httptest.NewRecorder()
	NewPage(e, func() []LineStatus { return nil }).ServeHTTP(rec, httptest.NewRequest("GET", "/?format=json", nil))
	var got Report
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Requests != requests {
		t.Fatalf("JSON page: %v, %d requests", err, got.Requests)
	}
}

// TestSplit: the split is deterministic and about even.
func TestSplit(t *testing.T) {
	n := [3]int{}
	for i := range 30000 {
		u := fmt.Sprintf("u%d", i)
		k := ArmOf("s", u, 3)
		if k != ArmOf("s", u, 3) {
			t.Fatal("the split is not deterministic")
		}
		n[k]++
	}
	for _, c := range n {
		if c < 9500 || c > 10500 {
			t.Fatalf("arms of %v users: want about 10000 each", n)
		}
	}
}

// TestStopRule: a run cancelled before its horizon gets no verdict; one
// that reaches its deadline (the horizon in time) does.
func TestStopRule(t *testing.T) {
	live := newLive(t)
	for _, c := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want string
	}{
		{"cancelled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			return ctx, cancel
		}, VerdictStopped},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, ""},
	} {
		a := &rankingArm{name: "a", served: map[string]bool{}}
		b := &rankingArm{name: "b", served: map[string]bool{}}
		e, err := New(Config{Live: live, Arms: []Arm{a.arm(), b.arm()}, Rate: 2000, Speed: 2000, MinImpressions: 1})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := c.ctx()
		err = e.Run(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		rep := e.Report()
		v := rep.Arms[1].Verdict
		if c.want != "" && v != c.want || c.want == "" && (v == VerdictStopped || v == VerdictPending || rep.Stopped) {
			t.Errorf("%s: verdict %q after %d requests", c.name, v, rep.Requests)
		}
	}
}

// TestPaired: in a paired run every arm answers every request in its own
// copy of the world. Two arms that rank alike see the same users, pages
// and dice, so their counts are equal user by user and the gain is exactly
// 0 (common random numbers); an arm that shows the page reversed differs,
// and the paired interval of its gain is narrower than the unpaired one of
// the same counts.
func TestPaired(t *testing.T) {
	lives := func() []*simulate.Live { return []*simulate.Live{newLive(t), newLive(t)} }
	run := func(reverse bool) (*Experiment, Report) {
		a := &rankingArm{name: "a", served: map[string]bool{}}
		b := &rankingArm{name: "b", served: map[string]bool{}, reverse: reverse}
		e, err := New(Config{Paired: true, Lives: lives(), Arms: []Arm{a.arm(), b.arm()}, Rate: 1e6, Speed: 1e6, Requests: 3000, Shown: 3, MinImpressions: 100, FlushEvery: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return e, e.Report()
	}
	e, rep := run(false)
	if !rep.Paired || rep.Arms[0].Requests != 3000 || rep.Arms[1].Requests != 3000 {
		t.Fatalf("paired report %+v: want every request in both arms", rep)
	}
	for u, c := range e.arms[0].users {
		if d := e.arms[1].users[u]; d == nil || *d != *c {
			t.Fatalf("user %s: %+v and %+v: want the same counts in both arms", u, c, d)
		}
	}
	if g := rep.Arms[1].Gain; g.Gain != 0 || g.SE != 0 || g.Significant {
		t.Fatalf("A/A paired gain %+v: want exactly 0", g)
	}
	_, rep = run(true)
	pg := rep.Arms[1].Gain
	ug := GainOf(rep.Arms[0].Rate, rep.Arms[1].Rate)
	if pg.Gain != ug.Gain || !(pg.SE < ug.SE) {
		t.Fatalf("reversed arm: paired %+v, unpaired %+v: want the same gain, a smaller SE paired", pg, ug)
	}
	t.Logf("reversed page: gain %+.4f, paired SE %.4f, unpaired %.4f", pg.Gain, pg.SE, ug.SE)
	if _, err := New(Config{Paired: true, Lives: lives()[:1], Arms: []Arm{{Name: "a"}, {Name: "b"}}}); err == nil {
		t.Fatal("a paired run with one world for two arms accepted")
	}
}
