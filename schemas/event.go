package schemas

// Kind is the type of a feature column value.
type Kind uint8

// The kinds a feature column may hold. KindNull marks a column that is absent
// from one record (or null in Parquet); it is never a column's declared type.
const (
	KindNull Kind = iota
	KindString
	KindNumber
	KindBool
	KindStrings // list of strings, e.g. installed_apps
)

func (k Kind) String() string {
	switch k {
	case KindNull:
		return "null"
	case KindString:
		return "string"
	case KindNumber:
		return "number"
	case KindBool:
		return "bool"
	case KindStrings:
		return "list<string>"
	}
	return "unknown"
}

// Value is one feature column's value in one record. Exactly the field that
// Kind names is meaningful; the others are zero.
type Value struct {
	Kind Kind
	Str  string
	Num  float64
	Bool bool
	Strs []string
}

// String, Number, Bool and Strings build Values of each kind.
func String(s string) Value     { return Value{Kind: KindString, Str: s} }
func Number(f float64) Value    { return Value{Kind: KindNumber, Num: f} }
func Bool(b bool) Value         { return Value{Kind: KindBool, Bool: b} }
func Strings(ss []string) Value { return Value{Kind: KindStrings, Strs: ss} }

// Impression is one app shown to one user (topic "impressions").
// Every column other than the four fixed ones is a feature column and lives in
// Features, keyed by column name; columns the spec does not name are carried
// but not used.
type Impression struct {
	ImpressionID string // required, unique
	TS           int64  // event time, Unix milliseconds, required
	UserID       string // required
	AppID        string // required: the impressed app
	Features     map[string]Value
}

// Install is one app installed by one user (topic "installs"). When
// ImpressionID is empty, UserID and AppID are required and the install is
// attributed to the latest impression of that user and app inside the label
// window.
type Install struct {
	TS           int64 // event time, Unix milliseconds, required
	ImpressionID string
	UserID       string
	AppID        string
}

// Example is a labeled impression (topic "examples", Parquet archive).
type Example struct {
	Impression
	Label int32 // 0 or 1
	// InstallTS is the install's event time when Label is 1; HasInstallTS is
	// false (and the column null) when Label is 0.
	InstallTS    int64
	HasInstallTS bool
}

// Names of the fixed columns of the event contract.
const (
	ColImpressionID = "impression_id"
	ColTS           = "ts"
	ColUserID       = "user_id"
	ColAppID        = "app_id"
	ColLabel        = "label"
	ColInstallTS    = "install_ts"
)
