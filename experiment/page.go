package experiment

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
)

// LineStatus is what a page shows of an arm's model line besides the
// experiment's counts: its own status page, its gate's outcomes and the
// version it serves.
type LineStatus struct {
	Name       string `json:"name"`
	StatusURL  string `json:"status_url"`
	Published  int    `json:"versions_published"`
	Rejected   int    `json:"versions_rejected"`
	Serving    string `json:"serving"`
	Examples   int64  `json:"examples"`
	Positives  int64  `json:"positives"`
	OfflineAUC string `json:"offline_auc,omitempty"`
}

// Page is the experiment's live page: a table of the arms (acquisition with
// its interval, gain over the control, verdict, the line's versions),
// refreshed every 5 seconds; ?format=json gives the same as JSON.
type Page struct {
	exp   *Experiment
	lines func() []LineStatus
}

// NewPage returns the page of e; lines gives each arm's line status, in
// the arms' order.
func NewPage(e *Experiment, lines func() []LineStatus) *Page { return &Page{exp: e, lines: lines} }

type pageRow struct {
	Arm  ArmReport
	Line LineStatus
}

var pageTmpl = template.Must(template.New("experiment").Funcs(template.FuncMap{
	"pct": func(x float64) string { return fmt.Sprintf("%+.2f%%", 100*x) },
	"f4":  func(x float64) string { return fmt.Sprintf("%.4f", x) },
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>wdstream experiment</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#eee}td:first-child{text-align:left}</style>
</head><body>
<h1>wdstream experiment</h1>
<p>{{.Report.Requests}} requests{{if .Report.Final}}: the horizon is reached{{else}}; no verdict before the horizon (fixed in advance){{end}}.
{{if .Report.Paired}}Paired: every arm answers every request; gains on the same users' paired counts. {{end}}Acquisition = installs per impression shown; 95% intervals by the delta method with the user as the unit; a verdict needs {{.Report.MinImpressions}} impressions an arm.</p>
<table><tr><th>arm</th><th>users</th><th>impressions</th><th>installs</th><th>acquisition (95% CI)</th><th>gain over control (95% CI)</th><th>verdict</th><th>versions published / rejected</th><th>serving</th><th>joined examples (positive)</th><th>failed requests</th></tr>
{{range .Rows}}<tr><td>{{if .Line.StatusURL}}<a href="{{.Line.StatusURL}}">{{.Arm.Name}}</a>{{else}}{{.Arm.Name}}{{end}}</td><td>{{.Arm.Rate.Users}}</td><td>{{.Arm.Rate.Impressions}}</td><td>{{.Arm.Rate.Installs}}</td>
<td>{{f4 .Arm.Rate.Rate}} [{{f4 .Arm.Rate.Low}}, {{f4 .Arm.Rate.High}}]</td>
<td>{{with .Arm.Gain}}{{pct .Gain}} [{{pct .Low}}, {{pct .High}}]{{else}}control{{end}}</td><td>{{.Arm.Verdict}}</td>
<td>{{.Line.Published}} / {{.Line.Rejected}}</td><td>{{.Line.Serving}}</td><td>{{.Line.Examples}} ({{.Line.Positives}})</td><td>{{.Arm.Errors}}</td></tr>
{{end}}</table></body></html>
`))

// ServeHTTP renders the page (or JSON with ?format=json).
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rep := p.exp.Report()
	lines := p.lines()
	if r.URL.Query().Get("format") == "json" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			Report
			Lines []LineStatus `json:"lines"`
		}{rep, lines})
		return
	}
	data := struct {
		Report Report
		Rows   []pageRow
	}{Report: rep}
	for i, a := range rep.Arms {
		row := pageRow{Arm: a}
		if i < len(lines) {
			row.Line = lines[i]
		}
		data.Rows = append(data.Rows, row)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTmpl.Execute(w, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
