package schemas_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/wdstream/wdstream/schemas"
)

func ExampleDecoder_Impression() {
	var d schemas.Decoder // zero value: 1 MiB messages, 256-byte ids
	var imp schemas.Impression
	msg := []byte(`{"impression_id":"i1","ts":1700000000000,"user_id":"u1","app_id":"a1","country":"de","installed_apps":["a2","a3"]}`)
	if err := d.Impression(msg, &imp); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(imp.ImpressionID, imp.TS, imp.Features["installed_apps"].Strs)
	fmt.Printf("%s\n", schemas.AppendImpressionJSON(nil, &imp))

	err := d.Impression([]byte(`{"impression_id":"i2","ts":1.5,"user_id":"u","app_id":"a"}`), &imp)
	var fe *schemas.FieldError
	if errors.As(err, &fe) {
		fmt.Println(fe.Field, "|", err)
	}
	// Output:
	// i1 1700000000000 [a2 a3]
	// {"impression_id":"i1","ts":1700000000000,"user_id":"u1","app_id":"a1","country":"de","installed_apps":["a2","a3"]}
	// ts | field "ts": not an integer: 1.5
}

func ExampleNewImpressionWriter() {
	cols := []schemas.Column{{Name: "country", Kind: schemas.KindString}, {Name: "installed_apps", Kind: schemas.KindStrings}}
	var buf bytes.Buffer
	w, err := schemas.NewImpressionWriter(&buf, cols, schemas.WithCompression(schemas.CompressionSnappy))
	if err != nil {
		fmt.Println(err)
		return
	}
	imps := []schemas.Impression{
		{ImpressionID: "i1", TS: 1, UserID: "u", AppID: "a", Features: map[string]schemas.Value{
			"country": schemas.String("de"), "installed_apps": schemas.Strings([]string{"x", "y"})}},
		{ImpressionID: "i2", TS: 2, UserID: "u", AppID: "b", Features: map[string]schemas.Value{
			"installed_apps": schemas.Strings([]string{})}},
	}
	for i := range imps {
		if err := w.Write(&imps[i]); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}

	r, err := schemas.NewImpressionReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "example.parquet")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	fmt.Println(r.Columns())
	for {
		var imp schemas.Impression
		if err := r.Read(&imp); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			fmt.Println(err)
			return
		}
		country, ok := imp.Features["country"]
		fmt.Println(imp.ImpressionID, country.Str, ok, len(imp.Features["installed_apps"].Strs))
	}
	// Output:
	// [{country string} {installed_apps list<string>}]
	// i1 de true 2
	// i2  false 0
}
