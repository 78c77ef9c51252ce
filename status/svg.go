package status

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// chartSeries is one line of a chart. Points with Hollow set are drawn as
// hollow markers (rejected candidates); Dots draws a marker on every
// point.
type chartSeries struct {
	Name   string
	Color  string
	X, Y   []float64
	Hollow []bool
	Dots   bool
}

// chart is an inline SVG line chart.
type chart struct {
	ID, Title string
	// XTick formats an x value for the axis (nil: %g).
	XTick  func(x float64) string
	Series []chartSeries
	// Empty is shown when no series has a point.
	Empty string
}

const (
	chartW, chartH                     = 600, 240
	padL, padR, padT, padB             = 58, 34, 30, 46
	plotW, plotH                       = chartW - padL - padR, chartH - padT - padB
	chartFont                          = `font-family="sans-serif" font-size="11"`
	colorAUC, colorLoss, colorReject   = "#1f77b4", "#d62728", "#d62728"
	colorInput, colorTrain, colorOther = "#2ca02c", "#9467bd", "#7f7f7f"
)

// SVG renders the chart.
func (c chart) SVG() template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="%s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		html.EscapeString(c.ID), chartW, chartH, chartW, chartH, html.EscapeString(c.Title))
	fmt.Fprintf(&b, `<title>%s</title><rect x="0" y="0" width="%d" height="%d" fill="#fff"/>`, html.EscapeString(c.Title), chartW, chartH)
	fmt.Fprintf(&b, `<text x="%d" y="18" %s font-size="13" font-weight="bold">%s</text>`, padL, chartFont, html.EscapeString(c.Title))
	x0, x1, y0, y1, n := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1), 0
	for _, s := range c.Series {
		for i := range s.X {
			if math.IsNaN(s.Y[i]) || math.IsInf(s.Y[i], 0) {
				continue
			}
			x0, x1 = math.Min(x0, s.X[i]), math.Max(x1, s.X[i])
			y0, y1 = math.Min(y0, s.Y[i]), math.Max(y1, s.Y[i])
			n++
		}
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#ccc"/>`, padL, padT, plotW, plotH)
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" %s fill="#777" text-anchor="middle">%s</text></svg>`, padL+plotW/2, padT+plotH/2, chartFont, html.EscapeString(c.Empty))
		return template.HTML(b.String())
	}
	if x1 == x0 {
		x0, x1 = x0-1, x1+1
	}
	pad := (y1 - y0) * 0.08
	if pad == 0 {
		pad = math.Max(math.Abs(y0)*0.02, 0.005)
	}
	y0, y1 = y0-pad, y1+pad
	px := func(x float64) float64 { return padL + (x-x0)/(x1-x0)*plotW }
	py := func(y float64) float64 { return padT + plotH - (y-y0)/(y1-y0)*plotH }
	// Grid and axes.
	for i := 0; i <= 4; i++ {
		y := y0 + (y1-y0)*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/>`, padL, padL+plotW, py(y), py(y))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" %s text-anchor="end">%s</text>`, padL-4, py(y)+4, chartFont, fmtTick(y, y1-y0))
	}
	xt := c.XTick
	if xt == nil {
		xt = func(x float64) string { return fmt.Sprintf("%g", x) }
	}
	for i := 0; i <= 4; i++ {
		x := x0 + (x1-x0)*float64(i)/4
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s text-anchor="middle">%s</text>`, px(x), padT+plotH+14, chartFont, html.EscapeString(xt(x)))
	}
	// Lines and markers.
	lx := padL
	for _, s := range c.Series {
		var pts []string
		for i := range s.X {
			if math.IsNaN(s.Y[i]) || math.IsInf(s.Y[i], 0) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.X[i]), py(s.Y[i])))
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline class="series" fill="none" stroke="%s" stroke-width="2" points="%s"/>`, s.Color, strings.Join(pts, " "))
		}
		if s.Dots || len(pts) == 1 {
			for i := range s.X {
				if math.IsNaN(s.Y[i]) || math.IsInf(s.Y[i], 0) {
					continue
				}
				fill, stroke := s.Color, s.Color
				if i < len(s.Hollow) && s.Hollow[i] {
					fill, stroke = "#fff", colorReject
				}
				fmt.Fprintf(&b, `<circle class="point" cx="%.1f" cy="%.1f" r="4" fill="%s" stroke="%s" stroke-width="2"/>`, px(s.X[i]), py(s.Y[i]), fill, stroke)
			}
		}
		// Legend below the plot.
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" %s>%s</text>`,
			lx, chartH-14, s.Color, lx+14, chartH-5, chartFont, html.EscapeString(s.Name))
		lx += 24 + 7*len(s.Name)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// fmtTick formats an axis value with as many decimals as the range needs.
func fmtTick(v, span float64) string {
	switch {
	case span >= 100:
		return fmt.Sprintf("%.0f", v)
	case span >= 1:
		return fmt.Sprintf("%.1f", v)
	case span >= 0.1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}
