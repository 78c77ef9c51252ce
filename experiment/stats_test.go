package experiment

import (
	"math"
	"math/rand/v2"
	"testing"
)

// synthUsers draws n users of a heterogeneous population: each user has a
// rate p ~ 0.02 + 0.1 U² (mean 0.02 + 0.1/3) and 1 to 20 impressions, and
// installs each with probability p·lift.
func synthUsers(rng *rand.Rand, n int, lift float64) []Counts {
	us := make([]Counts, n)
	for i := range us {
		u := rng.Float64()
		p := (0.02 + 0.1*u*u) * lift
		us[i].Impressions = 1 + int64(rng.IntN(20))
		for range us[i].Impressions {
			if rng.Float64() < p {
				us[i].Installs++
			}
		}
	}
	return us
}

// TestCoverage: on 200 seeded A/A experiments of 2,000 users an arm, the
// 95% intervals of the rate contain the population's rate, and those of
// the gain contain 0, about 95% of the time (binomial sd of the share:
// 1.5 points; the range allows about 3 sd).
func TestCoverage(t *testing.T) {
	const runs, users = 200, 2000
	truth := 0.02 + 0.1/3
	rateIn, gainIn := 0, 0
	for s := range runs {
		rng := rand.New(rand.NewPCG(uint64(s), 7))
		c, a := RateOf(synthUsers(rng, users, 1)), RateOf(synthUsers(rng, users, 1))
		if c.Low <= truth && truth <= c.High {
			rateIn++
		}
		if g := GainOf(c, a); !g.Significant {
			gainIn++
		}
	}
	for _, x := range []struct {
		what string
		in   int
	}{{"rate intervals containing the true rate", rateIn}, {"gain intervals containing 0", gainIn}} {
		share := float64(x.in) / runs
		t.Logf("%s: %.3f", x.what, share)
		if share < 0.90 || share > 0.995 {
			t.Errorf("%s: %.3f of %d, want about 0.95 (0.90 to 0.995)", x.what, share, runs)
		}
	}
}

// TestPower: a true gain of 20% on 20,000 users an arm is found, and its
// interval contains it; the point estimates are the plain ratios.
func TestPower(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c, a := RateOf(synthUsers(rng, 20000, 1)), RateOf(synthUsers(rng, 20000, 1.2))
	g := GainOf(c, a)
	if !g.Significant || g.Low > 0.2 || g.High < 0.2 {
		t.Fatalf("gain %+v: want significant, its interval containing 0.2", g)
	}
	if want := float64(c.Installs) / float64(c.Impressions); c.Rate != want {
		t.Fatalf("rate %v, want %v", c.Rate, want)
	}
}

// TestClusteredSE: users whose installs are all-or-nothing (perfectly
// correlated within the user) get a wider interval than the same number of
// independent impressions would: the user is the unit.
func TestClusteredSE(t *testing.T) {
	var us []Counts
	for i := range 1000 {
		c := Counts{Impressions: 10}
		if i%10 == 0 {
			c.Installs = 10
		}
		us = append(us, c)
	}
	r := RateOf(us)
	binom := math.Sqrt(r.Rate * (1 - r.Rate) / float64(r.Impressions))
	if r.Rate != 0.1 || r.SE < 2.5*binom {
		t.Fatalf("rate %v se %v: want 0.1 and an SE well above the impression-level %v", r.Rate, r.SE, binom)
	}
}

// TestDegenerate: no impressions, one user, no installs: infinite
// intervals, never a significant verdict.
func TestDegenerate(t *testing.T) {
	empty := RateOf(nil)
	one := RateOf([]Counts{{Impressions: 3, Installs: 1}})
	zero := RateOf([]Counts{{Impressions: 3}, {Impressions: 4}})
	for _, r := range []Rate{empty, one} {
		if !math.IsInf(r.SE, 1) {
			t.Errorf("%+v: want an infinite SE", r)
		}
	}
	if g := GainOf(zero, one); g.Significant || !math.IsInf(g.SE, 1) {
		t.Errorf("gain over a control without installs %+v: want no verdict", g)
	}
}
