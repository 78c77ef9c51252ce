package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// country is a user market: its share of users, languages and wealth
// (which sets device mix and price sensitivity). Read-only table.
type country struct {
	code    string
	weight  float64
	lang    string  // primary language
	langP   float64 // share of users with the primary language; the rest use "en"
	wealth  float64 // 0..1
	tzShift int     // hours from UTC: page views follow the rhythm in local time
}

var countries = []country{
	{"US", 18, "en", 0.92, 1.0, -6}, {"IN", 20, "hi", 0.55, 0.2, 5}, {"BR", 10, "pt", 0.9, 0.4, -3},
	{"ID", 8, "id", 0.85, 0.3, 7}, {"JP", 6, "ja", 0.95, 0.9, 9}, {"DE", 5, "de", 0.85, 0.9, 1},
	{"GB", 5, "en", 0.97, 0.95, 0}, {"FR", 5, "fr", 0.88, 0.85, 1}, {"MX", 6, "es", 0.9, 0.4, -6},
	{"RU", 5, "ru", 0.9, 0.4, 3}, {"KR", 4, "ko", 0.93, 0.85, 9}, {"TR", 4, "tr", 0.88, 0.35, 3},
}

// Read-only tables of the user columns' values.
var devices = []string{"phone_low", "phone_mid", "phone_high", "tablet"}

var ageBuckets = []string{"13-17", "18-24", "25-34", "35-44", "45-54", "55+"}
var ageWeights = []float64{0.08, 0.25, 0.28, 0.20, 0.12, 0.07}

// user is one simulated user. Its observable traits are the impression's
// user columns; its taste is a function of them and of its installed apps,
// or private (latent) with Truth.LatentTaste.
type user struct {
	id       string
	country  int
	lang     int // index into the world's language list
	device   int
	age      int
	activity float64 // relative rate of page views
	// demo is the demographic part of the taste vector (sum of the
	// country, language, age and device embeddings).
	demo vec
	// latent is the day-0 taste vector of a latent-taste world
	// (Truth.LatentTaste): private noise, the user vector in place of
	// demo and the installed categories. Zero otherwise.
	latent vec
	// installed holds the apps installed before the first day.
	installed []int32
}

// userBase draws the demographic traits of user n.
func userBase(rng *rand.Rand, n int, countryW, ageW cdf, langIndex map[string]int) user {
	u := user{id: fmt.Sprintf("u%06d", n)}
	u.country = countryW.sample(rng)
	k := &countries[u.country]
	lang := "en"
	if rng.Float64() < k.langP {
		lang = k.lang
	}
	u.lang = langIndex[lang]
	// Poorer markets use more low-end phones.
	low := 0.1 + 0.5*(1-k.wealth)
	dw := []float64{low, 0.4, 0.35 * k.wealth, 0.1 + 0.05*k.wealth}
	var dc cdf
	u.device = newCDF(dc, dw).sample(rng)
	u.age = ageW.sample(rng)
	u.activity = math.Exp(gauss(rng, 0.8))
	return u
}

// deviceSizePenalty is the logit cost of an app's size on a device: low-end
// phones shy away from big apps, a nonlinear interaction.
func deviceSizePenalty(device int, sizeMB float64) float64 {
	switch device {
	case 0:
		return 0.9 * sigmoid((sizeMB-100)/25)
	case 1:
		return 0.4 * sigmoid((sizeMB-250)/40)
	}
	return 0
}

// pricePenalty is the logit cost of a price in a country: zero for free
// apps, a jump for any price, growing with the price, heavier where users
// are poorer.
func pricePenalty(country int, price float64) float64 {
	if price == 0 {
		return 0
	}
	return (paidPenalty + pricePerLog*math.Log1p(price)) * (1.4 - countries[country].wealth)
}

// positionEffect is the logit cost of slot pos (1-based): steep for the
// first slots, flattening further down.
func positionEffect(pos int) float64 {
	return -0.8 * math.Log(float64(pos))
}
