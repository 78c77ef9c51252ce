package schemas

import "strconv"

// Defaults of the Decoder's limits.
const (
	// DefaultMaxBytes is the largest message a Decoder accepts when MaxBytes
	// is 0: 1 MiB, Kafka's default max.message.bytes.
	DefaultMaxBytes = 1 << 20
	// DefaultMaxIDBytes is the longest impression_id, user_id or app_id a
	// Decoder accepts when MaxIDBytes is 0.
	DefaultMaxIDBytes = 256
)

// Interning bounds: strings up to maxInternLen bytes (column names,
// categorical values, app ids) are interned in a table of at most
// maxInterned entries, which starts over when full.
const (
	maxInterned  = 8192
	maxInternLen = 64
)

// maxReusedFeatures bounds the maps a Decoder clears for the next message
// (Impression.Features, the unknown keys of an install). Clearing a map
// costs its capacity, which never shrinks: one huge message (a valid 1 MiB
// impression has room for over 100,000 columns) would slow every later
// message of its partition. A map that holds more entries is replaced by a
// new one instead (about a microsecond); one that held up to
// maxReusedFeatures entries costs at most a few hundred nanoseconds more to
// clear than a small one.
const maxReusedFeatures = 256

// Decoder decodes the JSON events of the Kafka topics strictly (see the
// package documentation for the rules). Its zero value is ready to use with
// the default limits. A Decoder keeps scratch buffers and a bounded table of
// interned strings between calls, so it is not safe for concurrent use: use
// one per goroutine.
type Decoder struct {
	// MaxBytes is the largest message accepted. Zero or less means
	// DefaultMaxBytes (1 MiB).
	MaxBytes int
	// MaxIDBytes is the longest impression_id, user_id or app_id accepted,
	// in bytes. Zero or less means DefaultMaxIDBytes (256).
	MaxIDBytes int

	sc      scanner
	intern  map[string]string
	strs    []string            // scratch for list elements
	unknown map[string]struct{} // unknown keys of an install, for duplicates
	keys    keySet              // feature keys of an ImpressionKey message
}

// Bits of the fixed fields seen in one message.
const (
	seenImpressionID = 1 << iota
	seenTS
	seenUserID
	seenAppID
	seenLabel
	seenInstallTS
)

func (d *Decoder) begin(data []byte) (*scanner, error) {
	limit := d.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	if len(data) > limit {
		return nil, fieldErr("", "message is "+strconv.Itoa(len(data))+" bytes, over the limit of "+strconv.Itoa(limit))
	}
	d.sc.data, d.sc.pos = data, 0
	return &d.sc, d.sc.begin()
}

// Impression decodes one impression message into dst. dst's Features map
// is cleared and reused (a new one is made when it is nil or holds over 256
// entries), so a caller that keeps a decoded impression decodes the next
// one into a fresh Impression (or sets Features to nil first). On error dst holds unspecified content.
// Errors are *FieldError.
func (d *Decoder) Impression(data []byte, dst *Impression) error {
	return d.impression(data, dst, nil, false)
}

// ImpressionKey checks one impression message exactly as Impression does,
// with the same errors, but decodes only its fixed fields (impression_id,
// ts, user_id, app_id) into dst and sets dst.Features to nil. A caller that
// needs the message valid and its join key, not its features (the join
// stage keeps the message's bytes), skips building the feature map: about
// half the CPU of Impression on simulated impressions
// (BenchmarkDecodeImpression).
func (d *Decoder) ImpressionKey(data []byte, dst *Impression) error {
	dst.Features = nil
	return d.impression(data, dst, nil, true)
}

// Example decodes one example message into dst, like Impression plus the
// label (0 or 1) and install_ts (required when label is 1, null or absent
// when it is 0).
func (d *Decoder) Example(data []byte, dst *Example) error {
	return d.impression(data, &dst.Impression, dst, false)
}

// impression decodes an impression, or an example when ex is not nil (imp
// is then &ex.Impression). With keysOnly (ImpressionKey) the feature
// columns are checked, not kept, and imp.Features is left alone.
func (d *Decoder) impression(data []byte, imp *Impression, ex *Example, keysOnly bool) error {
	s, err := d.begin(data)
	if err != nil {
		return err
	}
	imp.ImpressionID, imp.TS, imp.UserID, imp.AppID = "", 0, "", ""
	switch {
	case keysOnly:
		d.keys.reset()
	case imp.Features == nil || len(imp.Features) > maxReusedFeatures:
		imp.Features = make(map[string]Value, 16)
	default:
		clear(imp.Features)
	}
	if ex != nil {
		ex.Label, ex.InstallTS, ex.HasInstallTS = 0, 0, false
	}
	var seen uint
	nulls := false
	var key []byte
	for first := true; ; first = false {
		var done bool
		key, done, err = s.nextKey(first, key)
		if err != nil {
			return err
		}
		if done {
			break
		}
		bit := fixedBit(key, ex != nil)
		if bit != 0 {
			if seen&bit != 0 {
				return fieldErr(string(key), "duplicate key")
			}
			seen |= bit
		}
		switch bit {
		case seenImpressionID:
			imp.ImpressionID, err = d.id(s, ColImpressionID, true, false)
		case seenTS:
			imp.TS, err = d.intField(s, ColTS)
		case seenUserID:
			imp.UserID, err = d.id(s, ColUserID, true, false)
		case seenAppID:
			imp.AppID, err = d.id(s, ColAppID, true, true)
		case seenLabel:
			err = d.label(s, ex)
		case seenInstallTS:
			if s.peek() == 'n' {
				err = s.literal(ColInstallTS, "null")
			} else {
				ex.InstallTS, err = d.intField(s, ColInstallTS)
				ex.HasInstallTS = err == nil
			}
		default:
			if ex == nil && (string(key) == ColLabel || string(key) == ColInstallTS) {
				return fieldErr(string(key), "reserved for examples, not allowed in an impression")
			}
			var isNull bool
			if keysOnly {
				err = d.checkFeature(s, key)
			} else {
				isNull, err = d.feature(s, key, imp.Features)
			}
			nulls = nulls || isNull
		}
		if err != nil {
			return err
		}
	}
	if err := s.end(); err != nil {
		return err
	}
	if nulls {
		imp.Features = dropNulls(imp.Features)
	}
	for _, f := range [...]struct {
		bit  uint
		name string
	}{{seenImpressionID, ColImpressionID}, {seenTS, ColTS}, {seenUserID, ColUserID}, {seenAppID, ColAppID}} {
		if seen&f.bit == 0 {
			return fieldErr(f.name, "missing")
		}
	}
	if ex == nil {
		return nil
	}
	if seen&seenLabel == 0 {
		return fieldErr(ColLabel, "missing")
	}
	if ex.Label == 1 && !ex.HasInstallTS {
		return fieldErr(ColInstallTS, "missing or null while label is 1")
	}
	if ex.Label == 0 && ex.HasInstallTS {
		return fieldErr(ColInstallTS, "set while label is 0 (want null or absent)")
	}
	return nil
}

// dropNulls deletes the KindNull entries of m, kept while decoding to catch
// duplicates, and returns m. A map that held over maxReusedFeatures entries
// is copied without them into a new one instead, so that its length keeps
// telling impression how large it is.
func dropNulls(m map[string]Value) map[string]Value {
	if len(m) > maxReusedFeatures {
		kept := make(map[string]Value, 16)
		for k, v := range m {
			if v.Kind != KindNull {
				kept[k] = v
			}
		}
		return kept
	}
	for k, v := range m {
		if v.Kind == KindNull {
			delete(m, k)
		}
	}
	return m
}

// fixedBit returns the seen-bit of a fixed key, or 0 for a feature column.
// label and install_ts are fixed only in examples.
func fixedBit(key []byte, example bool) uint {
	switch string(key) {
	case ColImpressionID:
		return seenImpressionID
	case ColTS:
		return seenTS
	case ColUserID:
		return seenUserID
	case ColAppID:
		return seenAppID
	case ColLabel:
		if example {
			return seenLabel
		}
	case ColInstallTS:
		if example {
			return seenInstallTS
		}
	}
	return 0
}

// Install decodes one install message into dst. ts is required; impression_id
// is optional (null, "" and absent all mean no join key); user_id and app_id
// are required when impression_id is absent. Keys outside the contract are
// checked for well-formed JSON and duplicates, then ignored. On error dst
// holds unspecified content. Errors are *FieldError.
func (d *Decoder) Install(data []byte, dst *Install) error {
	s, err := d.begin(data)
	if err != nil {
		return err
	}
	*dst = Install{}
	if len(d.unknown) > maxReusedFeatures {
		d.unknown = nil // made again when needed (see maxReusedFeatures)
	} else if len(d.unknown) > 0 {
		clear(d.unknown)
	}
	var seen uint
	var key []byte
	for first := true; ; first = false {
		var done bool
		key, done, err = s.nextKey(first, key)
		if err != nil {
			return err
		}
		if done {
			break
		}
		bit := fixedBit(key, false)
		if bit != 0 {
			if seen&bit != 0 {
				return fieldErr(string(key), "duplicate key")
			}
			seen |= bit
		}
		switch bit {
		case seenImpressionID:
			dst.ImpressionID, err = d.id(s, ColImpressionID, false, false)
		case seenTS:
			dst.TS, err = d.intField(s, ColTS)
		case seenUserID:
			dst.UserID, err = d.id(s, ColUserID, false, false)
		case seenAppID:
			dst.AppID, err = d.id(s, ColAppID, false, true)
		default:
			if _, dup := d.unknown[string(key)]; dup {
				return fieldErr(string(key), "duplicate key")
			}
			if d.unknown == nil {
				d.unknown = make(map[string]struct{})
			}
			d.unknown[string(key)] = struct{}{}
			err = s.skip(string(key), 0)
		}
		if err != nil {
			return err
		}
	}
	if err := s.end(); err != nil {
		return err
	}
	if seen&seenTS == 0 {
		return fieldErr(ColTS, "missing")
	}
	if dst.ImpressionID == "" {
		if dst.UserID == "" {
			return fieldErr(ColUserID, "missing (required when impression_id is absent)")
		}
		if dst.AppID == "" {
			return fieldErr(ColAppID, "missing (required when impression_id is absent)")
		}
	}
	return nil
}

// id reads an id string. A required id must be a non-empty string; an
// optional one may also be null or "" (both mean absent).
func (d *Decoder) id(s *scanner, field string, required, intern bool) (string, error) {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		if !required && s.peek() == 'n' {
			return "", s.literal(field, "null")
		}
		return "", fieldErr(field, "got "+s.kindAt()+", want a string")
	}
	b, err := s.str(field)
	if err != nil {
		return "", err
	}
	if len(b) == 0 && required {
		return "", fieldErr(field, "empty string")
	}
	limit := d.MaxIDBytes
	if limit <= 0 {
		limit = DefaultMaxIDBytes
	}
	if len(b) > limit {
		return "", fieldErr(field, strconv.Itoa(len(b))+" bytes long, over the limit of "+strconv.Itoa(limit))
	}
	if intern {
		return d.internStr(b), nil
	}
	return string(b), nil
}

// intField reads a non-negative int64 written as an integer literal.
func (d *Decoder) intField(s *scanner, field string) (int64, error) {
	if s.pos >= len(s.data) || !isNumberStart(s.data[s.pos]) {
		return 0, fieldErr(field, "got "+s.kindAt()+", want an integer")
	}
	return s.int(field)
}

func (d *Decoder) label(s *scanner, ex *Example) error {
	if s.pos >= len(s.data) || !isNumberStart(s.data[s.pos]) {
		return fieldErr(ColLabel, "got "+s.kindAt()+", want 0 or 1")
	}
	n, err := s.int(ColLabel)
	if err != nil {
		return err
	}
	if n > 1 {
		return fieldErr(ColLabel, "got "+strconv.FormatInt(n, 10)+", want 0 or 1")
	}
	ex.Label = int32(n)
	return nil
}

func isNumberStart(c byte) bool { return c == '-' || ('0' <= c && c <= '9') }

// feature reads one feature column's value into m. A null is stored as
// KindNull so that a later duplicate is caught; the caller deletes those.
func (d *Decoder) feature(s *scanner, key []byte, m map[string]Value) (isNull bool, err error) {
	if _, dup := m[string(key)]; dup {
		return false, fieldErr(string(key), "duplicate key")
	}
	name := d.internStr(key)
	v, err := d.value(s, name, true)
	if err != nil {
		return false, err
	}
	m[name] = v
	return v.Kind == KindNull, nil
}

// checkFeature checks one feature column's value as feature reads it, with
// the same errors, without keeping it.
func (d *Decoder) checkFeature(s *scanner, key []byte) error {
	if d.keys.add(key) {
		return fieldErr(string(key), "duplicate key")
	}
	// Errors name the column; a stand-in name, replaced on the error path
	// only, spares a string per column. The empty key keeps "" (str reads
	// it as a key, which changes its errors).
	name := checkedName
	if len(key) == 0 {
		name = ""
	}
	_, err := d.value(s, name, false)
	if fe, ok := err.(*FieldError); ok && name != "" && fe.Field == checkedName {
		fe.Field = string(key)
	}
	return err
}

// checkedName stands for a column's name in checkFeature's errors.
const checkedName = "\x00column"

// value reads a feature column's value at s.pos. Unless keep is set, only
// its kind is returned (strings and lists are checked, not copied).
func (d *Decoder) value(s *scanner, name string, keep bool) (Value, error) {
	if s.pos >= len(s.data) {
		return Value{}, fieldErr(name, s.unexpected("a JSON value"))
	}
	switch c := s.data[s.pos]; c {
	case '"':
		b, err := s.str(name)
		if err != nil || !keep {
			return Value{Kind: KindString}, err
		}
		return String(d.internStr(b)), nil
	case 't', 'f':
		word := "true"
		if c == 'f' {
			word = "false"
		}
		if err := s.literal(name, word); err != nil {
			return Value{}, err
		}
		return Bool(c == 't'), nil
	case 'n':
		if err := s.literal(name, "null"); err != nil {
			return Value{}, err
		}
		return Value{Kind: KindNull}, nil
	case '[':
		strs, err := d.list(s, name, keep)
		if err != nil {
			return Value{}, err
		}
		return Strings(strs), nil
	case '{':
		return Value{}, fieldErr(name, "got an object, want a string, number, bool or list of strings")
	default:
		if !isNumberStart(c) {
			return Value{}, fieldErr(name, s.unexpected("a JSON value"))
		}
		f, err := s.float(name)
		if err != nil {
			return Value{}, err
		}
		return Number(f), nil
	}
}

// list reads a list of strings at s.pos into a new slice of exact length,
// or only checks it (returning nil) unless keep is set.
func (d *Decoder) list(s *scanner, name string, keep bool) ([]string, error) {
	s.pos++ // '['
	if s.peek() == ']' {
		s.pos++
		if !keep {
			return nil, nil
		}
		return []string{}, nil
	}
	strs := d.strs[:0]
	defer func() {
		clear(strs) // drop references held by the scratch
		// Keep the scratch unless a huge list grew it (see keySet).
		d.strs = trim(strs, minSlots)
	}()
	for i := 0; ; i++ {
		if s.peek() != '"' {
			if s.pos >= len(s.data) {
				return nil, fieldErr(name, s.unexpected("a list element"))
			}
			return nil, fieldErr(name, "list element "+strconv.Itoa(i)+" is "+s.kindAt()+", want a string")
		}
		b, err := s.str(name)
		if err != nil {
			return nil, err
		}
		if keep {
			strs = append(strs, d.internStr(b))
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			if !keep {
				return nil, nil
			}
			return append([]string(nil), strs...), nil
		default:
			return nil, fieldErr(name, s.unexpected("',' or ']' in list"))
		}
	}
}

// internStr returns b as a string, shared with earlier calls for short
// strings. A full table starts over, so that the strings of one hostile
// message (up to 1 MiB of distinct keys) do not keep the strings of the
// messages after it from being interned; the clear (about 10 µs) adds a
// nanosecond or so per string interned.
func (d *Decoder) internStr(b []byte) string {
	if len(b) > maxInternLen {
		return string(b)
	}
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.intern == nil {
		d.intern = make(map[string]string, 256)
	}
	if len(d.intern) >= maxInterned {
		clear(d.intern)
	}
	d.intern[s] = s
	return s
}
