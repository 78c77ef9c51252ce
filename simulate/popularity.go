package simulate

import "math/rand/v2"

// popularity samples the apps live on one day by their popularity weight
// (launch boost included), over the whole catalog or within a category.
type popularity struct {
	all    cdf
	allIdx []int32
	byCat  []cdf
	catIdx [][]int32
}

func newPopularity(c *catalog, day int) *popularity {
	p := &popularity{byCat: make([]cdf, len(categories)), catIdx: make([][]int32, len(categories))}
	var all []float64
	catW := make([][]float64, len(categories))
	for i := range c.apps {
		wt := c.weightOn(i, day)
		if wt <= 0 {
			continue
		}
		k := c.apps[i].category
		p.allIdx = append(p.allIdx, int32(i))
		all = append(all, wt)
		p.catIdx[k] = append(p.catIdx[k], int32(i))
		catW[k] = append(catW[k], wt)
	}
	p.all = newCDF(nil, all)
	for k := range catW {
		p.byCat[k] = newCDF(nil, catW[k])
	}
	return p
}

// sampleAll draws an app by popularity; -1 when no app is live.
func (p *popularity) sampleAll(rng *rand.Rand) int32 {
	i := p.all.sample(rng)
	if i < 0 {
		return -1
	}
	return p.allIdx[i]
}

// sampleCat draws an app of category k by popularity, falling back to the
// whole catalog when k has no live app.
func (p *popularity) sampleCat(rng *rand.Rand, k int) int32 {
	if k < 0 || len(p.byCat[k]) == 0 {
		return p.sampleAll(rng)
	}
	return p.catIdx[k][p.byCat[k].sample(rng)]
}
