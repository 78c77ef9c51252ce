package featurize_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// Example fits a State on a stream, fixes the quantile boundaries,
// transforms a mini-batch for the trainer, and round-trips the state.
func Example() {
	sp := &spec.Spec{
		Version: 1,
		Features: []spec.Feature{
			{Name: "installed_apps", Type: spec.CategoricalList, Deep: true, EmbeddingDim: 8, Combiner: spec.CombinerMean, MinCount: 2, OOVBuckets: 2},
			{Name: "app_id", Type: spec.Categorical, Wide: true, Deep: true, EmbeddingDim: 8, MinCount: 1, OOVBuckets: 1},
			{Name: "app_price", Type: spec.Numeric, Deep: true, Quantiles: 3},
		},
		Crosses: []spec.Cross{{Name: "installed_x_app", Columns: []string{"installed_apps", "app_id"}, HashBuckets: 1000}},
	}
	st, err := featurize.New(sp, featurize.Options{SketchBytes: 1 << 16})
	if err != nil {
		log.Fatal(err)
	}
	mk := func(id, app string, installed []string, price float64, label int32) schemas.Example {
		return schemas.Example{Impression: schemas.Impression{
			ImpressionID: id, AppID: app, UserID: "u1",
			Features: map[string]schemas.Value{"installed_apps": schemas.Strings(installed), "app_price": schemas.Number(price)},
		}, Label: label}
	}
	stream := []schemas.Example{
		mk("i1", "maps", []string{"mail", "chat"}, 0, 1),
		mk("i2", "chat", []string{"mail"}, 1.5, 0),
		mk("i3", "mail", []string{"chat", "game"}, 3, 1),
	}
	if err := st.Fit(stream); err != nil { // fit phase: count and sketch
		log.Fatal(err)
	}
	st.RefreshBoundaries() // fix the boundaries the model will be trained with

	var batch featurize.Batch // reused across calls
	if err := st.Transform(&batch, stream); err != nil {
		log.Fatal(err)
	}
	apps := batch.Deep[0]
	fmt.Println("installed_apps ids of i3:", apps.IDs[apps.Offsets[2]:apps.Offsets[3]])
	fmt.Println("app_price normalized:", batch.Dense)
	fmt.Println("wide entries of i1:", batch.WideOffsets[1]-batch.WideOffsets[0])
	for _, w := range st.Layout().Wide {
		fmt.Printf("wide slot %s: %d ids\n", w.Name, w.Size())
	}

	var buf bytes.Buffer
	if err := st.Encode(&buf, featurize.EncodeOptions{}); err != nil {
		log.Fatal(err)
	}
	back, err := featurize.Decode(&buf, sp, featurize.Options{SketchBytes: 1 << 16})
	if err != nil {
		log.Fatal(err)
	}
	id, ok := back.Vocab("installed_apps").Lookup("chat")
	fmt.Println("chat after decode:", id, ok)
	// Output:
	// installed_apps ids of i3: [3 0]
	// app_price normalized: [0 0.5 1]
	// wide entries of i1: 3
	// wide slot app_id: 4 ids
	// wide slot installed_x_app: 1000 ids
	// chat after decode: 3 true
}
