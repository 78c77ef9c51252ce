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

// synthPairs draws n users seen by both arms of a paired run: each
// impression's dice are shared by the two arms with probability shared
// (both showed the same app), else the arm draws its own; the arm installs
// with probability p·lift.
func synthPairs(rng *rand.Rand, n int, lift, shared float64) []Pair {
	ps := make([]Pair, n)
	for i := range ps {
		u := rng.Float64()
		p := 0.02 + 0.1*u*u
		k := 1 + int64(rng.IntN(20))
		ps[i].Control.Impressions, ps[i].Arm.Impressions = k, k
		for range k {
			c := rng.Float64()
			a := c
			if rng.Float64() >= shared {
				a = rng.Float64()
			}
			if c < p {
				ps[i].Control.Installs++
			}
			if a < p*lift {
				ps[i].Arm.Installs++
			}
		}
	}
	return ps
}

// TestPairedCoverage: on 200 seeded paired A/A runs the paired interval
// contains 0 about 95% of the time, and it is narrower than the unpaired
// interval of the same counts (the users' shared part cancels).
func TestPairedCoverage(t *testing.T) {
	const runs = 200
	in, narrower := 0, 0
	for s := range runs {
		ps := synthPairs(rand.New(rand.NewPCG(uint64(s), 9)), 2000, 1, 0.5)
		g := GainOf(RateOf(pairSide(ps, false)), RateOf(pairSide(ps, true)))
		pg := PairedGainOf(ps)
		if !pg.Significant {
			in++
		}
		if pg.SE < g.SE {
			narrower++
		}
	}
	share := float64(in) / runs
	t.Logf("paired A/A intervals containing 0: %.3f; narrower than unpaired: %d of %d", share, narrower, runs)
	if share < 0.90 || share > 0.995 || narrower < runs*9/10 {
		t.Fatalf("paired intervals containing 0: %.3f (want 0.90 to 0.995), narrower: %d of %d", share, narrower, runs)
	}
	// A 10% lift on 5,000 users is found, with 0.1 in the interval.
	pg := PairedGainOf(synthPairs(rand.New(rand.NewPCG(1, 1)), 5000, 1.1, 0.5))
	if !pg.Significant || pg.Low > 0.1 || pg.High < 0.1 {
		t.Fatalf("paired gain %+v: want significant, its interval containing 0.1", pg)
	}
}

func pairSide(ps []Pair, arm bool) []Counts {
	out := make([]Counts, len(ps))
	for i, p := range ps {
		out[i] = p.Control
		if arm {
			out[i] = p.Arm
		}
	}
	return out
}
