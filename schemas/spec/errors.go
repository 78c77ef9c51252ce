package spec

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxErrors caps how many errors one Load reports; the rest are counted.
const maxErrors = 25

// Error is one problem in a spec file. Load and Parse return every Error they
// find joined with errors.Join (at most 25, then a count of the rest); use
// errors.As to get at the fields of the first.
type Error struct {
	// File is the name given to Parse (the path given to Load).
	File string
	// Line and Column are 1-based; 0 when the problem has no position (an
	// empty file).
	Line, Column int
	// Path is the key path at fault, such as "features[3].embedding_dim";
	// empty for problems of the whole document.
	Path string
	// Msg says what is wrong, lowercase.
	Msg string
}

// Error formats the error as "file:line:col: path: msg".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// pos is a position in the YAML source.
type pos struct{ line, col int }

// reporter collects the errors of one file and remembers where each key path
// sits in the source, so that checks made after decoding can still name the
// line of the key they reject.
type reporter struct {
	file string
	root pos
	// at maps a key path ("model.hidden[1]") to the position of its key (or
	// of the list element); a path is present in the YAML iff it is in at.
	at map[string]pos
	// broken holds the paths that failed to decode; checks made after
	// decoding say nothing more about them or their children.
	broken map[string]bool
	errs   []*Error
}

func newReporter(file string) *reporter {
	return &reporter{file: file, root: pos{1, 1}, at: map[string]pos{}, broken: map[string]bool{}}
}

// has reports whether the key path was written in the YAML.
func (r *reporter) has(path string) bool {
	_, ok := r.at[path]
	return ok
}

// where returns the position of path, or of its nearest written ancestor
// when path itself is absent (a missing key is reported at its parent).
func (r *reporter) where(path string) pos {
	for path != "" {
		if p, ok := r.at[path]; ok {
			return p
		}
		path = parentPath(path)
	}
	return r.root
}

// errorf records an error about path at the position of path, unless path
// or one of its ancestors failed to decode (its value is not what the file
// says, so a check of it would only add noise).
func (r *reporter) errorf(path, format string, args ...any) {
	for p := path; ; p = parentPath(p) {
		if r.broken[p] {
			return
		}
		if p == "" {
			break
		}
	}
	r.errorAt(r.where(path), path, format, args...)
}

// fail records a decoding error about path and marks path broken.
func (r *reporter) fail(path, format string, args ...any) {
	r.failAt(r.where(path), path, format, args...)
}

// failAt is fail at an explicit position.
func (r *reporter) failAt(p pos, path, format string, args ...any) {
	r.errorAt(p, path, format, args...)
	r.broken[path] = true
}

// errorAt records an error about path at an explicit position. Messages
// quote what the file says, so both are clipped: a file of megabyte-long
// names gets readable errors.
func (r *reporter) errorAt(p pos, path, format string, args ...any) {
	r.errs = append(r.errs, &Error{
		File: r.file, Line: p.line, Column: p.col,
		Path: clip(path, 200), Msg: clip(fmt.Sprintf(format, args...), 400),
	})
}

// clip cuts s to at most n bytes (plus "...") on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// err returns the collected errors in source order, joined, or nil.
func (r *reporter) err() error {
	if len(r.errs) == 0 {
		return nil
	}
	es := slices.Clone(r.errs)
	slices.SortStableFunc(es, func(a, b *Error) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	n := min(len(es), maxErrors)
	out := make([]error, 0, n+1)
	for _, e := range es[:n] {
		out = append(out, e)
	}
	if len(es) > n {
		out = append(out, &Error{File: r.file, Msg: fmt.Sprintf("too many errors: %d more not shown", len(es)-n)})
	}
	return errors.Join(out...)
}

// parentPath strips the last key or index from a key path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// childPath joins a key path and a key.
func childPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath joins a key path and a list index.
func indexPath(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// suggest returns the candidate closest to s by edit distance when it is
// close enough to be a likely typo, or "".
func suggest(s string, candidates []string) string {
	const maxLen = 64 // longer strings are no typos, and cost O(len^2)
	best, bestD := "", -1
	if len(s) > maxLen {
		return ""
	}
	for _, c := range candidates {
		if len(c) > maxLen {
			continue
		}
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(2, len(s)/3) || bestD >= len(s) {
		return ""
	}
	return best
}

// didYouMean formats a suggestion as a message suffix.
func didYouMean(s string, candidates []string) string {
	if c := suggest(s, candidates); c != "" {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	return ""
}

// editDistance is the Levenshtein distance of a and b, by bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
