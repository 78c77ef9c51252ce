package serve

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/valyala/fastjson"

	"github.com/wdstream/wdstream/schemas"
)

// Request is the JSON body of POST /v1/models/NAME/score: the shared
// columns of the request (the user and the context) once, and the
// candidates, each an app and its own columns.
//
//	{"user_id": "u1", "ts": 1700000000000,
//	 "features": {"country": "de", "installed_apps": ["a", "b"]},
//	 "candidates": [{"app_id": "x", "features": {"app_category": "games"}}, ...]}
//
// A feature value is a string, a number, a boolean or a list of strings,
// as in the impressions topic; ts (Unix milliseconds) defaults to the
// server's clock.
type Request struct {
	UserID     string                     `json:"user_id"`
	TS         int64                      `json:"ts"`
	Features   map[string]json.RawMessage `json:"features"`
	Candidates []Candidate                `json:"candidates"`
}

// Candidate is one app to score.
type Candidate struct {
	AppID    string                     `json:"app_id"`
	Features map[string]json.RawMessage `json:"features"`
}

// Response is the answer: a score per candidate in the request's order,
// the candidates' indices ranked by score (highest first), the model
// version that scored them, and, when the server logs what it serves, an
// impression id per candidate (in the request's order).
type Response struct {
	Model         string    `json:"model"`
	Version       string    `json:"version"`
	Scores        []float32 `json:"scores"`
	Ranking       []int     `json:"ranking"`
	ImpressionIDs []string  `json:"impression_ids,omitempty"`
}

// FieldError is a request that cannot be scored, naming the field at fault
// (a JSON path such as candidates[3].features.price); the server answers
// 400 with it.
type FieldError struct {
	Field, Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// parsers parse request bodies (fastjson: one pass, no reflection; a
// parser is reused across requests, the values it returns are not).
var parsers fastjson.ParserPool

// decodeRequest reads a JSON body (see Request) into one impression per
// candidate, the shared features first and each candidate's on top (a
// candidate's column wins; null makes a shared column absent for it). now
// is the request's time when it gives none. Unknown keys are ignored, as
// encoding/json ignores them; an error names the field at fault.
func decodeRequest(body []byte, maxCandidates int, now int64) ([]schemas.Example, error) {
	p := parsers.Get()
	defer parsers.Put(p)
	root, err := p.ParseBytes(body)
	if err != nil {
		return nil, &FieldError{"body", "not a score request: " + err.Error()}
	}
	top, err := root.Object()
	if err != nil {
		return nil, &FieldError{"body", "not a score request: want a JSON object"}
	}
	userID, err := optString(top.Get("user_id"), "user_id")
	if err != nil {
		return nil, err
	}
	if userID == "" {
		return nil, &FieldError{"user_id", "required"}
	}
	ts := now
	if v := top.Get("ts"); v != nil && v.Type() != fastjson.TypeNull {
		n, err := v.Int64()
		if err != nil || n < 0 {
			return nil, &FieldError{"ts", fmt.Sprintf("%s: want Unix milliseconds", v)}
		}
		if n != 0 {
			ts = n
		}
	}
	shared, err := features(top.Get("features"), "features", nil)
	if err != nil {
		return nil, err
	}
	cands := top.Get("candidates")
	if cands == nil || cands.Type() == fastjson.TypeNull {
		return nil, &FieldError{"candidates", "at least one candidate is required"}
	}
	list, err := cands.Array()
	switch {
	case err != nil:
		return nil, &FieldError{"candidates", "want a list of candidates"}
	case len(list) == 0:
		return nil, &FieldError{"candidates", "at least one candidate is required"}
	case len(list) > maxCandidates:
		return nil, &FieldError{"candidates", fmt.Sprintf("%d candidates, at most %d per request (--max-candidates)", len(list), maxCandidates)}
	}
	exs := make([]schemas.Example, len(list))
	for i, c := range list {
		at := fmt.Sprintf("candidates[%d]", i)
		obj, err := c.Object()
		if err != nil {
			return nil, &FieldError{at, "want an object with app_id and features"}
		}
		appID, err := optString(obj.Get("app_id"), at+".app_id")
		if err != nil {
			return nil, err
		}
		if appID == "" {
			return nil, &FieldError{at + ".app_id", "required"}
		}
		f, err := features(obj.Get("features"), at+".features", shared)
		if err != nil {
			return nil, err
		}
		exs[i].Impression = schemas.Impression{TS: ts, UserID: userID, AppID: appID, Features: f}
	}
	return exs, nil
}

// optString reads a string or null ("") named at.
func optString(v *fastjson.Value, at string) (string, error) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return "", nil
	}
	b, err := v.StringBytes()
	if err != nil {
		return "", &FieldError{at, "want a string"}
	}
	return string(b), nil
}

// features reads a features object named at (absent or null: none) into a
// new map holding base's columns and then its own: a string, a finite
// number, a boolean, a list of strings, or null (absent: deletes base's).
func features(v *fastjson.Value, at string, base map[string]schemas.Value) (map[string]schemas.Value, error) {
	var obj *fastjson.Object
	if v != nil && v.Type() != fastjson.TypeNull {
		var err error
		if obj, err = v.Object(); err != nil {
			return nil, &FieldError{at, "want an object of columns"}
		}
	}
	n := len(base)
	if obj != nil {
		n += obj.Len()
	}
	out := make(map[string]schemas.Value, n)
	for k, x := range base {
		out[k] = x
	}
	if obj == nil {
		return out, nil
	}
	var err error
	obj.Visit(func(key []byte, x *fastjson.Value) {
		if err != nil {
			return
		}
		var val schemas.Value
		if val, err = value(x); err != nil {
			err = &FieldError{at + "." + string(key), err.Error()}
			return
		}
		if val.Kind == schemas.KindNull {
			delete(out, string(key))
			return
		}
		out[string(key)] = val
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// value reads one feature value: a string, a finite number, a boolean, a
// list of strings, or null (absent).
func value(v *fastjson.Value) (schemas.Value, error) {
	switch v.Type() {
	case fastjson.TypeNull:
		return schemas.Value{}, nil
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return schemas.String(string(b)), nil
	case fastjson.TypeNumber:
		x, err := v.Float64()
		if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			return schemas.Value{}, fmt.Errorf("%s is not a finite number", v)
		}
		return schemas.Number(x), nil
	case fastjson.TypeTrue:
		return schemas.Bool(true), nil
	case fastjson.TypeFalse:
		return schemas.Bool(false), nil
	case fastjson.TypeArray:
		arr, _ := v.Array()
		ss := make([]string, len(arr))
		for i, e := range arr {
			b, err := e.StringBytes()
			if err != nil {
				return schemas.Value{}, fmt.Errorf("element %d of the list is %s, want a string", i, e.Type())
			}
			ss[i] = string(b)
		}
		return schemas.Strings(ss), nil
	}
	return schemas.Value{}, fmt.Errorf("an object: want a string, number, boolean or list of strings")
}

// CandidateOf is the candidate of an impression: its app and its features
// (what a client that holds impressions in wdstream's format sends).
func CandidateOf(imp *schemas.Impression) Candidate {
	c := Candidate{AppID: imp.AppID, Features: make(map[string]json.RawMessage, len(imp.Features))}
	for k, v := range imp.Features {
		var x any
		switch v.Kind {
		case schemas.KindString:
			x = v.Str
		case schemas.KindNumber:
			x = v.Num
		case schemas.KindBool:
			x = v.Bool
		case schemas.KindStrings:
			x = v.Strs
		default:
			continue // absent
		}
		c.Features[k], _ = json.Marshal(x) // strings, finite numbers, bools: never fails
	}
	return c
}
