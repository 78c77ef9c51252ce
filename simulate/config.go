package simulate

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config sizes and seeds a world. The zero value of every field means its
// documented default (see Defaults); NewWorld validates the result.
type Config struct {
	// Seed of every random stream. Default 0 (a valid seed).
	Seed uint64
	// Users in the world. Default 20,000.
	Users int
	// Apps in the catalog on the first day. Default 2,000.
	Apps int
	// NewAppsPerDay launch at the start of every day after the first.
	// Default Apps/50 (40). Set -1 for none.
	NewAppsPerDay int
	// DelistedPerDay apps leave the store at the start of every day after
	// the first: drawn uniformly among the apps live the day before, they
	// are never impressed again (users keep them installed). Default 0.
	// The draws come from their own random stream: the catalog, the
	// users and the truth are those of the world without delistings.
	DelistedPerDay int
	// Days simulated. Default 7.
	Days int
	// ImpressionsPerDay: exactly this many impressions per simulated day.
	// Default 200,000.
	ImpressionsPerDay int
	// PageSize is the largest number of slots of one page view; positions
	// run 1..PageSize. Pages hold PageSize/2..PageSize slots. Default 8.
	PageSize int
	// Start is the event time of the first day's midnight. Default
	// 2024-01-01T00:00:00Z.
	Start time.Time
	// LabelWindow: an impression's realized label is 1 when an install
	// attributed to it arrives within this long of its ts. Installs later
	// than the last day's end plus LabelWindow are not emitted. Default 30m.
	LabelWindow time.Duration
	// Truth holds the parameters of the true install probability and of
	// the install process, taken as written. Default (nil): DefaultTruth().
	Truth *Truth
}

// Truth parameterizes the ground truth: the terms of the true logit, the
// drift and the install log's imperfections. See the package doc for the
// model they enter.
type Truth struct {
	// BaseRate is the mean true install probability the intercept is
	// calibrated to on the first day. Default 0.04.
	BaseRate float64
	// PairStrength is the mean logit boost of a strong pair "installed A
	// -> impressed B"; strengths are uniform in ±25% around it. Default 2.6.
	PairStrength float64
	// PairSources is the share of the initial apps, the most popular ones,
	// that are the A side of strong pairs; each has 1 to 3 partners among
	// the PairTargets most popular share. Defaults 0.15 and 0.45 (300 and
	// 900 of 2,000 apps).
	PairSources, PairTargets float64
	// TasteScale is the standard deviation of the taste term (user x
	// category) on the logit scale. Default 0.8.
	TasteScale float64
	// TasteDrift: over the whole run the category taste vectors move by
	// this fraction of their own length (linearly in time). Default 0.6.
	TasteDrift float64
	// RelatedShare, TasteShare: the share of impression slots filled with a
	// partner of an installed app, and with an app from a category the user
	// likes; the rest are drawn by popularity. Defaults 0.08 and 0.40.
	RelatedShare, TasteShare float64
	// UnattributedShare of installs carry no impression_id. Default 0.10.
	UnattributedShare float64
	// DuplicateShare of installs are logged twice. Default 0.01.
	DuplicateShare float64
	// LateShare of installs arrive 30m to 6h after the impression, beyond
	// the default label window; the others within minutes. Default 0.05.
	LateShare float64
	// LatentTaste makes the user side of the taste term private: each
	// user's taste vector is Gaussian noise that no column is derived from,
	// and it walks over the days, keeping its spread (the user moves by
	// about TasteDrift of its length over the run, on top of the
	// categories' drift). Only the installed apps reveal it: the initial ones are drawn
	// with a preference for the categories the user likes, and later
	// installs follow true_p. It also adds a country x developer term to
	// the logit. Default false: the taste is a function of the observable
	// columns (see the package doc).
	LatentTaste bool
}

// DefaultTruth returns the default ground-truth parameters.
func DefaultTruth() Truth {
	return Truth{
		BaseRate:          0.04,
		PairStrength:      2.6,
		PairSources:       0.15,
		PairTargets:       0.45,
		TasteScale:        0.8,
		TasteDrift:        0.6,
		RelatedShare:      0.08,
		TasteShare:        0.40,
		UnattributedShare: 0.10,
		DuplicateShare:    0.01,
		LateShare:         0.05,
	}
}

// Defaults returns c with every zero field set to its default.
func (c Config) Defaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Users, 20_000)
	def(&c.Apps, 2_000)
	def(&c.NewAppsPerDay, max(c.Apps/50, 1))
	if c.NewAppsPerDay < 0 {
		c.NewAppsPerDay = 0
	}
	def(&c.Days, 7)
	def(&c.ImpressionsPerDay, 200_000)
	def(&c.PageSize, 8)
	if c.Start.IsZero() {
		c.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if c.LabelWindow == 0 {
		c.LabelWindow = 30 * time.Minute
	}
	if c.Truth == nil {
		t := DefaultTruth()
		c.Truth = &t
	}
	return c
}

// validate checks a config that Defaults has filled in; every problem is
// reported, each naming its field.
func (c *Config) validate() error {
	var errs []error
	atLeast := func(name string, v, lo int) {
		if v < lo {
			errs = append(errs, fmt.Errorf("%s is %d, must be at least %d", name, v, lo))
		}
	}
	atLeast("users", c.Users, 1)
	atLeast("apps", c.Apps, 10)
	atLeast("new apps per day", c.NewAppsPerDay, 0)
	atLeast("delisted apps per day", c.DelistedPerDay, 0)
	atLeast("days", c.Days, 1)
	atLeast("impressions per day", c.ImpressionsPerDay, 1)
	atLeast("page size", c.PageSize, 1)
	if c.PageSize > 255 {
		errs = append(errs, fmt.Errorf("page size is %d, must be at most 255", c.PageSize))
	}
	if c.LabelWindow <= 0 {
		errs = append(errs, fmt.Errorf("label window is %v, must be positive", c.LabelWindow))
	}
	t := c.Truth
	share := func(name string, v float64) {
		if !(v >= 0 && v <= 1) {
			errs = append(errs, fmt.Errorf("truth %s is %v, must be in [0,1]", name, v))
		}
	}
	if !(t.BaseRate > 0 && t.BaseRate < 1) {
		errs = append(errs, fmt.Errorf("truth base rate is %v, must be in (0,1)", t.BaseRate))
	}
	share("related share", t.RelatedShare)
	share("taste share", t.TasteShare)
	if t.RelatedShare+t.TasteShare > 1 {
		errs = append(errs, fmt.Errorf("truth related share + taste share is %.3g, must be at most 1", t.RelatedShare+t.TasteShare))
	}
	share("unattributed share", t.UnattributedShare)
	share("duplicate share", t.DuplicateShare)
	share("late share", t.LateShare)
	scale := func(name string, v float64) {
		if !(v >= 0 && v <= 20) {
			errs = append(errs, fmt.Errorf("truth %s is %v, must be in [0,20]", name, v))
		}
	}
	scale("pair strength", t.PairStrength)
	scale("taste scale", t.TasteScale)
	scale("taste drift", t.TasteDrift)
	share("pair sources", t.PairSources)
	share("pair targets", t.PairTargets)
	if len(errs) == 0 {
		return nil
	}
	// One line: command-line tools print it as their one-line reason.
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}
