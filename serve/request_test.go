package serve

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/wdstream/wdstream/schemas"
)

// decodeRequest reads what a client marshals from Request and CandidateOf:
// every value kind, shared columns under each candidate's, null removing a
// shared column, ts defaulting to the server's clock; unknown keys are
// ignored.
func TestDecodeRequest(t *testing.T) {
	imp := schemas.Impression{UserID: "u", AppID: "a1", Features: map[string]schemas.Value{
		"app_category": schemas.String("games"), "app_rating": schemas.Number(4.25), "paid": schemas.Bool(true),
		"tags": schemas.Strings([]string{"x", "y\"z"}),
	}}
	req := Request{UserID: "u", Features: map[string]json.RawMessage{"country": json.RawMessage(`"de"`), "installed_apps": json.RawMessage(`["p","q"]`)},
		Candidates: []Candidate{CandidateOf(&imp), {AppID: "a2", Features: map[string]json.RawMessage{"country": json.RawMessage(`null`)}}}}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	body = []byte(strings.Replace(string(body), `{"user_id"`, `{"unknown":{"deep":[1,2]},"user_id"`, 1))
	exs, err := decodeRequest(body, 10, 1234)
	if err != nil {
		t.Fatal(err)
	}
	want0 := map[string]schemas.Value{
		"country": schemas.String("de"), "installed_apps": schemas.Strings([]string{"p", "q"}),
		"app_category": schemas.String("games"), "app_rating": schemas.Number(4.25), "paid": schemas.Bool(true),
		"tags": schemas.Strings([]string{"x", "y\"z"}),
	}
	if len(exs) != 2 || exs[0].AppID != "a1" || exs[0].UserID != "u" || exs[0].TS != 1234 || !reflect.DeepEqual(exs[0].Features, want0) {
		t.Fatalf("candidate 0: %+v", exs[0])
	}
	want1 := map[string]schemas.Value{"installed_apps": schemas.Strings([]string{"p", "q"})}
	if exs[1].AppID != "a2" || !reflect.DeepEqual(exs[1].Features, want1) {
		t.Fatalf("candidate 1 (country null): %+v", exs[1].Features)
	}
	// The shared map is not aliased: candidate 1's delete left candidate 0's country.
	if exs[0].Features["country"].Str != "de" {
		t.Fatal("a candidate's null changed another candidate's columns")
	}
}

// Each bad body is refused naming the field at fault.
func TestDecodeRequestErrors(t *testing.T) {
	for _, c := range []struct{ body, field string }{
		{`[1]`, "body"},
		{`{"user_id": 5, "candidates": [{"app_id": "a"}]}`, "user_id"},
		{`{"user_id": "u", "ts": 1.5, "candidates": [{"app_id": "a"}]}`, "ts"},
		{`{"user_id": "u", "ts": -3, "candidates": [{"app_id": "a"}]}`, "ts"},
		{`{"user_id": "u", "candidates": {"app_id": "a"}}`, "candidates"},
		{`{"user_id": "u", "candidates": [3]}`, "candidates[0]"},
		{`{"user_id": "u", "candidates": [{"app_id": "a"}, {"app_id": ""}]}`, "candidates[1].app_id"},
		{`{"user_id": "u", "candidates": [{"app_id": "a", "features": []}]}`, "candidates[0].features"},
		{`{"user_id": "u", "candidates": [{"app_id": "a", "features": {"r": 1e999}}]}`, "candidates[0].features.r"},
		{`{"user_id": "u", "candidates": [{"app_id": "a", "features": {"l": ["a", null]}}]}`, "candidates[0].features.l"},
		{`{"user_id": "u", "features": {"o": {}}, "candidates": [{"app_id": "a"}]}`, "features.o"},
		{`{"user_id": "u", "candidates": [{"app_id": "a"}, {"app_id": "b"}, {"app_id": "c"}]}`, "candidates"},
	} {
		_, err := decodeRequest([]byte(c.body), 2, 1)
		fe, ok := err.(*FieldError)
		if !ok || fe.Field != c.field {
			t.Errorf("%s: %v, want an error naming %s", c.body, err, c.field)
		}
	}
}
