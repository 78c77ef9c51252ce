package simulate_test

import (
	"context"
	"fmt"

	"github.com/wdstream/wdstream/simulate"
)

// A small world's event stream, in event-time order, with the realized
// labels' summary.
func ExampleWorld_Run() {
	w, err := simulate.NewWorld(simulate.Config{Seed: 1, Users: 500, Apps: 100, Days: 2, ImpressionsPerDay: 5000})
	if err != nil {
		fmt.Println(err)
		return
	}
	var imps, installs int
	rep, err := w.Run(context.Background(), func(e simulate.Event) error {
		if e.Impression != nil {
			imps++
		} else {
			installs++
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(imps == rep.Impressions, installs == rep.Installs, len(rep.Days))
	fmt.Println(rep.BaseRate() > 0.01, rep.Last().OracleAUC > 0.7)
	// Output:
	// true true 2
	// true true
}
