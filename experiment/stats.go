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

// Pair is one user's counts in the control and in another arm of a paired
// run (every user's requests answered by every arm, each in its own copy
// of the world).
type Pair struct {
	Control, Arm Counts
}

// PairedGainOf estimates the relative gain of the arm over the control
// from the same users' counts in both: Ra/Rc - 1, the rates summed over
// the users, with the delta method on the users' paired differences,
//
//	log Ra - log Rc ≈ mean_u z_u,
//	z_u = (ya_u - Ra xa_u)/(Ra mean(xa)) - (yc_u - Rc xc_u)/(Rc mean(xc))
//	Var(Ra/Rc) ≈ (Ra/Rc)² var(z)/n
//
// so that what a user shares between the arms (their tastes, their
// requests, the dice of the apps both arms show) cancels. Users without
// impressions in either arm are left out; fewer than two users, or an arm
// without installs, give an infinite SE.
func PairedGainOf(pairs []Pair) Gain {
	g := Gain{SE: math.Inf(1), Low: math.Inf(-1), High: math.Inf(1)}
	var xc, yc, xa, ya float64
	n := 0
	for _, p := range pairs {
		if p.Control.Impressions == 0 && p.Arm.Impressions == 0 {
			continue
		}
		n++
		xc += float64(p.Control.Impressions)
		yc += float64(p.Control.Installs)
		xa += float64(p.Arm.Impressions)
		ya += float64(p.Arm.Installs)
	}
	if n < 2 || yc == 0 || ya == 0 || xc == 0 || xa == 0 {
		return g
	}
	rc, ra := yc/xc, ya/xa
	mc, ma := xc/float64(n), xa/float64(n)
	var sum, ss float64
	for _, p := range pairs {
		if p.Control.Impressions == 0 && p.Arm.Impressions == 0 {
			continue
		}
		z := (float64(p.Arm.Installs)-ra*float64(p.Arm.Impressions))/(ra*ma) -
			(float64(p.Control.Installs)-rc*float64(p.Control.Impressions))/(rc*mc)
		sum += z
		ss += z * z
	}
	nf := float64(n)
	v := (ss - sum*sum/nf) / (nf - 1) / nf
	ratio := ra / rc
	g.Gain = ratio - 1
	g.SE = ratio * math.Sqrt(v)
	g.Low, g.High = g.Gain-z95*g.SE, g.Gain+z95*g.SE
	g.Significant = g.Low > 0 || g.High < 0
	return g
}
