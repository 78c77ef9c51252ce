package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/wdstream/wdstream/simulate"
)

// simulateCommand writes a seeded app-store world's impressions and
// installs to files.
func simulateCommand() command {
	return command{
		name:    "simulate",
		summary: "write a seeded app-store world (impressions, installs) to Parquet or JSONL files",
		run:     runSimulate,
	}
}

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("simulate", "--out DIR [flags]", stderr)
	def := simulate.Config{}.Defaults()
	out := fs.String("out", "", "output directory: writes DIR/impressions/day-NNN.EXT and DIR/installs/day-NNN.EXT (required)")
	format := fs.String("format", string(simulate.FormatParquet), "file format: parquet or jsonl")
	seed := fs.Uint64("seed", 1, "seed of every random stream")
	users := fs.Int("users", def.Users, "users in the world")
	apps := fs.Int("apps", def.Apps, "apps in the catalog on the first day")
	newApps := fs.Int("new-apps-per-day", -1, "apps launching every later day (-1: apps/50)")
	delisted := fs.Int("delisted-per-day", 0, "apps leaving the store every later day, drawn uniformly among the live ones (never impressed again)")
	days := fs.Int("days", def.Days, "simulated days")
	perDay := fs.Int("impressions-per-day", def.ImpressionsPerDay, "impressions per simulated day")
	pageSize := fs.Int("page-size", def.PageSize, "slots per page view (positions 1..N)")
	window := fs.Duration("label-window", def.LabelWindow, "label window of the realized labels in the report")
	report := fs.Bool("report", false, "print the per-day report and the last day's ablation AUCs")
	latent := fs.Bool("latent-taste", false, "harder world: each user's taste is private drifting noise, revealed only by the apps the user installs")
	kf := addKafkaSimFlags(fs) // --brokers: stream into Kafka instead (simulate_kafka.go)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" && !kf.enabled() {
		return flagError(fs, "--out or --brokers is required")
	}
	f, err := simulate.ParseFormat(*format)
	if err != nil {
		return flagError(fs, "--"+err.Error())
	}
	for _, c := range []struct {
		name string
		v    int
	}{{"users", *users}, {"apps", *apps}, {"days", *days}, {"impressions-per-day", *perDay}, {"page-size", *pageSize}} {
		if c.v <= 0 {
			return flagError(fs, fmt.Sprintf("--%s %d: must be positive", c.name, c.v))
		}
	}
	if *window <= 0 {
		return flagError(fs, fmt.Sprintf("--label-window %v: must be positive", *window))
	}
	if *delisted < 0 {
		return flagError(fs, fmt.Sprintf("--delisted-per-day %d: must be 0 or more", *delisted))
	}
	if err := kf.check(*days); err != nil {
		return flagError(fs, err.Error())
	}
	cfg := simulate.Config{
		Seed: *seed, Users: *users, Apps: *apps, Days: *days, ImpressionsPerDay: *perDay,
		PageSize: *pageSize, LabelWindow: *window, DelistedPerDay: *delisted,
	}
	truth := simulate.DefaultTruth()
	truth.LatentTaste = *latent
	cfg.Truth = &truth
	switch {
	case *newApps == 0:
		cfg.NewAppsPerDay = -1 // none
	case *newApps > 0:
		cfg.NewAppsPerDay = *newApps
	case *newApps < -1:
		return flagError(fs, fmt.Sprintf("--new-apps-per-day %d: must be -1 or more", *newApps))
	}

	w, err := simulate.NewWorld(cfg)
	if err != nil {
		return err
	}
	cfg = w.Config()
	if kf.enabled() {
		return kf.run(ctx, w, stdout, stderr)
	}
	taste := "observable"
	if cfg.Truth.LatentTaste {
		taste = "latent"
	}
	fmt.Fprintf(stderr, "simulate: seed %d, %d users, %d apps (+%d a day), %d days of %d impressions, %s taste, %s into %s\n",
		cfg.Seed, cfg.Users, cfg.Apps, cfg.NewAppsPerDay, cfg.Days, cfg.ImpressionsPerDay, taste, f, *out)
	start := time.Now()
	lastPrint := start
	progress := func(p simulate.Progress) {
		now := time.Now()
		if now.Sub(lastPrint) < time.Second {
			return
		}
		lastPrint = now
		fmt.Fprintf(stderr, "simulate: day %d/%d, %d events (%d impressions, %d installs), %.0f events/s\n",
			p.Day+1, cfg.Days, p.Events(), p.Impressions, p.Installs, float64(p.Events())/now.Sub(start).Seconds())
	}
	rep, err := simulate.WriteFiles(ctx, w, simulate.WriteOptions{Dir: *out, Format: f, Progress: progress})
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	events := rep.Impressions + rep.Installs
	oracle := 0.0
	if l := rep.Last(); l != nil {
		oracle = l.OracleAUC
	}
	fmt.Fprintf(stdout, "simulate: wrote %d events (%d impressions, %d installs) in %.1fs, %.0f events/s; base rate %.4f; oracle AUC of the last day %.4f\n",
		events, rep.Impressions, rep.Installs, elapsed.Seconds(), float64(events)/elapsed.Seconds(), rep.BaseRate(), oracle)
	if *report {
		if err := rep.WriteText(stdout); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	}
	return nil
}
