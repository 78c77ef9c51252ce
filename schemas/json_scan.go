package schemas

import (
	"encoding/binary"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner reads one strict JSON object (RFC 8259) from data. It is a small
// purpose-built tokenizer: strings come back as byte slices that alias data
// when they hold no escape (and the decoder's scratch buffer otherwise), so
// the decoder allocates only for the strings it keeps.
type scanner struct {
	data []byte
	pos  int
	kbuf []byte // scratch for keys with escapes; owned by the Decoder
	vbuf []byte // scratch for values with escapes; owned by the Decoder
}

// maxSkipDepth bounds the nesting of values the decoder skips (unknown keys
// of installs), so that a hostile message cannot exhaust the stack.
const maxSkipDepth = 64

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end of data.
func (s *scanner) peek() byte {
	s.ws()
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// unexpected describes the byte at s.pos for a syntax error.
func (s *scanner) unexpected(want string) string {
	if s.pos >= len(s.data) {
		return "unexpected end of message, want " + want
	}
	c := s.data[s.pos]
	if c < 0x20 || c >= 0x7f {
		return "unexpected byte 0x" + strconv.FormatUint(uint64(c), 16) + " at byte " + strconv.Itoa(s.pos) + ", want " + want
	}
	return "unexpected " + strconv.QuoteRune(rune(c)) + " at byte " + strconv.Itoa(s.pos) + ", want " + want
}

// begin consumes the opening brace of the top-level object.
func (s *scanner) begin() error {
	s.ws()
	if s.pos >= len(s.data) {
		return fieldErr("", "empty message, want a JSON object")
	}
	if s.data[s.pos] != '{' {
		return fieldErr("", "top level is not a JSON object (starts with "+strconv.QuoteRune(rune(s.data[s.pos]))+")")
	}
	s.pos++
	return nil
}

// end checks that nothing but white space follows the top-level object.
func (s *scanner) end() error {
	s.ws()
	if s.pos != len(s.data) {
		return fieldErr("", "trailing data after the object at byte "+strconv.Itoa(s.pos))
	}
	return nil
}

// nextKey reads the next member key of the top-level object and the colon
// after it. first is true for the first call after begin. It returns
// done=true at the closing brace. prev names the previous key for errors.
func (s *scanner) nextKey(first bool, prev []byte) (key []byte, done bool, err error) {
	c := s.peek()
	if first {
		if c == '}' {
			s.pos++
			return nil, true, nil
		}
	} else {
		switch c {
		case ',':
			s.pos++
			c = s.peek()
		case '}':
			s.pos++
			return nil, true, nil
		default:
			return nil, false, fieldErr(string(prev), s.unexpected("',' or '}' after the value"))
		}
	}
	if c != '"' {
		return nil, false, fieldErr("", s.unexpected("a key string"))
	}
	key, err = s.str("")
	if err != nil {
		return nil, false, err
	}
	if s.peek() != ':' {
		return nil, false, fieldErr(string(key), s.unexpected("':' after the key"))
	}
	s.pos++
	s.ws()
	return key, false, nil
}

// str reads a string whose opening quote is at s.pos. field names the field
// for errors (empty for top-level keys). The result aliases data, s.kbuf
// (keys) or s.vbuf (values) and is valid until the next call of its kind, so
// a key survives the reading of its value.
func (s *scanner) str(field string) ([]byte, error) {
	s.pos++ // opening quote
	start := s.pos
	data := s.data
	i := start
	// Eight bytes at a time while none needs a look: no quote, backslash,
	// control character or non-ASCII byte.
	for ; i+8 <= len(data); i += 8 {
		if special8(binary.LittleEndian.Uint64(data[i:])) {
			break
		}
	}
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return data[start:i], nil
		case c == '\\':
			return s.strEscaped(field, start, i)
		case c < 0x20:
			return nil, s.strErr(field, "control character 0x"+strconv.FormatUint(uint64(c), 16)+" in string at byte "+strconv.Itoa(i))
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n == 1 {
				return nil, s.strErr(field, "invalid UTF-8 in string at byte "+strconv.Itoa(i))
			}
			i += n
		}
	}
	s.pos = len(data)
	return nil, s.strErr(field, "unterminated string")
}

// special8 reports whether any of the eight bytes of w is a quote, a
// backslash, below 0x20 or above 0x7f (the bit tricks of "Bit Twiddling
// Hacks": a byte is zero, or less than n, exactly when its high bit ends up
// set; a false positive only follows a true one, which the caller's byte
// loop handles anyway).
func special8(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote, backslash := w^(ones*'"'), w^(ones*'\\')
	m := (quote - ones) &^ quote
	m |= (backslash - ones) &^ backslash
	m |= (w - ones*0x20) &^ w
	return (m|w)&highs != 0
}

func (s *scanner) strErr(field, problem string) error {
	if field == "" {
		return fieldErr("", "key: "+problem)
	}
	return fieldErr(field, problem)
}

// strEscaped continues str from the first backslash at i, decoding into s.buf.
func (s *scanner) strEscaped(field string, start, i int) ([]byte, error) {
	data := s.data
	scratch := &s.vbuf
	if field == "" {
		scratch = &s.kbuf
	}
	buf := append((*scratch)[:0], data[start:i]...)
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			s.pos = i + 1
			*scratch = buf
			return buf, nil
		case c == '\\':
			if i+1 >= len(data) {
				i = len(data)
				continue
			}
			e := data[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := hex4(data, i)
				if !ok {
					return nil, s.strErr(field, "invalid \\u escape at byte "+strconv.Itoa(i-2))
				}
				i += 4
				if utf16.IsSurrogate(r) {
					r2, ok := rune(0), false
					if i+6 <= len(data) && data[i] == '\\' && data[i+1] == 'u' {
						r2, ok = hex4(data, i+2)
					}
					dec := utf16.DecodeRune(r, r2)
					if !ok || dec == utf8.RuneError {
						return nil, s.strErr(field, "lone UTF-16 surrogate in \\u escape at byte "+strconv.Itoa(i-6))
					}
					i += 6
					r = dec
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return nil, s.strErr(field, "invalid escape \\"+string(rune(e))+" at byte "+strconv.Itoa(i-2))
			}
		case c < 0x20:
			return nil, s.strErr(field, "control character 0x"+strconv.FormatUint(uint64(c), 16)+" in string at byte "+strconv.Itoa(i))
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n == 1 {
				return nil, s.strErr(field, "invalid UTF-8 in string at byte "+strconv.Itoa(i))
			}
			buf = append(buf, data[i:i+n]...)
			i += n
		}
	}
	s.pos = len(data)
	*scratch = buf
	return nil, s.strErr(field, "unterminated string")
}

func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a JSON number at s.pos, checking the strict grammar
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? that strconv alone does not
// enforce. isInt reports a literal without fraction or exponent.
func (s *scanner) number(field string) (lit []byte, isInt bool, err error) {
	data := s.data
	start, i := s.pos, s.pos
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	default:
		s.pos = i
		return nil, false, fieldErr(field, s.unexpected("a digit"))
	}
	isInt = true
	if i < len(data) && data[i] == '.' {
		isInt = false
		i++
		j := i
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
		if i == j {
			s.pos = i
			return nil, false, fieldErr(field, s.unexpected("a digit after the decimal point"))
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		isInt = false
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := i
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
		if i == j {
			s.pos = i
			return nil, false, fieldErr(field, s.unexpected("a digit in the exponent"))
		}
	}
	s.pos = i
	return data[start:i], isInt, nil
}

// float reads a JSON number as a finite float64; literals that overflow
// (1e999) are rejected since JSON cannot carry infinities.
func (s *scanner) float(field string) (float64, error) {
	lit, _, err := s.number(field)
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		return 0, fieldErr(field, "number "+string(lit)+" overflows float64")
	}
	return f, nil
}

// int reads a non-negative integer literal (no fraction, no exponent) that
// fits int64, as ts and install_ts must be.
func (s *scanner) int(field string) (int64, error) {
	lit, isInt, err := s.number(field)
	if err != nil {
		return 0, err
	}
	if !isInt {
		return 0, fieldErr(field, "not an integer: "+string(lit))
	}
	if lit[0] == '-' {
		if string(lit) == "-0" {
			return 0, nil
		}
		return 0, fieldErr(field, "negative: "+string(lit))
	}
	var n int64
	for _, c := range lit {
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, fieldErr(field, "integer "+string(lit)+" overflows int64")
		}
		n = n*10 + d
	}
	return n, nil
}

// literal consumes the literal word (true, false or null) at s.pos.
func (s *scanner) literal(field, word string) error {
	if len(s.data)-s.pos >= len(word) && string(s.data[s.pos:s.pos+len(word)]) == word {
		s.pos += len(word)
		return nil
	}
	return fieldErr(field, s.unexpected("a JSON value"))
}

// kindAt names the JSON type of the value starting at s.pos, for errors.
func (s *scanner) kindAt() string {
	if s.pos >= len(s.data) {
		return "the end of the message"
	}
	switch c := s.data[s.pos]; {
	case c == '"':
		return "a string"
	case c == '-' || ('0' <= c && c <= '9'):
		return "a number"
	case c == 't' || c == 'f':
		return "a bool"
	case c == 'n':
		return "null"
	case c == '[':
		return "a list"
	case c == '{':
		return "an object"
	}
	return "not a JSON value"
}

// skip validates and skips any JSON value at s.pos (after white space),
// nesting at most maxSkipDepth deep.
func (s *scanner) skip(field string, depth int) error {
	if depth > maxSkipDepth {
		return fieldErr(field, "value nested deeper than "+strconv.Itoa(maxSkipDepth))
	}
	switch s.peek() {
	case '"':
		_, err := s.str(field)
		return err
	case 't':
		return s.literal(field, "true")
	case 'f':
		return s.literal(field, "false")
	case 'n':
		return s.literal(field, "null")
	case '[':
		s.pos++
		if s.peek() == ']' {
			s.pos++
			return nil
		}
		for {
			if err := s.skip(field, depth+1); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.pos++
			case ']':
				s.pos++
				return nil
			default:
				return fieldErr(field, s.unexpected("',' or ']' in list"))
			}
		}
	case '{':
		s.pos++
		if s.peek() == '}' {
			s.pos++
			return nil
		}
		for {
			if s.peek() != '"' {
				return fieldErr(field, s.unexpected("a key string"))
			}
			if _, err := s.str(field); err != nil {
				return err
			}
			if s.peek() != ':' {
				return fieldErr(field, s.unexpected("':' after the key"))
			}
			s.pos++
			if err := s.skip(field, depth+1); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.pos++
			case '}':
				s.pos++
				return nil
			default:
				return fieldErr(field, s.unexpected("',' or '}' in object"))
			}
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		_, _, err := s.number(field)
		return err
	}
	return fieldErr(field, s.unexpected("a JSON value"))
}
