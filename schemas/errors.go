package schemas

import "strconv"

// FieldError reports a record that breaks the event contract: which field
// (JSON key or Parquet column) is at fault and what is wrong with it. Field is
// empty when the problem concerns the message as a whole (size, syntax outside
// any field, trailing data). The dead-letter path reports it as the reason.
type FieldError struct {
	Field   string
	Problem string
}

// Error formats e as `field "ts": not an integer` or, when no field is at
// fault, `message: trailing data after the object at byte 41`.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return "message: " + e.Problem
	}
	return "field " + strconv.Quote(e.Field) + ": " + e.Problem
}

func fieldErr(field, problem string) *FieldError {
	return &FieldError{Field: field, Problem: problem}
}
