package serve

import (
	"encoding/json"
	"fmt"
	"math"

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

// examples turns the request into one impression per candidate, the shared
// features first and each candidate's on top (a candidate's column wins).
// now is the request's time when it gives none.
func (r *Request) examples(maxCandidates int, now int64) ([]schemas.Example, error) {
	if r.UserID == "" {
		return nil, &FieldError{"user_id", "required"}
	}
	if len(r.Candidates) == 0 {
		return nil, &FieldError{"candidates", "at least one candidate is required"}
	}
	if len(r.Candidates) > maxCandidates {
		return nil, &FieldError{"candidates", fmt.Sprintf("%d candidates, at most %d per request (--max-candidates)", len(r.Candidates), maxCandidates)}
	}
	ts := r.TS
	if ts == 0 {
		ts = now
	}
	if ts < 0 {
		return nil, &FieldError{"ts", fmt.Sprintf("%d: want Unix milliseconds", ts)}
	}
	shared := make(map[string]schemas.Value, len(r.Features))
	for k, raw := range r.Features {
		v, err := value(raw)
		if err != nil {
			return nil, &FieldError{"features." + k, err.Error()}
		}
		if v.Kind != schemas.KindNull {
			shared[k] = v
		}
	}
	exs := make([]schemas.Example, len(r.Candidates))
	for i, c := range r.Candidates {
		if c.AppID == "" {
			return nil, &FieldError{fmt.Sprintf("candidates[%d].app_id", i), "required"}
		}
		f := make(map[string]schemas.Value, len(shared)+len(c.Features))
		for k, v := range shared {
			f[k] = v
		}
		for k, raw := range c.Features {
			v, err := value(raw)
			if err != nil {
				return nil, &FieldError{fmt.Sprintf("candidates[%d].features.%s", i, k), err.Error()}
			}
			if v.Kind == schemas.KindNull {
				delete(f, k) // null: absent for this candidate
				continue
			}
			f[k] = v
		}
		exs[i].Impression = schemas.Impression{TS: ts, UserID: r.UserID, AppID: c.AppID, Features: f}
	}
	return exs, nil
}

// value reads one feature value: a string, a finite number, a boolean, a
// list of strings, or null (absent).
func value(raw json.RawMessage) (schemas.Value, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return schemas.Value{}, fmt.Errorf("not a JSON value: %v", err)
	}
	switch x := v.(type) {
	case nil:
		return schemas.Value{}, nil
	case string:
		return schemas.String(x), nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return schemas.Value{}, fmt.Errorf("%v is not a finite number", x)
		}
		return schemas.Number(x), nil
	case bool:
		return schemas.Bool(x), nil
	case []any:
		ss := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return schemas.Value{}, fmt.Errorf("element %d of the list is %T, want a string", i, e)
			}
			ss[i] = s
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
