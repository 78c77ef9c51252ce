package status

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/wdstream/wdstream/continuous"
	"github.com/wdstream/wdstream/ingest"
)

// pageData is what the template renders.
type pageData struct {
	Model, Where string
	Now          time.Time
	Uptime       string
	Stages       []stageRow
	Train        *continuous.Status
	Versions     []versionRow // newest first
	VersionsErr  string
	Published    int
	Rejected     int
	// Latest is the version LATEST names, when listed; its row's Drift
	// fills the drift table.
	Latest *versionRow
	Charts []chart
}

// stageRow is one line of the stage table.
type stageRow struct {
	Name    string
	Total   int64   // records processed
	Unit    string  // what Total counts
	Rate    float64 // per second over the last rateWindow
	Lag     string  // consumer lag, or "?"
	Details string
}

// rateWindow is the span the throughput figures average over.
const rateWindow = 10 * time.Second

func (p *Page) data(ctx context.Context) pageData {
	now := p.src.Now()
	d := pageData{Model: p.src.Model, Where: p.src.Where, Now: now}
	hist := p.history()
	var cur sample
	if len(hist) > 0 {
		cur = hist[len(hist)-1]
		if p.src.Join != nil {
			cur.Join = p.src.Join()
		}
		if p.src.Archive != nil {
			cur.Archive = p.src.Archive()
		}
	}
	// The reference point for rates: the newest sample at least
	// rateWindow old, else the oldest.
	var ref sample
	if len(hist) > 0 {
		ref = hist[0]
		for _, s := range hist {
			if now.Sub(s.At) >= rateWindow {
				ref = s
			}
		}
	}
	rate := func(a, b int64) float64 {
		dt := now.Sub(ref.At).Seconds()
		if dt <= 0 || ref.At.IsZero() {
			return 0
		}
		return float64(a-b) / dt
	}
	lag := func(stage string) string {
		if v, ok := cur.Lag[stage]; ok && v >= 0 {
			return fmt.Sprint(v)
		}
		return "?"
	}
	if p.src.Join != nil {
		j, r := cur.Join, ref.Join
		d.Stages = append(d.Stages, stageRow{
			Name: "join", Unit: "events in", Total: j.Impressions + j.Installs + j.DeadLetters,
			Rate: rate(j.Impressions+j.Installs+j.DeadLetters, r.Impressions+r.Installs+r.DeadLetters), Lag: lag("join"),
			Details: joinDetails(j),
		})
	}
	if p.src.Archive != nil {
		a, r := cur.Archive, ref.Archive
		d.Stages = append(d.Stages, stageRow{
			Name: "archive", Unit: "examples", Total: a.Examples, Rate: rate(a.Examples, r.Examples), Lag: lag("archive"),
			Details: fmt.Sprintf("%d Parquet files, %.1f MB uploaded", a.Files, float64(a.Bytes)/1e6),
		})
	}
	if p.src.Train != nil {
		st := p.src.Train()
		d.Train = &st
		d.Uptime = now.Sub(st.Started).Truncate(time.Second).String()
		det := fmt.Sprintf("checkpoint %d", st.Checkpoint)
		if st.LastTS > 0 {
			det += ", newest event time " + time.UnixMilli(st.LastTS).UTC().Format("2006-01-02 15:04:05Z")
		}
		d.Stages = append(d.Stages, stageRow{
			Name: "train", Unit: "examples", Total: st.Examples, Rate: rate(st.Examples, ref.Trained), Lag: lag("train"), Details: det,
		})
	}
	if p.src.Serve != nil {
		sv := p.src.Serve()
		version := sv.Version
		if version == "" {
			version = "none yet"
		}
		d.Stages = append(d.Stages, stageRow{
			Name: "serve", Unit: "requests", Total: sv.Requests, Rate: rate(sv.Requests, ref.Served.Requests), Lag: "-",
			Details: fmt.Sprintf("version %s; latency p50 %s, p99 %s (last %d requests); %d candidates scored; %d overloaded (503), %d non-finite (500); %d reloads, %d versions refused",
				version, ms(sv.P50), ms(sv.P99), sv.Recent, sv.Candidates, sv.Overloaded, sv.NonFinite, sv.Reloads, sv.Refused),
		})
	}
	rows, verr := p.statusVersions(ctx)
	d.VersionsErr = verr
	for i := len(rows) - 1; i >= 0; i-- {
		d.Versions = append(d.Versions, rows[i])
		if rows[i].Latest {
			d.Latest = &rows[i]
		}
		if rows[i].Published {
			d.Published++
		} else {
			d.Rejected++
		}
	}
	d.Charts = p.charts(rows, hist)
	return d
}

// ms formats d in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

// charts builds the page's charts: gate AUC and log loss across versions,
// progressive AUC and log loss over time, and throughput over time.
func (p *Page) charts(rows []versionRow, hist []sample) []chart {
	var vx, auc, loss []float64
	var hollow []bool
	var labels []string
	for _, r := range rows {
		if !r.HasMetric {
			continue
		}
		vx = append(vx, float64(len(vx)+1))
		auc = append(auc, r.AUC)
		loss = append(loss, r.LogLoss)
		hollow = append(hollow, !r.Published)
		labels = append(labels, r.Time.UTC().Format("15:04:05"))
	}
	vtick := func(x float64) string {
		i := int(math.Round(x)) - 1
		if i >= 0 && i < len(labels) && math.Abs(x-math.Round(x)) < 0.01 {
			return labels[i]
		}
		return ""
	}
	noVersion := "no candidate evaluated yet"
	out := []chart{
		{ID: "chart-version-auc", Title: "Gate AUC by version (hollow: rejected)", XTick: vtick, Empty: noVersion,
			Series: []chartSeries{{Name: "AUC on the fresh set", Color: colorAUC, X: vx, Y: auc, Hollow: hollow, Dots: true}}},
		{ID: "chart-version-logloss", Title: "Gate log loss by version (hollow: rejected)", XTick: vtick, Empty: noVersion,
			Series: []chartSeries{{Name: "log loss on the fresh set", Color: colorLoss, X: vx, Y: loss, Hollow: hollow, Dots: true}}},
	}
	var tx, pa, pl, rin, rtr []float64
	var t0 time.Time
	if len(hist) > 0 {
		t0 = hist[0].At
	}
	for i, s := range hist {
		x := s.At.Sub(t0).Seconds()
		if s.ProgCount > 0 {
			tx = append(tx, x)
			pa = append(pa, s.ProgAUC)
			pl = append(pl, s.ProgLogLoss)
		}
		if i > 0 {
			dt := s.At.Sub(hist[i-1].At).Seconds()
			if dt > 0 {
				prev := hist[i-1]
				rin = append(rin, float64(s.Join.Impressions+s.Join.Installs-prev.Join.Impressions-prev.Join.Installs)/dt)
				rtr = append(rtr, float64(s.Trained-prev.Trained)/dt)
			}
		}
	}
	ttick := func(x float64) string { return (time.Duration(x) * time.Second).String() }
	noProg := "no progressive metrics yet"
	out = append(out,
		chart{ID: "chart-progressive-auc", Title: "Progressive AUC over time (predicted before training)", XTick: ttick, Empty: noProg,
			Series: []chartSeries{{Name: "progressive AUC", Color: colorAUC, X: tx, Y: pa}}},
		chart{ID: "chart-progressive-logloss", Title: "Progressive log loss over time", XTick: ttick, Empty: noProg,
			Series: []chartSeries{{Name: "progressive log loss", Color: colorLoss, X: tx, Y: pl}}},
	)
	if p.src.Serve != nil {
		var sx, p50, p99 []float64
		for _, s := range hist {
			if s.Served.Requests > 0 {
				sx = append(sx, s.At.Sub(t0).Seconds())
				p50 = append(p50, float64(s.Served.P50)/1e6)
				p99 = append(p99, float64(s.Served.P99)/1e6)
			}
		}
		out = append(out, chart{ID: "chart-serve-latency", Title: "Serving latency, ms (over the last 1024 requests)", XTick: ttick, Empty: "no request served yet",
			Series: []chartSeries{{Name: "p50", Color: colorAUC, X: sx, Y: p50}, {Name: "p99", Color: colorLoss, X: sx, Y: p99}}})
	}
	if len(hist) > 1 {
		var rx []float64
		for _, s := range hist[1:] {
			rx = append(rx, s.At.Sub(t0).Seconds())
		}
		var series []chartSeries
		if p.src.Join != nil {
			series = append(series, chartSeries{Name: "join: events/s", Color: colorInput, X: rx, Y: rin})
		}
		if p.src.Train != nil {
			series = append(series, chartSeries{Name: "train: examples/s", Color: colorTrain, X: rx, Y: rtr})
		}
		if len(series) > 0 {
			out = append(out, chart{ID: "chart-throughput", Title: "Throughput", XTick: ttick, Empty: "no samples yet", Series: series})
		}
	}
	return out
}

// joinDetails says what the join produced and holds: its pending state in
// memory and, under join.max_state_bytes, on disk, and any impression
// closed early at join.max_pending (its label may be wrong).
func joinDetails(j ingest.JoinStats) string {
	det := fmt.Sprintf("%d examples out (%d positive), %d pending (state %.1f MB), %d dead letters, %d late installs, %d partitions",
		j.Examples, j.Positives, j.Pending, float64(j.StateBytes)/1e6, j.DeadLetters, j.LateInstalls, j.Assigned)
	if j.Spilled > 0 {
		now := ""
		if j.Spilling > 0 {
			now = ", over budget now"
		}
		det += fmt.Sprintf("; spill: %d messages on disk (%.1f MB), %d written, %d read back%s",
			j.SpillLive, float64(j.SpillDiskBytes)/1e6, j.Spilled, j.SpillReads, now)
	}
	if j.Forced > 0 {
		det += fmt.Sprintf("; %d closed early at max_pending", j.Forced)
	}
	return det
}
