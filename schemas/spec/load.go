package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxFileSize caps a spec file; real ones are a few kilobytes.
const maxFileSize = 1 << 20

// Load reads, decodes and validates the spec file at path, filling in the
// defaults of absent keys, with the default LoadOptions (a model budget of
// 4 GiB). Problems in the file come back as *Error values joined with
// errors.Join, each naming the file, line, column and key path.
func Load(path string) (*Spec, error) { return LoadWith(path, LoadOptions{}) }

// LoadWith is Load with options.
func LoadWith(path string, opts LoadOptions) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loading feature spec: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("loading feature spec: reading %s: %w", path, err)
	}
	return ParseWith(path, data, opts)
}

// Parse decodes and validates a spec held in data, as Load does. name is the
// file name used in error messages and for the default Name.
func Parse(name string, data []byte) (*Spec, error) { return ParseWith(name, data, LoadOptions{}) }

// ParseWith is Parse with options.
func ParseWith(name string, data []byte, opts LoadOptions) (*Spec, error) {
	r := newReporter(name)
	root := parseDocument(r, data)
	if root == nil {
		return nil, r.err()
	}
	r.root = pos{root.Line, root.Column}
	s := &Spec{}
	if root.Kind != yaml.MappingNode {
		r.fail("", "a spec is a mapping of keys (version, features, ...), got %s", describe(root))
		return nil, r.err()
	}
	newDecoder(r).value(root, reflect.ValueOf(s).Elem(), "")
	if opts.Interaction != "" {
		s.Model.Interaction = opts.Interaction
	}
	applyDefaults(s, r, name)
	if opts.Mode != "" {
		s.Model.Mode = opts.Mode
	}
	if opts.NegativeSampling > 0 {
		s.Model.NegativeSampling = SamplingRate(opts.NegativeSampling)
	}
	validate(s, r, opts)
	if err := r.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// parseDocument parses data as exactly one YAML document and returns its
// root node, or nil when there is nothing to decode.
func parseDocument(r *reporter, data []byte) *yaml.Node {
	if len(data) > maxFileSize {
		r.errorAt(pos{}, "", "file too large: more than %d bytes", maxFileSize)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			r.errorAt(pos{}, "", "empty file: a spec needs at least version and features")
		} else {
			syntaxError(r, err)
		}
		return nil
	}
	if len(doc.Content) != 1 || isNull(doc.Content[0]) {
		r.errorAt(pos{doc.Line, doc.Column}, "", "empty document: a spec needs at least version and features")
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		p := pos{next.Line, next.Column}
		if len(next.Content) > 0 {
			p = pos{next.Content[0].Line, next.Content[0].Column}
		}
		r.errorAt(p, "", "a second YAML document starts here: a spec file holds exactly one")
	case !errors.Is(err, io.EOF):
		syntaxError(r, err)
	}
	return doc.Content[0]
}

// yamlLine matches the position prefix of the YAML library's syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// syntaxError records an error of the YAML parser, moving its line number
// to the front like every other error.
func syntaxError(r *reporter, err error) {
	msg := err.Error()
	var p pos
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		p.line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	r.errorAt(p, "", "invalid YAML: %s", msg)
}
