package experiment

import (
	"maps"
	"slices"
)

// Report is a snapshot of the experiment: per arm, what it served and its
// users did, and each arm's gain over the control.
type Report struct {
	// Requests sent; EventTime of the last (Unix ms).
	Requests  uint64 `json:"requests"`
	EventTime int64  `json:"event_time_ms"`
	// Final: the horizon is reached (Run returned); before, every verdict
	// is "pending".
	Final bool `json:"final"`
	// Stopped: the run ended before its horizon (cancelled): no verdict.
	Stopped bool `json:"stopped_early,omitempty"`
	// Paired: every arm answered every request (Config.Paired); the gains
	// are paired estimates.
	Paired         bool        `json:"paired,omitempty"`
	MinImpressions int64       `json:"min_impressions"`
	Arms           []ArmReport `json:"arms"`
}

// ArmReport is one arm's part of a Report.
type ArmReport struct {
	Name string `json:"name"`
	// Requests sent to the arm; Errors: those it did not answer (no
	// impression, no install).
	Requests int64  `json:"requests"`
	Errors   int64  `json:"errors"`
	LastErr  string `json:"last_error,omitempty"`
	Rate     Rate   `json:"acquisition"`
	// Gain over the control (nil for the control) and the verdict.
	Gain    *Gain  `json:"gain,omitempty"`
	Verdict string `json:"verdict,omitempty"`
	// InstallsDelivered to the arm's installs topic, InstallsDropped
	// (delivery failed); the rest are due after the last request.
	InstallsDelivered int64 `json:"installs_delivered"`
	InstallsDropped   int64 `json:"installs_dropped"`
	// Versions: requests answered by each model version, in version order.
	Versions []VersionCount `json:"versions_served"`
}

// VersionCount is how many requests a version answered.
type VersionCount struct {
	Version  string `json:"version"`
	Requests int64  `json:"requests"`
}

// Verdicts.
const (
	VerdictPending       = "pending: no verdict before the horizon"
	VerdictStopped       = "no verdict: stopped before the horizon"
	VerdictTooFew        = "no verdict: too few impressions"
	VerdictGain          = "significant gain"
	VerdictLoss          = "significant loss"
	VerdictInsignificant = "no significant difference"
)

// Report returns a snapshot of the experiment.
func (e *Experiment) Report() Report {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := Report{Requests: e.sent, EventTime: e.end, Final: e.done, Stopped: e.stopped, MinImpressions: e.cfg.MinImpressions}
	enough := true
	for i := range e.arms {
		a := &e.arms[i]
		users := make([]Counts, 0, len(a.users))
		for _, c := range a.users {
			users = append(users, *c)
		}
		ar := ArmReport{Name: e.cfg.Arms[i].Name, Requests: a.requests, Errors: a.errors, LastErr: a.lastErr,
			Rate: RateOf(users), InstallsDelivered: a.delivered, InstallsDropped: a.dropped}
		for _, v := range slices.Sorted(maps.Keys(a.versions)) {
			ar.Versions = append(ar.Versions, VersionCount{v, a.versions[v]})
		}
		enough = enough && ar.Rate.Impressions >= e.cfg.MinImpressions
		r.Arms = append(r.Arms, ar)
	}
	r.Paired = e.cfg.Paired
	for i := 1; i < len(r.Arms); i++ {
		g := GainOf(r.Arms[0].Rate, r.Arms[i].Rate)
		if e.cfg.Paired {
			g = PairedGainOf(e.pairs(i))
		}
		r.Arms[i].Gain = &g
		switch {
		case !r.Final:
			r.Arms[i].Verdict = VerdictPending
		case r.Stopped:
			r.Arms[i].Verdict = VerdictStopped
		case !enough:
			r.Arms[i].Verdict = VerdictTooFew
		case g.Significant && g.Gain > 0:
			r.Arms[i].Verdict = VerdictGain
		case g.Significant:
			r.Arms[i].Verdict = VerdictLoss
		default:
			r.Arms[i].Verdict = VerdictInsignificant
		}
	}
	return r
}

// pairs returns the users' counts in the control and in arm i (e.mu held).
func (e *Experiment) pairs(i int) []Pair {
	var ps []Pair
	for u, c := range e.arms[0].users {
		p := Pair{Control: *c}
		if a := e.arms[i].users[u]; a != nil {
			p.Arm = *a
		}
		ps = append(ps, p)
	}
	for u, a := range e.arms[i].users {
		if e.arms[0].users[u] == nil {
			ps = append(ps, Pair{Arm: *a})
		}
	}
	return ps
}
