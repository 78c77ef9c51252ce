package experiment

import (
	"encoding/json"
	"math"
)

// z95 is the standard normal quantile of 0.975: two-sided 95% intervals.
const z95 = 1.959963984540054

// Counts are one user's impressions and installs in an arm. The user is
// the unit of randomization, so the user, not the impression, is the
// independent observation: a user's impressions share the user's tastes.
type Counts struct {
	Impressions, Installs int64
}

// Rate is an arm's acquisition rate, installs per impression shown, with
// its standard error and 95% confidence interval.
type Rate struct {
	Users       int     `json:"users"`
	Impressions int64   `json:"impressions"`
	Installs    int64   `json:"installs"`
	Rate        float64 `json:"rate"`
	SE          float64 `json:"se"`
	Low         float64 `json:"ci_low"`
	High        float64 `json:"ci_high"`
}

// RateOf estimates the acquisition rate of the users' counts: the ratio
// R = sum(installs) / sum(impressions), and its variance by the delta
// method over users (a ratio of two means of i.i.d. users):
//
//	Var(R) ≈ sum_u (installs_u - R impressions_u)² / (n (n-1) mean(impressions)²)
//
// which counts a user's impressions as one cluster. With fewer than two
// users or no impression the SE is +Inf.
func RateOf(users []Counts) Rate {
	var r Rate
	for _, c := range users {
		if c.Impressions == 0 {
			continue
		}
		r.Users++
		r.Impressions += c.Impressions
		r.Installs += c.Installs
	}
	r.SE = math.Inf(1)
	if r.Impressions == 0 {
		r.Low, r.High = math.Inf(-1), math.Inf(1)
		return r
	}
	r.Rate = float64(r.Installs) / float64(r.Impressions)
	if n := float64(r.Users); r.Users >= 2 {
		var ss float64
		for _, c := range users {
			d := float64(c.Installs) - r.Rate*float64(c.Impressions)
			ss += d * d
		}
		mean := float64(r.Impressions) / n
		r.SE = math.Sqrt(ss/(n*(n-1))) / mean
	}
	r.Low, r.High = r.Rate-z95*r.SE, r.Rate+z95*r.SE
	return r
}

// Gain is an arm's relative gain over the control, arm.Rate /
// control.Rate - 1 (the paper's "online acquisition gain"), with its
// standard error and 95% confidence interval.
type Gain struct {
	Gain float64 `json:"gain"`
	SE   float64 `json:"se"`
	Low  float64 `json:"ci_low"`
	High float64 `json:"ci_high"`
	// Significant: the interval excludes 0.
	Significant bool `json:"significant"`
}

// GainOf estimates the relative gain of arm over control by the delta
// method, the two arms' users being independent samples:
//
//	Var(Ra/Rc) ≈ (Ra/Rc)² (Var(Ra)/Ra² + Var(Rc)/Rc²)
//
// An arm or a control without installs gives an infinite SE.
func GainOf(control, arm Rate) Gain {
	g := Gain{SE: math.Inf(1), Low: math.Inf(-1), High: math.Inf(1)}
	if control.Rate <= 0 || arm.Rate <= 0 {
		return g
	}
	ratio := arm.Rate / control.Rate
	g.Gain = ratio - 1
	g.SE = ratio * math.Sqrt(sq(arm.SE/arm.Rate)+sq(control.SE/control.Rate))
	g.Low, g.High = g.Gain-z95*g.SE, g.Gain+z95*g.SE
	g.Significant = g.Low > 0 || g.High < 0
	return g
}

func sq(x float64) float64 { return x * x }

// finite returns &x, or nil (JSON null) when x is infinite or NaN, which
// JSON cannot carry.
func finite(x float64) *float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return nil
	}
	return &x
}

// MarshalJSON writes the interval's infinite bounds (too few users) as null.
func (r Rate) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Users       int      `json:"users"`
		Impressions int64    `json:"impressions"`
		Installs    int64    `json:"installs"`
		Rate        float64  `json:"rate"`
		SE          *float64 `json:"se"`
		Low         *float64 `json:"ci_low"`
		High        *float64 `json:"ci_high"`
	}{r.Users, r.Impressions, r.Installs, r.Rate, finite(r.SE), finite(r.Low), finite(r.High)})
}

// MarshalJSON writes the interval's infinite bounds (no installs) as null.
func (g Gain) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Gain        float64  `json:"gain"`
		SE          *float64 `json:"se"`
		Low         *float64 `json:"ci_low"`
		High        *float64 `json:"ci_high"`
		Significant bool     `json:"significant"`
	}{g.Gain, finite(g.SE), finite(g.Low), finite(g.High), g.Significant})
}
