package simulate

import (
	"math"
	"math/rand/v2"
)

// tasteDim is the dimension of the latent taste space.
const tasteDim = 4

type vec [tasteDim]float64

func (v *vec) dot(w *vec) float64 {
	var s float64
	for i := range v {
		s += v[i] * w[i]
	}
	return s
}

func (v *vec) addScaled(w *vec, k float64) {
	for i := range v {
		v[i] += k * w[i]
	}
}

func randVec(rng *rand.Rand, sd float64) vec {
	var v vec
	for i := range v {
		v[i] = gauss(rng, sd)
	}
	return v
}

// tasteModel is the generalizing part of the truth: a user's taste for a
// category is the dot product of a user vector and a category vector.
// The user vector is a function of observable columns only: the sum of
// embeddings of country, language, age bucket and device, plus the mean of
// the (initial) category vectors of the user's installed apps. Category
// vectors drift linearly in time.
type tasteModel struct {
	country, lang, age, device []vec
	v0, delta                  []vec // per category
	installedK                 float64
	scale                      float64 // multiplies the raw dot product
	days                       int
}

// Taste model constants.
const (
	demoSD        = 0.5  // per-feature embedding spread
	installedK    = 1.0  // weight of the installed-category mean
	tasteChoiceT  = 1.5  // softmax temperature of the taste-based slot source
	initialInstMu = 10.0 // Poisson mean of initial installs (plus 3)
)

func newTasteModel(rng *rand.Rand, nLang, days int, drift float64) *tasteModel {
	m := &tasteModel{installedK: installedK, scale: 1, days: days}
	mk := func(n int) []vec {
		vs := make([]vec, n)
		for i := range vs {
			vs[i] = randVec(rng, demoSD)
		}
		return vs
	}
	m.country = mk(len(countries))
	m.lang = mk(nLang)
	m.age = mk(len(ageBuckets))
	m.device = mk(len(devices))
	m.v0 = mk(len(categories))
	m.delta = make([]vec, len(categories))
	for c := range m.delta {
		d := randVec(rng, 1)
		n := math.Sqrt(d.dot(&d))
		l := math.Sqrt(m.v0[c].dot(&m.v0[c]))
		for i := range d {
			d[i] *= drift * l / n
		}
		m.delta[c] = d
	}
	return m
}

// demo returns the demographic part of a user's vector.
func (m *tasteModel) demo(u *user) vec {
	var v vec
	v.addScaled(&m.country[u.country], 1)
	v.addScaled(&m.lang[u.lang], 1)
	v.addScaled(&m.age[u.age], 1)
	v.addScaled(&m.device[u.device], 1)
	return v
}

// userVec returns the full user vector given its installed apps.
func (m *tasteModel) userVec(u *user, installed []int32, apps []app) vec {
	v := u.demo
	if len(installed) > 0 {
		k := m.installedK / float64(len(installed))
		for _, a := range installed {
			v.addScaled(&m.v0[apps[a].category], k)
		}
	}
	return v
}

// categoryVecs returns the category vectors of day d (dst reused).
func (m *tasteModel) categoryVecs(dst []vec, d int) []vec {
	dst = append(dst[:0], m.v0...)
	if m.days <= 1 {
		return dst
	}
	f := float64(d) / float64(m.days-1)
	for c := range dst {
		dst[c].addScaled(&m.delta[c], f)
	}
	return dst
}

// row writes the taste of user vector u for every category into dst.
func (m *tasteModel) row(dst []float32, u *vec, cats []vec) {
	for c := range cats {
		dst[c] = float32(m.scale * u.dot(&cats[c]))
	}
}
