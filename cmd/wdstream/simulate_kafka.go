package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/simulate"
)

// kafkaSimFlags are the flags of `wdstream simulate` that stream the world
// into Kafka instead of writing files.
type kafkaSimFlags struct {
	brokers    string
	rate       string
	duration   time.Duration
	throughDay int
	partitions int
	impTopic   string
	insTopic   string
	live       bool
	kafkaAuthFlags
}

// addKafkaSimFlags registers the Kafka flags of simulate on fs.
func addKafkaSimFlags(fs *flag.FlagSet) *kafkaSimFlags {
	k := &kafkaSimFlags{}
	fs.StringVar(&k.brokers, "brokers", "", "stream the events to Kafka (comma-separated host:port) instead of writing files")
	fs.StringVar(&k.rate, "rate", "0", "with --brokers: events per second, e.g. 5000/s (0: as fast as possible)")
	fs.DurationVar(&k.duration, "duration", 0, "with --brokers: stop after this long (0: at the end of the simulated days)")
	fs.IntVar(&k.throughDay, "through-day", 0, "with --brokers: stream days 1..N of the --days-day world only, and the installs they cause within the label window after day N (0: every day); the events are those --out writes for those days")
	fs.IntVar(&k.partitions, "partitions", 8, "with --brokers: partitions of the topics when they are created")
	fs.StringVar(&k.impTopic, "topic-impressions", ingest.DefaultImpressionsTopic, "with --brokers: impressions topic")
	fs.StringVar(&k.insTopic, "topic-installs", ingest.DefaultInstallsTopic, "with --brokers: installs topic")
	fs.BoolVar(&k.live, "live", false, "with --brokers: stamp every event with the wall clock when it is produced (event time = wall time, the order kept), for freshness measurements")
	k.kafkaPassEnv = "WDSTREAM_KAFKA_PASSWORD"
	k.kafkaAuthFlags.add(fs)
	return k
}

func (k *kafkaSimFlags) enabled() bool { return k.brokers != "" }

// check validates the flags that need no broker, against the world's
// length days.
func (k *kafkaSimFlags) check(days int) error {
	switch {
	case k.throughDay != 0 && !k.enabled():
		return fmt.Errorf("--through-day %d needs --brokers (files are written by day: read the days you need)", k.throughDay)
	case k.throughDay < 0 || k.throughDay > days:
		return fmt.Errorf("--through-day %d: want 1 to --days (%d), or 0 for every day", k.throughDay, days)
	}
	return nil
}

// parseRate reads "N", "N/s".
func parseRate(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "/s"), 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("--rate %q: want events per second, e.g. 5000/s", s)
	}
	return v, nil
}

// run streams w's events in event-time order into the two topics, keyed by
// user_id, at the given rate.
func (k *kafkaSimFlags) run(ctx context.Context, w *simulate.World, stdout, stderr io.Writer) error {
	rate, err := parseRate(k.rate)
	if err != nil {
		return err
	}
	if k.partitions < 1 {
		return fmt.Errorf("--partitions %d: must be positive", k.partitions)
	}
	days := w.Config().Days
	if k.throughDay > 0 { // checked by check
		days = k.throughDay
	}
	var brokers []string
	for _, b := range strings.Split(k.brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	auth, err := k.auth()
	if err != nil {
		return err
	}
	p, err := ingest.NewEventProducer(ctx, brokers, auth, k.impTopic, k.insTopic, k.partitions)
	if err != nil {
		return err
	}
	start := time.Now()
	var deadline time.Time
	if k.duration > 0 {
		deadline = start.Add(k.duration)
	}
	var imps, ins, lastTS int64
	lastPrint, lastFlush := start, start
	errStop := fmt.Errorf("duration reached")
	_, err = w.RunDays(ctx, days, func(e simulate.Event) error {
		if k.live {
			now := max(time.Now().UnixMilli(), lastTS) // never back in time
			lastTS = now
			if e.Impression != nil {
				e.Impression.TS = now
			} else {
				e.Install.TS = now
			}
		}
		if e.Impression != nil {
			p.Impression(e.Impression)
			imps++
		} else {
			p.Install(e.Install)
			ins++
		}
		n := imps + ins
		// Flush in batches: every 4 MiB, or every 100 ms when paced.
		if p.Buffered() >= 4<<20 || (rate > 0 && n%64 == 0 && time.Since(lastFlush) >= 100*time.Millisecond) {
			if err := p.Flush(ctx); err != nil {
				return err
			}
			lastFlush = time.Now()
		}
		if rate > 0 && n%64 == 0 {
			if ahead := time.Duration(float64(n)/rate*float64(time.Second)) - time.Since(start); ahead > 0 {
				select {
				case <-time.After(ahead):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		if now := time.Now(); now.Sub(lastPrint) >= time.Second {
			lastPrint = now
			fmt.Fprintf(stderr, "simulate: %d events (%d impressions, %d installs), %.0f events/s\n", n, imps, ins, float64(n)/now.Sub(start).Seconds())
		}
		if !deadline.IsZero() && n%64 == 0 && time.Now().After(deadline) {
			return errStop
		}
		return nil
	})
	if err != nil && err != errStop {
		return err
	}
	if err := p.Flush(ctx); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(stdout, "simulate: produced %d events (%d impressions to %s, %d installs to %s, %d partitions) in %.1fs, %.0f events/s\n",
		imps+ins, imps, k.impTopic, ins, k.insTopic, p.Partitions(), el.Seconds(), float64(imps+ins)/el.Seconds())
	return nil
}
