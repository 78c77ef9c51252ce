package spec

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxValues caps the YAML values one document may decode to. A spec has a
// few hundred; aliases can make a small file expand to many more.
const maxValues = 100_000

// durationType and byteSizeType are decoded from a duration or size
// string rather than by kind.
var (
	durationType = reflect.TypeFor[Duration]()
	byteSizeType = reflect.TypeFor[ByteSize]()
)

// decoder turns a yaml.Node tree into spec values, strictly: unknown and
// duplicate keys, wrong node kinds and wrong scalar types are errors, each
// recorded with the key path at fault. It records the position of every key
// it meets, which is how Load tells an absent key from an explicit zero, and
// decodes the `default` tag of every struct field whose key is absent.
type decoder struct {
	r      *reporter
	budget int
}

func newDecoder(r *reporter) *decoder { return &decoder{r: r, budget: maxValues} }

// value decodes n (nil when the key is absent) into v, whose path is path.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if d.budget--; d.budget == -1 {
		d.r.fail(path, "document too large: more than %d values (check anchors and aliases)", maxValues)
	}
	if d.budget < 0 {
		return
	}
	n = resolve(n)
	t := v.Type()
	switch {
	case t == durationType:
		d.duration(n, v, path)
	case t == byteSizeType:
		d.byteSize(n, v, path)
	case t.Kind() == reflect.Struct:
		d.mapping(n, v, path)
	case t.Kind() == reflect.Slice:
		d.sequence(n, v, path)
	case t.Kind() == reflect.String:
		d.str(n, v, path)
	case t.Kind() == reflect.Bool:
		d.boolean(n, v, path)
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		d.integer(n, v, path)
	case t.Kind() == reflect.Float64:
		d.float(n, v, path)
	default:
		d.r.fail(path, "internal error: no decoder for Go type %s", t)
	}
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// field is one YAML key of a struct type.
type field struct {
	key   string
	index int
	def   string // the `default` tag, YAML; "" when none
	isDef bool
}

func fieldsOf(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if key == "" || key == "-" || !sf.IsExported() {
			continue
		}
		def, isDef := sf.Tag.Lookup("default")
		fs = append(fs, field{key: key, index: i, def: def, isDef: isDef})
	}
	return fs
}

// mapping decodes a YAML mapping into the struct v. A null value counts as
// an empty mapping, so that a section whose keys are all commented out is
// valid and takes its defaults.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	fields := fieldsOf(v.Type())
	seen := map[string]bool{}
	switch {
	case isNull(n):
	case n.Kind != yaml.MappingNode:
		d.r.fail(path, "must be a mapping (key: value lines), got %s", describe(n))
	default:
		d.keys(n, v, path, fields, seen)
	}
	for _, f := range fields {
		if seen[f.key] {
			continue
		}
		fv := v.Field(f.index)
		switch {
		case f.isDef:
			d.applyDefault(fv, childPath(path, f.key), f.def)
		case fv.Kind() == reflect.Struct && fv.Type() != durationType:
			d.mapping(nil, fv, childPath(path, f.key))
		}
	}
}

func (d *decoder) keys(n *yaml.Node, v reflect.Value, path string, fields []field, seen map[string]bool) {
	byKey := make(map[string]field, len(fields))
	known := make([]string, 0, len(fields))
	for _, f := range fields {
		byKey[f.key] = f
		known = append(known, f.key)
	}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), n.Content[i+1]
		at := pos{n.Content[i].Line, n.Content[i].Column}
		if k == nil || k.Kind != yaml.ScalarNode {
			d.r.failAt(at, path, "keys must be plain names, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			d.r.failAt(at, path, "merge keys (<<) are not supported: write the keys out")
			continue
		}
		kpath := childPath(path, k.Value)
		if k.ShortTag() != "!!str" {
			d.r.failAt(at, kpath, "keys must be plain names, got %s", describe(k))
			continue
		}
		if line, dup := first[k.Value]; dup {
			d.r.failAt(at, kpath, "duplicate key (first at line %d)", line)
			continue
		}
		first[k.Value] = at.line
		f, ok := byKey[k.Value]
		if !ok {
			if s := suggest(k.Value, known); s != "" {
				d.r.failAt(at, kpath, "unknown key; did you mean %q?", s)
			} else {
				d.r.failAt(at, kpath, "unknown key (known keys: %s)", strings.Join(sorted(known), ", "))
			}
			continue
		}
		seen[f.key] = true
		d.r.at[kpath] = at
		d.value(val, v.Field(f.index), kpath)
	}
}

// applyDefault decodes a `default` tag into v. The tags are ours, so a bad
// one is a programmer error; it is reported rather than panicking.
func (d *decoder) applyDefault(v reflect.Value, path, def string) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(def), &doc); err != nil || len(doc.Content) != 1 {
		d.r.fail(path, "internal error: bad default %q", def)
		return
	}
	dr := newReporter("default")
	newDecoder(dr).value(doc.Content[0], v, path)
	if len(dr.errs) > 0 {
		d.r.fail(path, "internal error: bad default %q: %s", def, dr.errs[0].Msg)
	}
}

// sequence decodes a YAML list into the slice v. Null and [] give nil.
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		v.SetZero()
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.r.fail(path, "must be a list, got %s", describe(n))
		return
	}
	if len(n.Content) == 0 {
		v.SetZero()
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, e := range n.Content {
		ipath := indexPath(path, i)
		d.r.at[ipath] = pos{e.Line, e.Column}
		d.value(e, s.Index(i), ipath)
	}
	v.Set(s)
}

// scalar checks that n is a scalar with one of the given tags.
func (d *decoder) scalar(n *yaml.Node, path, want string, tags ...string) bool {
	switch {
	case n == nil:
		return false
	case isNull(n):
		d.r.fail(path, "has no value: must be %s", want)
		return false
	case n.Kind != yaml.ScalarNode:
		d.r.fail(path, "must be %s, got %s", want, describe(n))
		return false
	}
	for _, t := range tags {
		if n.ShortTag() == t {
			return true
		}
	}
	d.r.fail(path, "must be %s, got %s", want, describe(n))
	return false
}

func (d *decoder) str(n *yaml.Node, v reflect.Value, path string) {
	if d.scalar(n, path, "a string", "!!str", "!!int", "!!float", "!!bool", "!!timestamp") {
		v.SetString(n.Value)
	}
}

func (d *decoder) boolean(n *yaml.Node, v reflect.Value, path string) {
	var b bool
	if d.scalar(n, path, "true or false", "!!bool") && d.decodeScalar(n, &b, path, "true or false") {
		v.SetBool(b)
	}
}

func (d *decoder) integer(n *yaml.Node, v reflect.Value, path string) {
	const want = "an integer"
	if !d.scalar(n, path, want, "!!int", "!!float") {
		return
	}
	var i int64
	if n.ShortTag() == "!!float" {
		// 2e6 is a fine way to write 2000000.
		var f float64
		if !d.decodeScalar(n, &f, path, want) {
			return
		}
		if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			d.r.fail(path, "must be %s, got %s", want, describe(n))
			return
		}
		i = int64(f)
	} else if !d.decodeScalar(n, &i, path, "an integer between -2^63 and 2^63-1") {
		return
	}
	if v.OverflowInt(i) {
		d.r.fail(path, "integer %s out of range", n.Value)
		return
	}
	v.SetInt(i)
}

func (d *decoder) float(n *yaml.Node, v reflect.Value, path string) {
	const want = "a number"
	var f float64
	if !d.scalar(n, path, want, "!!int", "!!float") || !d.decodeScalar(n, &f, path, want) {
		return
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		d.r.fail(path, "must be a finite number, got %s", n.Value)
		return
	}
	v.SetFloat(f)
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	d.parsed(n, v, path, `a duration such as "30m"`, func(s string) (int64, error) {
		dur, err := ParseDuration(s)
		return int64(dur), err
	})
}

// byteSize decodes a size such as "512MiB", a number of bytes, or "off",
// which is 0 (ByteSize's -1 is LoadOptions' "off"; a spec's size is off
// at 0).
func (d *decoder) byteSize(n *yaml.Node, v reflect.Value, path string) {
	d.parsed(n, v, path, `a size such as "512MiB", or off`, func(s string) (int64, error) {
		b, err := ParseByteSize(s)
		return max(int64(b), 0), err
	})
}

// parsed decodes a scalar written as a string or a number with parse
// into the integer v.
func (d *decoder) parsed(n *yaml.Node, v reflect.Value, path, want string, parse func(string) (int64, error)) {
	if !d.scalar(n, path, want, "!!str", "!!int", "!!float") {
		return
	}
	i, err := parse(n.Value)
	if err != nil {
		d.r.fail(path, "%v", err)
		return
	}
	v.SetInt(i)
}

// decodeScalar lets the YAML library parse a scalar it has already typed
// (0x10, 1e3, .5 ...).
func (d *decoder) decodeScalar(n *yaml.Node, dst any, path, want string) bool {
	if err := n.Decode(dst); err != nil {
		d.r.fail(path, "must be %s, got %s", want, describe(n))
		return false
	}
	return true
}

// describe names a node for an error message: "a list", "string \"x\"".
func describe(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.DocumentNode:
		return "a document"
	case yaml.AliasNode:
		return "an alias"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "..."
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!str":
		return fmt.Sprintf("string %q", v)
	case "!!int":
		return "integer " + v
	case "!!float":
		return "number " + v
	case "!!bool":
		return "boolean " + v
	}
	return fmt.Sprintf("%q tagged %s", v, n.ShortTag())
}

func sorted(ss []string) []string {
	out := append([]string(nil), ss...)
	sort.Strings(out)
	return out
}
