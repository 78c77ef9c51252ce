package experiment

import (
	"cmp"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/serve"
	"github.com/wdstream/wdstream/simulate"
)

// Arm is one arm of the experiment: how it ranks a request and where its
// users' installs go.
type Arm struct {
	Name string
	// Score ranks the request's candidates: the arm's serving, which must
	// return an impression id per candidate (served impressions are
	// logged).
	Score func(ctx context.Context, req *serve.Request) (*serve.Response, error)
	// Installs delivers installs (each with the impression id served) to
	// the arm's installs topic, in event-time order.
	Installs func(ctx context.Context, ins []schemas.Install) error
}

// Config configures an Experiment. Live and two Arms at least are
// required; Arms[0] is the control.
type Config struct {
	Live *simulate.Live
	Arms []Arm
	// Paired sends every request to every arm instead of splitting the
	// users: each arm answers it in its own copy of the world, Lives[i]
	// (the same world and seed, so the same users, requests and dice; the
	// users' installs differ by what each arm showed them). The gain is
	// then estimated on the same users' paired counts (PairedGainOf).
	// Live is not used.
	Paired bool
	Lives  []*simulate.Live
	// Salt of the split hash (default "wdstream-experiment").
	Salt string
	// Start is the event time of request 0 (Unix ms; default now).
	Start int64
	// Rate: requests a wall-clock second (default 100). Speed: simulated
	// seconds a wall-clock second (default 60).
	Rate, Speed float64
	// Candidates a request carries (default 20); Shown: the top Shown of
	// an answer are shown (default 5).
	Candidates, Shown int
	// Requests: the horizon, in requests (0: until Run's ctx is done).
	Requests uint64
	// MinImpressions: the least impressions every arm needs for a
	// verdict (default 10,000).
	MinImpressions int64
	// FlushEvery: installs due are delivered at least this often (wall
	// clock; default 200ms).
	FlushEvery time.Duration
}

func (c *Config) defaults() error {
	if len(c.Arms) < 2 {
		return errors.New("experiment: two arms at least are required")
	}
	switch {
	case c.Paired && len(c.Lives) != len(c.Arms):
		return fmt.Errorf("experiment: a paired run needs a live world per arm: %d for %d arms", len(c.Lives), len(c.Arms))
	case c.Paired:
		c.Live = c.Lives[0]
	case c.Live == nil:
		return errors.New("experiment: a live world is required")
	}
	seen := map[string]bool{}
	for _, a := range c.Arms {
		if a.Name == "" || a.Score == nil || a.Installs == nil {
			return errors.New("experiment: every arm needs a name, Score and Installs")
		}
		if seen[a.Name] {
			return fmt.Errorf("experiment: arm %q named twice", a.Name)
		}
		seen[a.Name] = true
	}
	if c.Rate < 0 || c.Speed < 0 || c.Candidates < 0 || c.Shown < 0 || c.MinImpressions < 0 || c.FlushEvery < 0 {
		return errors.New("experiment: negative rate, speed, candidates, shown, minimum or flush interval")
	}
	c.Salt = cmp.Or(c.Salt, "wdstream-experiment")
	if c.Start == 0 {
		c.Start = time.Now().UnixMilli()
	}
	c.Rate, c.Speed = cmp.Or(c.Rate, 100), cmp.Or(c.Speed, 60)
	c.Candidates, c.Shown = cmp.Or(c.Candidates, 20), cmp.Or(c.Shown, 5)
	c.MinImpressions = cmp.Or(c.MinImpressions, 10_000)
	c.FlushEvery = cmp.Or(c.FlushEvery, 200*time.Millisecond)
	return nil
}

// Experiment is one run (see the package doc).
type Experiment struct {
	cfg  Config
	step float64 // simulated ms between requests

	mu      sync.Mutex
	arms    []armState
	sent    uint64
	end     int64 // event time of the last request
	done    bool
	stopped bool        // done before the horizon
	pending pendingHeap // installs not yet delivered
}

type armState struct {
	users              map[string]*Counts
	requests, errors   int64
	delivered, dropped int64
	versions           map[string]int64
	lastErr            string
}

// New checks cfg and returns the experiment; Run runs it.
func New(cfg Config) (*Experiment, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	e := &Experiment{cfg: cfg, step: 1000 * cfg.Speed / cfg.Rate, arms: make([]armState, len(cfg.Arms))}
	for i := range e.arms {
		e.arms[i] = armState{users: map[string]*Counts{}, versions: map[string]int64{}}
	}
	return e, nil
}

// ArmOf returns the arm (index into Arms) of userID: FNV-1a 64 of the
// salt, a zero byte and the id, modulo the number of arms.
func ArmOf(salt, userID string, arms int) int {
	h := fnv.New64a()
	_, _ = h.Write([]byte(salt))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(userID))
	return int(h.Sum64() % uint64(arms))
}

// userColumns are the request's shared columns: the user's; the others
// are the candidate's.
var userColumns = map[string]bool{
	simulate.ColCountry: true, simulate.ColLanguage: true, simulate.ColDevice: true,
	simulate.ColAgeBucket: true, simulate.ColInstalledApps: true,
}

// Run sends requests until the horizon, then delivers the installs
// already due and returns. The horizon is Config.Requests, or else ctx's
// deadline: a ctx cancelled before it (or before Config.Requests) stops
// the run early, and the report gives no verdict. It returns ctx's error
// only when ctx ends before the first request.
func (e *Experiment) Run(ctx context.Context) error {
	cfg := &e.cfg
	start := time.Now()
	lastFlush := start
	for n := uint64(0); cfg.Requests == 0 || n < cfg.Requests; n++ {
		due := start.Add(time.Duration(float64(n) / cfg.Rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		ts := cfg.Start + int64(float64(n)*e.step)
		if time.Since(lastFlush) >= cfg.FlushEvery {
			e.flush(ctx, ts)
			lastFlush = time.Now()
		}
		// The request is not cancelled at the horizon: its answer is
		// served (and logged) either way, so its user sees it.
		e.request(context.WithoutCancel(ctx), n, ts)
	}
	e.mu.Lock()
	e.done = true
	// The horizon: the requests, or the caller's deadline; a cancelled
	// run stopped before it and gets no verdict.
	e.stopped = cfg.Requests > 0 && e.sent < cfg.Requests || cfg.Requests == 0 && !errors.Is(ctx.Err(), context.DeadlineExceeded)
	e.mu.Unlock()
	if e.sent == 0 && ctx.Err() != nil {
		return ctx.Err()
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	e.flush(fctx, e.end)
	return nil
}

// request sends request n to its user's arm (to every arm, paired) and
// plays the user's answer.
func (e *Experiment) request(ctx context.Context, n uint64, ts int64) {
	cfg := &e.cfg
	if cfg.Paired {
		for ai, live := range cfg.Lives {
			e.serveTo(ctx, ai, live, live.Request(n, ts, cfg.Candidates))
		}
	} else {
		page := cfg.Live.Request(n, ts, cfg.Candidates)
		e.serveTo(ctx, ArmOf(cfg.Salt, page.UserID, len(cfg.Arms)), cfg.Live, page)
	}
	e.mu.Lock()
	e.sent = n + 1
	e.end = ts
	e.mu.Unlock()
}

// liveOf returns the world of arm ai.
func (e *Experiment) liveOf(ai int) *simulate.Live {
	if e.cfg.Paired {
		return e.cfg.Lives[ai]
	}
	return e.cfg.Live
}

// serveTo sends page to arm ai, whose users live in live, and plays the
// user's answer.
func (e *Experiment) serveTo(ctx context.Context, ai int, live *simulate.Live, page simulate.Page) {
	cfg := &e.cfg
	if len(page.Candidates) == 0 {
		return
	}
	n, ts := page.N, page.TS
	req := &serve.Request{UserID: page.UserID, TS: ts, Features: map[string]json.RawMessage{}}
	for i, app := range page.Candidates {
		// Slot 1 is the placeholder of position: serving logs the slot
		// each candidate is ranked at.
		imp := live.Impression(page, app, 1, "")
		delete(imp.Features, simulate.ColTrueP)
		c := serve.CandidateOf(&imp)
		for k, v := range c.Features {
			if userColumns[k] {
				if i == 0 {
					req.Features[k] = v
				}
				delete(c.Features, k)
			}
		}
		req.Candidates = append(req.Candidates, c)
	}
	resp, err := cfg.Arms[ai].Score(ctx, req)
	if err == nil && (len(resp.Ranking) != len(req.Candidates) || len(resp.ImpressionIDs) != len(req.Candidates)) {
		err = fmt.Errorf("answer of %d ranks and %d impression ids for %d candidates", len(resp.Ranking), len(resp.ImpressionIDs), len(req.Candidates))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := &e.arms[ai]
	a.requests++
	if err != nil {
		if ctx.Err() == nil {
			a.errors++
			a.lastErr = err.Error()
		}
		return
	}
	a.versions[resp.Version]++
	c := a.users[page.UserID]
	if c == nil {
		c = &Counts{}
		a.users[page.UserID] = c
	}
	for slot, idx := range resp.Ranking[:min(cfg.Shown, len(resp.Ranking))] {
		app := page.Candidates[idx]
		d := live.Decide(n, page.User, app, slot+1)
		c.Impressions++
		if !d.Install {
			continue
		}
		c.Installs++
		heap.Push(&e.pending, pendingInstall{arm: ai, user: page.User, app: app, seq: n<<8 | uint64(slot),
			ins: schemas.Install{TS: ts + d.DelayMS, ImpressionID: resp.ImpressionIDs[idx], UserID: page.UserID, AppID: live.AppID(app)}})
	}
}

// flush delivers the installs due at event time ts to their arms, in
// event-time order, and to the world (the user has the app from now on).
// An install that cannot be delivered is counted and dropped: its user
// still has the app.
func (e *Experiment) flush(ctx context.Context, ts int64) {
	e.mu.Lock()
	byArm := make([][]schemas.Install, len(e.arms))
	for e.pending.Len() > 0 && e.pending[0].ins.TS <= ts {
		p := heap.Pop(&e.pending).(pendingInstall)
		byArm[p.arm] = append(byArm[p.arm], p.ins)
		e.liveOf(p.arm).Install(p.user, p.app)
	}
	e.mu.Unlock()
	for i, ins := range byArm {
		if len(ins) == 0 {
			continue
		}
		err := e.cfg.Arms[i].Installs(ctx, ins)
		e.mu.Lock()
		if err != nil {
			e.arms[i].dropped += int64(len(ins))
			e.arms[i].lastErr = "delivering installs: " + err.Error()
		} else {
			e.arms[i].delivered += int64(len(ins))
		}
		e.mu.Unlock()
	}
}

// pendingInstall is an install decided and not yet delivered.
type pendingInstall struct {
	arm       int
	user, app int32
	seq       uint64 // request and slot: breaks ties of ts
	ins       schemas.Install
}

type pendingHeap []pendingInstall

func (h pendingHeap) Len() int { return len(h) }
func (h pendingHeap) Less(i, j int) bool {
	if h[i].ins.TS != h[j].ins.TS {
		return h[i].ins.TS < h[j].ins.TS
	}
	return h[i].seq < h[j].seq
}
func (h pendingHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pendingHeap) Push(x any)   { *h = append(*h, x.(pendingInstall)) }
func (h *pendingHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
