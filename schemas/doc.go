// Package schemas holds wdstream's event types (impressions, installs and the
// labeled examples made from them) and their encodings: strict JSON for the
// Kafka topics, Parquet files for archives and backfill, and Arrow schemas
// and records for in-memory batches. It imports no other wdstream package.
//
// # Records
//
// Every record has fixed columns (see the Col* constants) and, for
// impressions and examples, any number of feature columns keyed by name in
// Features. A feature value is a string, a number (float64), a bool or a list
// of strings; a column that is absent or null is simply not in the map.
//
// # JSON (Kafka messages)
//
// One JSON object per message (RFC 8259), decoded by a Decoder (one per
// goroutine: it keeps scratch buffers and a bounded table of interned short
// strings such as column names and categorical values), which rejects with
// a *FieldError naming the field:
//   - a message over Decoder.MaxBytes (1 MiB by default), an empty message,
//     a top level that is not an object, trailing data after it, and any
//     syntax error (single quotes, trailing commas, leading zeros, NaN,
//     Infinity, comments, ...);
//   - duplicate keys, strings (keys or values) that are not valid UTF-8 or
//     hold a lone UTF-16 surrogate escape or a raw control character;
//   - impression_id, user_id, app_id that are not non-empty strings or are
//     longer than Decoder.MaxIDBytes (256 by default);
//   - ts and install_ts that are not integer literals (no fraction, no
//     exponent) fitting int64, or are negative;
//   - feature values that are objects, lists holding anything but strings,
//     or numbers that overflow float64 (1e999); underflow rounds to 0;
//   - in impressions, the keys label and install_ts (reserved for examples);
//   - in examples, a label other than 0 or 1, install_ts missing or null
//     with label 1, or set with label 0.
//
// Installs require ts, and user_id and app_id when impression_id is absent
// (null, "" and a missing key all mean absent); their other keys are checked
// for syntax and duplicates, then ignored.
//
// The Append*JSON encoders write the fixed columns first in a fixed order
// (impression_id, ts, user_id, app_id, then label and install_ts for
// examples, install_ts null when absent), then the feature columns sorted by
// name, so equal records encode to equal bytes. Numbers use the shortest
// representation that reads back to the same float64; non-finite numbers and
// KindNull values are left out; strings that are not valid UTF-8 get U+FFFD.
// Decoding what an encoder wrote gives back an equal record.
//
// # Parquet (archives, backfill)
//
// Files hold one record kind each, with a flat schema whose columns come in
// name order (parquet-go orders a group's fields by name):
//   - impression_id, user_id, app_id: BYTE_ARRAY (STRING), required;
//   - ts: INT64 (INT(64, signed)), required, Unix milliseconds; no timestamp
//     logical type, so that every reader sees the plain int64 of the event
//     contract;
//   - examples only: label INT32 required, install_ts INT64 optional;
//   - feature columns, all optional: string as BYTE_ARRAY (STRING), number
//     as DOUBLE, bool as BOOLEAN, list<string> in the standard three-level
//     LIST encoding (optional group NAME (LIST) { repeated group list {
//     required binary element (STRING) } }), which pyarrow reads as
//     list<string>, keeping empty and null lists apart.
//
// Install files hold ts (required) and impression_id, user_id and app_id
// (optional: null when empty). Key-value metadata wdstream.record names the
// record kind.
//
// Pages are compressed with zstd at its fastest level by default
// (WithCompression); feature strings and app_id use dictionary pages;
// string columns carry no min/max statistics (ts and numbers do); a row
// group is cut every 128 Ki rows by default (WithRowGroupRows).
//
// Readers take the feature columns from the file's schema and accept what
// other writers produce for the same columns: any column may be optional (a
// null in a fixed column is an error naming the file, row and column), ts
// and install_ts may carry any INT64 logical type, label may be INT32 or
// INT64, numbers may be FLOAT, DOUBLE, INT32 or INT64, and lists may use the
// legacy two-level encodings. Lists are read from the raw repetition and
// definition levels of their leaf column, never through a Go struct
// mapping, so a null list, an empty list and the elements of a non-empty
// one cannot be confused or silently dropped; a null list element is an
// error. A missing required column or a column of the wrong type is an
// error naming the file and the column. Corrupt files give errors, not
// panics or huge allocations: the footer length and column chunk bounds are
// checked before parquet-go trusts them, and parquet-go's own panics are
// recovered into errors (FuzzReadParquet, TestParquetCorruptFiles).
//
// # Arrow
//
// ExampleArrowSchema maps the same columns to Arrow types (string, int64,
// int32, float64, bool, list<string>) with the same nullability, and
// ExamplesToRecord builds a record batch from examples.
package schemas
