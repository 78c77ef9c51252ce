// Command freshness measures, for every example of the examples topic, the
// time from its impression's label window closing (ts + window; the bench
// streams with event time = wall time) to the creation of the first
// published version whose manifest covers it (its offset is below the
// version's recorded next offset of its partition). bench/freshness.sh runs
// it after streaming into the service.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/s3blob"

	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/publisher"
)

func main() {
	brokers := flag.String("brokers", "", "Kafka brokers")
	topic := flag.String("topic", "examples", "examples topic")
	storeURL := flag.String("store", "", "model store URL")
	model := flag.String("model", "", "model name")
	window := flag.Duration("window", time.Minute, "label window of the spec")
	flag.Parse()
	ctx := context.Background()

	st, err := publisher.OpenStore(ctx, *storeURL)
	if err != nil {
		log.Fatal(err)
	}
	vs, err := st.Versions(ctx, *model)
	if err != nil {
		log.Fatal(err)
	}
	type version struct {
		created time.Time
		offsets map[int]int64
	}
	var vers []version
	for _, v := range vs {
		m, err := st.Manifest(ctx, *model, v)
		if err != nil {
			log.Fatal(err)
		}
		offs := map[int]int64{}
		for k, o := range m.Data.Offsets {
			if rest, ok := strings.CutPrefix(k, *topic+"/"); ok {
				p, _ := strconv.Atoi(rest)
				offs[p] = o
			}
		}
		vers = append(vers, version{m.Created, offs})
	}
	sort.Slice(vers, func(i, j int) bool { return vers[i].created.Before(vers[j].created) })
	if len(vers) == 0 {
		log.Fatal("no published version")
	}

	c := kafka.NewClient(strings.Split(*brokers, ","), kafka.Auth{})
	offs, err := c.Offsets(ctx, *topic)
	if err != nil {
		log.Fatal(err)
	}
	end := map[int]int64{}
	left := 0
	for _, o := range offs {
		end[o.Partition] = o.End
		left += int(o.End - o.First)
	}
	src, err := kafka.OpenSource(ctx, kafka.SourceConfig{Brokers: strings.Split(*brokers, ","), Topic: *topic})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	var all, steady []float64
	uncovered := 0
	first := vers[0].created
	for left > 0 {
		var r kafka.SourceRecord
		select {
		case r = <-src.Records():
		case err := <-src.Err():
			log.Fatal(err)
		}
		if r.Offset >= end[r.Partition] {
			continue
		}
		left--
		var ex struct {
			TS int64 `json:"ts"`
		}
		if err := json.Unmarshal(r.Value, &ex); err != nil {
			log.Fatal(err)
		}
		i := sort.Search(len(vers), func(i int) bool { return vers[i].offsets[r.Partition] > r.Offset })
		if i == len(vers) {
			uncovered++
			continue
		}
		closed := time.UnixMilli(ex.TS).Add(*window)
		d := vers[i].created.Sub(closed).Seconds()
		all = append(all, d)
		if closed.After(first) {
			steady = append(steady, d)
		}
	}
	fmt.Printf("versions published: %d, the first at %s, the last at %s\n", len(vers), first.Format(time.TimeOnly), vers[len(vers)-1].created.Format(time.TimeOnly))
	report("all examples", all)
	report("window closed after the first version (steady state)", steady)
	fmt.Printf("examples no version covers yet: %d\n", uncovered)
}

func report(what string, d []float64) {
	if len(d) == 0 {
		fmt.Printf("%s: none\n", what)
		return
	}
	slices.Sort(d)
	q := func(f float64) float64 { return d[min(len(d)-1, int(f*float64(len(d))))] }
	fmt.Printf("freshness, %s (%d): median %.1fs, p90 %.1fs, p99 %.1fs, max %.1fs, min %.1fs\n", what, len(d), q(0.5), q(0.9), q(0.99), d[len(d)-1], d[0])
}
