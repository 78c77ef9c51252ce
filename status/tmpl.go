package status

import (
	"fmt"
	"html/template"
	"time"
)

var statusTemplate = template.Must(template.New("status").Funcs(template.FuncMap{
	"f4":   func(v float64) string { return fmt.Sprintf("%.4f", v) },
	"f0":   func(v float64) string { return fmt.Sprintf("%.0f", v) },
	"f3":   func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<title>wdstream · {{.Model}}</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
h2 { font-size: 1.1em; margin-top: 1.5em; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.rejected td, tr.drifted td { color: #a33; }
tr.latest td { font-weight: bold; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.err { color: #a33; }
</style>
</head>
<body>
<h1>wdstream · model <code>{{.Model}}</code></h1>
<p class="sub">{{when .Now}}{{if .Uptime}} · up {{.Uptime}}{{end}}{{if .Where}} · store {{.Where}}{{end}} · refreshes every 5 s · <a href="/metrics">/metrics</a></p>

<h2>Stages</h2>
<table id="stages">
<tr><th>stage</th><th>total</th><th>per second (last 10 s)</th><th>Kafka lag (records)</th><th>details</th></tr>
{{range .Stages}}<tr><td>{{.Name}}</td><td class="n">{{.Total}} {{.Unit}}</td><td class="n">{{f0 .Rate}}</td><td class="n">{{.Lag}}</td><td>{{.Details}}</td></tr>
{{else}}<tr><td colspan="5">no stage runs in this process</td></tr>
{{end}}</table>
{{with .Train}}<p>Progressive validation (each example scored before it is trained on, last {{.Progressive.Count}} examples):
AUC <b id="prog-auc">{{f4 .Progressive.AUC}}</b>, log loss <b>{{f4 .Progressive.LogLoss}}</b>, calibration {{f4 .Progressive.Calibration}}.
{{if .LastPublished}}Latest published by this process: <code>{{.LastPublished}}</code>.{{end}}</p>{{end}}

<h2>Charts</h2>
<div class="charts">
{{range .Charts}}{{.SVG}}
{{end}}</div>

<h2>Model versions ({{.Published}} published, {{.Rejected}} rejected)</h2>
{{if .VersionsErr}}<p class="err">reading the store: {{.VersionsErr}}</p>{{end}}
<table id="versions">
<tr><th>version</th><th>created</th><th>verdict</th><th>AUC</th><th>log loss</th><th>calibration</th><th>baseline (AUC)</th><th>fresh examples</th><th>trained on</th><th>failed checks</th></tr>
{{range .Versions}}<tr class="{{if .Published}}published{{else}}rejected{{end}}{{if .Latest}} latest{{end}}">
<td><code>{{.Version}}</code>{{if .Latest}} (LATEST){{end}}</td><td>{{when .Time}}</td><td>{{.Verdict}}</td>
{{if .HasMetric}}<td class="n">{{f4 .AUC}}</td><td class="n">{{f4 .LogLoss}}</td><td class="n">{{f4 .Calib}}</td>{{else}}<td></td><td></td><td></td>{{end}}
<td>{{if .Baseline}}<code>{{.Baseline}}</code> ({{f4 .BaseAUC}}){{else}}none{{end}}</td><td class="n">{{.Fresh}}</td><td class="n">{{if .Published}}{{.Examples}}{{end}}</td><td>{{.Failed}}</td></tr>
{{else}}<tr><td colspan="10">no version yet</td></tr>
{{end}}</table>
<p class="sub">AUC, log loss and calibration are the gate's figures on the fresh examples held back before each publish (neither the candidate nor its baseline trained on them).</p>
{{with .Latest}}
<h2>Drift of LATEST's fresh examples</h2>
<table id="drift">
<tr><th>feature</th><th>statistic</th><th>distance</th><th>threshold</th><th></th></tr>
{{range .Drift}}<tr class="drift{{if .Drifted}} drifted{{end}}"><td>{{.Feature}}</td><td>{{.Statistic}}</td><td class="n">{{f3 .Value}}</td><td class="n">{{f3 .Threshold}}</td><td>{{if .Drifted}}drifted ({{.Action}}){{end}}</td></tr>
{{else}}<tr><td colspan="5">not measured (see the drift check of <code>{{.Version}}</code>)</td></tr>
{{end}}</table>
<p class="sub">The features whose statistics on the fresh examples of <code>{{.Version}}</code>'s gate were farthest from those its baseline recorded of its training data, largest first (distance over threshold): L-infinity of categorical distributions, Jensen-Shannon divergence in bits of numeric ones, difference of missing shares.</p>
{{end}}
{{with .Latest}}{{if .Vocabs}}
<h2>Vocabularies of LATEST</h2>
<table id="vocabularies">
<tr><th>feature</th><th>ids</th><th>strings</th><th>ttl</th><th>free ids</th><th>evicted since the parent</th></tr>
{{range .Vocabs}}<tr><td>{{.Feature}}</td><td class="n">{{.IDs}}</td><td class="n">{{.Admitted}}</td><td>{{if .TTL}}{{.TTL}}{{else}}none{{end}}</td><td class="n">{{if .TTL}}{{.Free}}{{end}}</td><td class="n">{{if .TTL}}{{.Evicted}}{{end}}</td></tr>
{{end}}</table>
<p class="sub">Ids are the rows of a feature's tables (OOV buckets, strings, and the holes evicted strings left, which new strings reuse); a feature's <code>ttl</code> evicts the strings not seen for that long in event time.</p>
{{end}}{{end}}
</body>
</html>
`))
