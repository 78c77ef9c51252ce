package schemas

import (
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// AppendImpressionJSON appends imp as one JSON object to dst and returns the
// extended buffer. Keys come in a fixed order: impression_id, ts, user_id,
// app_id, then the feature columns sorted by name. Feature columns that are
// KindNull, that hold a non-finite number (JSON cannot carry NaN or ±Inf), or
// whose name is one of the fixed columns are left out; strings that are not
// valid UTF-8 are written with U+FFFD in place of each bad byte.
func AppendImpressionJSON(dst []byte, imp *Impression) []byte {
	dst = appendImpressionFixed(dst, imp)
	dst = appendFeatures(dst, imp.Features)
	return append(dst, '}')
}

// AppendExampleJSON appends ex as one JSON object: the impression's fixed
// columns, label, install_ts (null when HasInstallTS is false), then the
// feature columns sorted by name, as AppendImpressionJSON.
func AppendExampleJSON(dst []byte, ex *Example) []byte {
	dst = appendImpressionFixed(dst, &ex.Impression)
	dst = append(dst, `,"label":`...)
	dst = strconv.AppendInt(dst, int64(ex.Label), 10)
	dst = append(dst, `,"install_ts":`...)
	if ex.HasInstallTS {
		dst = strconv.AppendInt(dst, ex.InstallTS, 10)
	} else {
		dst = append(dst, "null"...)
	}
	dst = appendFeatures(dst, ex.Features)
	return append(dst, '}')
}

// AppendInstallJSON appends in as one JSON object: ts, then impression_id,
// user_id and app_id, each left out when empty.
func AppendInstallJSON(dst []byte, in *Install) []byte {
	dst = append(dst, `{"ts":`...)
	dst = strconv.AppendInt(dst, in.TS, 10)
	for _, f := range [...]struct{ name, val string }{
		{ColImpressionID, in.ImpressionID}, {ColUserID, in.UserID}, {ColAppID, in.AppID},
	} {
		if f.val != "" {
			dst = append(dst, ',')
			dst = appendJSONString(dst, f.name)
			dst = append(dst, ':')
			dst = appendJSONString(dst, f.val)
		}
	}
	return append(dst, '}')
}

func appendImpressionFixed(dst []byte, imp *Impression) []byte {
	dst = append(dst, `{"impression_id":`...)
	dst = appendJSONString(dst, imp.ImpressionID)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, imp.TS, 10)
	dst = append(dst, `,"user_id":`...)
	dst = appendJSONString(dst, imp.UserID)
	dst = append(dst, `,"app_id":`...)
	return appendJSONString(dst, imp.AppID)
}

// isFixedColumn reports whether name is a fixed column of any record kind.
func isFixedColumn(name string) bool {
	switch name {
	case ColImpressionID, ColTS, ColUserID, ColAppID, ColLabel, ColInstallTS:
		return true
	}
	return false
}

func appendFeatures(dst []byte, features map[string]Value) []byte {
	var arr [32]string
	names := arr[:0]
	for name, v := range features {
		if v.Kind == KindNull || isFixedColumn(name) {
			continue
		}
		if v.Kind == KindNumber && (math.IsNaN(v.Num) || math.IsInf(v.Num, 0)) {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := features[name]
		dst = append(dst, ',')
		dst = appendJSONString(dst, name)
		dst = append(dst, ':')
		switch v.Kind {
		case KindString:
			dst = appendJSONString(dst, v.Str)
		case KindNumber:
			dst = strconv.AppendFloat(dst, v.Num, 'g', -1, 64)
		case KindBool:
			dst = strconv.AppendBool(dst, v.Bool)
		case KindStrings:
			dst = append(dst, '[')
			for i, s := range v.Strs {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendJSONString(dst, s)
			}
			dst = append(dst, ']')
		default: // an unknown Kind: write null rather than invalid JSON
			dst = append(dst, "null"...)
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || n != 1 {
				i += n
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
