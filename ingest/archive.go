package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gocloud.dev/blob"

	"github.com/wdstream/wdstream/internal/backoff"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/schemas"
)

// ArchiveConfig configures an ArchiveStage. Brokers and Bucket are required.
type ArchiveConfig struct {
	Brokers []string
	// Auth (TLS, SASL) for every connection of the stage. Default:
	// plaintext without authentication.
	Auth kafka.Auth
	// Group is the consumer group id. Default DefaultArchiveGroup.
	Group string
	// Topic to archive. Default DefaultExamplesTopic.
	Topic string
	// Bucket receives the files under Prefix (e.g. "MODEL/examples/").
	Bucket *blob.Bucket
	Prefix string
	// Columns are the feature columns every file declares (the spec's);
	// a file also declares the columns of its first example. Values of
	// other columns are counted in ArchiveStats.Undeclared and not written.
	Columns []schemas.Column
	// FileBytes: a file is cut when its Parquet bytes reach this. Default 128 MiB.
	FileBytes int64
	// FlushInterval: a file open this long is cut. Default 5m.
	FlushInterval time.Duration
	// RowGroupRows of the Parquet files. Default 16,384.
	RowGroupRows int
	// DrainTimeout bounds the last upload at shutdown. Default 25s.
	DrainTimeout time.Duration
	Logger       *slog.Logger
	// Registerer receives the stage's metrics (wdstream_archive_*); nil: none.
	Registerer prometheus.Registerer
}

func (c *ArchiveConfig) validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("archive stage: no brokers")
	}
	if c.Bucket == nil {
		return errors.New("archive stage: no bucket")
	}
	if c.Group == "" {
		c.Group = DefaultArchiveGroup
	}
	if c.Topic == "" {
		c.Topic = DefaultExamplesTopic
	}
	if c.Prefix != "" && !strings.HasSuffix(c.Prefix, "/") {
		c.Prefix += "/"
	}
	if c.FileBytes <= 0 {
		c.FileBytes = 128 << 20
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 5 * time.Minute
	}
	if c.RowGroupRows <= 0 {
		c.RowGroupRows = 16 << 10
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 25 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// ArchiveStage writes the examples topic to Parquet files (see the package
// doc, "Archive").
type ArchiveStage struct {
	cfg    ArchiveConfig
	client *kafka.Client
	logger *slog.Logger
	stats  archiveCounters
}

// NewArchiveStage checks cfg.
func NewArchiveStage(cfg ArchiveConfig) (*ArchiveStage, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &ArchiveStage{cfg: cfg, client: kafka.NewClient(cfg.Brokers, cfg.Auth), logger: cfg.Logger.With("component", "archive")}
	if cfg.Registerer != nil {
		registerArchiveMetrics(cfg.Registerer, a.Stats)
	}
	return a, nil
}

// Stats returns the counters so far.
func (a *ArchiveStage) Stats() ArchiveStats { return a.stats.snapshot() }

// Run archives until ctx is done, then uploads the open files, commits and
// returns nil.
func (a *ArchiveStage) Run(ctx context.Context) error {
	if _, err := a.client.WaitForTopic(ctx, a.cfg.Topic, a.logger); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	g := &kafka.GroupRunner{Brokers: a.cfg.Brokers, Auth: a.cfg.Auth, Group: a.cfg.Group, Topics: []string{a.cfg.Topic}, Logger: a.logger,
		Work: func(ctx context.Context, gen kafka.Generation, p int) error {
			bo := backoff.New(500*time.Millisecond, 10*time.Second)
			for {
				err := a.runPartition(ctx, gen, p)
				if err == nil || ctx.Err() != nil || isFatalGroupErr(err) {
					return err
				}
				a.stats.restarts.Add(1)
				wait := bo.Next()
				a.logger.Warn("archive partition failed, restarting from its committed offset", "partition", p, "err", err, "backoff", wait)
				backoff.Sleep(ctx, wait)
			}
		}}
	return g.Run(ctx)
}

// archiveFile is the one open file of a partition.
type archiveFile struct {
	key         string
	hour        int64 // ts / 1h
	first, last int64 // offsets
	opened      time.Time
	cancel      context.CancelFunc
	bw          *blob.Writer
	cw          countWriter
	ew          *schemas.ExampleWriter
	kinds       map[string]schemas.Kind
	rows        int64
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (a *ArchiveStage) runPartition(ctx context.Context, gen kafka.Generation, p int) error {
	topic := a.cfg.Topic
	offs, err := a.client.CommittedAt(ctx, a.cfg.Group, p, topic)
	if err != nil {
		return err
	}
	next := offs[topic].Offset
	if next < 0 {
		if next, _, err = a.client.PartitionOffsets(ctx, topic, p); err != nil {
			return err
		}
	}
	committedAt := offs[topic].Offset
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan kafka.Fetched, 4)
	f := &kafka.Fetcher{Client: a.client, Topic: topic, Partition: p, Offset: next, MaxBytes: 4 << 20, MaxWait: 500 * time.Millisecond, Logger: a.logger, Status: kafka.NewFetchStatus()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(fctx, ch)
	}()
	defer func() { cancel(); <-done }()

	var file *archiveFile
	defer func() {
		if file != nil {
			file.abort()
		}
	}()
	commit := func(ctx context.Context, off int64) error {
		if off == committedAt {
			return nil
		}
		if err := a.client.Commit(ctx, gen, p, map[string]kafka.Committed{topic: {Offset: off}}); err != nil {
			return err
		}
		committedAt = off
		a.stats.commits.Add(1)
		return nil
	}
	cut := func(ctx context.Context, why *atomic.Int64) error {
		if file == nil {
			return nil
		}
		f := file
		file = nil
		if err := f.finish(); err != nil {
			return fmt.Errorf("uploading %s: %w", f.key, err)
		}
		a.stats.files.Add(1)
		a.stats.bytes.Add(f.cw.n)
		a.stats.examples.Add(f.rows)
		why.Add(1)
		a.logger.Debug("archived", "key", f.key, "rows", f.rows, "bytes", f.cw.n)
		return commit(ctx, f.last+1)
	}
	var dec schemas.Decoder
	var ex schemas.Example
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			dctx, dcancel := context.WithTimeout(context.Background(), a.cfg.DrainTimeout)
			defer dcancel()
			if err := cut(dctx, &a.stats.cutStop); err != nil {
				return err
			}
			return commit(dctx, next)
		case <-tick.C:
		case b := <-ch:
			if b.Err != nil {
				return b.Err
			}
			for _, m := range b.Msgs {
				next = m.Offset + 1
				if err := dec.Example(m.Value, &ex); err != nil {
					a.stats.bad.Add(1)
					a.logger.Warn("skipping an example that does not decode", "partition", p, "offset", m.Offset, "err", err)
					continue
				}
				hour := floorDiv(ex.TS, 3_600_000)
				if file != nil && file.hour != hour {
					if err := cut(ctx, &a.stats.cutHour); err != nil {
						return err
					}
				}
				if file == nil {
					if file, err = a.open(p, m.Offset, hour, &ex); err != nil {
						return err
					}
				}
				if err := file.write(&ex, &a.stats); err != nil {
					return fmt.Errorf("writing %s: %w", file.key, err)
				}
				file.last = m.Offset
				if file.cw.n >= a.cfg.FileBytes {
					if err := cut(ctx, &a.stats.cutBytes); err != nil {
						return err
					}
				}
			}
			if len(b.Msgs) == 0 {
				next = max(next, b.Next)
			}
		}
		if file != nil && time.Since(file.opened) >= a.cfg.FlushInterval {
			if err := cut(ctx, &a.stats.cutTime); err != nil {
				return err
			}
		}
		if file == nil {
			if err := commit(ctx, next); err != nil {
				return err
			}
		}
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// open starts the file whose first example is ex at offset off.
func (a *ArchiveStage) open(p int, off, hour int64, ex *schemas.Example) (*archiveFile, error) {
	t := time.UnixMilli(hour * 3_600_000).UTC()
	key := fmt.Sprintf("%sdate=%s/hour=%02d/part-%05d-%020d.parquet", a.cfg.Prefix, t.Format("2006-01-02"), t.Hour(), p, off)
	kinds := map[string]schemas.Kind{}
	for _, c := range a.cfg.Columns {
		kinds[c.Name] = c.Kind
	}
	for name, v := range ex.Features {
		if v.Kind != schemas.KindNull {
			kinds[name] = v.Kind
		}
	}
	cols := make([]schemas.Column, 0, len(kinds))
	for name, k := range kinds {
		cols = append(cols, schemas.Column{Name: name, Kind: k})
	}
	slices.SortFunc(cols, func(x, y schemas.Column) int { return strings.Compare(x.Name, y.Name) })
	ctx, cancel := context.WithCancel(context.Background())
	bw, err := a.cfg.Bucket.NewWriter(ctx, key, &blob.WriterOptions{ContentType: "application/vnd.apache.parquet"})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("opening %s: %w", key, err)
	}
	f := &archiveFile{key: key, hour: hour, first: off, opened: time.Now(), cancel: cancel, bw: bw, kinds: kinds}
	f.cw.w = bw
	if f.ew, err = schemas.NewExampleWriter(&f.cw, cols, schemas.WithRowGroupRows(a.cfg.RowGroupRows)); err != nil {
		f.abort()
		return nil, err
	}
	return f, nil
}

func (f *archiveFile) write(ex *schemas.Example, st *archiveCounters) error {
	for name, v := range ex.Features {
		if k, ok := f.kinds[name]; ok && v.Kind != schemas.KindNull && v.Kind != k {
			delete(ex.Features, name)
			st.dropped.Add(1)
		}
	}
	before := f.ew.Undeclared()
	if err := f.ew.Write(ex); err != nil {
		return err
	}
	st.undeclared.Add(f.ew.Undeclared() - before)
	f.rows++
	return nil
}

// finish completes the upload: the object appears only now.
func (f *archiveFile) finish() error {
	defer f.cancel()
	if err := f.ew.Close(); err != nil {
		f.abort()
		return err
	}
	return f.bw.Close()
}

// abort discards the upload: nothing becomes visible.
func (f *archiveFile) abort() {
	f.cancel()
	_ = f.bw.Close()
}
