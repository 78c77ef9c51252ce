// Package redact removes credentials from URLs and from the messages that
// quote them, for logs and errors. A URL can carry secrets in its user info
// (s3://KEY:SECRET@bucket) and its query (?secret_access_key=...,
// ?token=..., ?sig=...); both are dropped, whatever the parameter's name.
//
// It imports only the standard library, so that every package that prints
// a URL it was given (ingest, publisher, schemas/spec) can use it.
package redact

import (
	"errors"
	"net/url"
	"slices"
	"strings"
)

// Placeholder replaces a secret found inside a message.
const Placeholder = "REDACTED"

// Unparsable is what URL returns for a string url.Parse rejects.
const Unparsable = "<unparsable URL>"

// URL returns raw without user info, query and fragment; Unparsable when
// raw does not parse (its text could hold anything).
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return Unparsable
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// minSecret is the shortest secret Message replaces inside a message:
// shorter values ("1", "true") would garble it and are not credentials.
const minSecret = 4

// Message returns msg with every one of urls replaced by its redacted form
// and every secret they carry (user name, password, query and fragment
// values, as written and decoded) replaced by Placeholder, wherever it
// appears, such as in a URL a library rebuilt or quoted in its own way.
func Message(msg string, urls ...string) string {
	var secrets []string
	add := func(s string) {
		if len(s) >= minSecret {
			secrets = append(secrets, s, url.QueryEscape(s), url.PathEscape(s))
		}
	}
	for _, raw := range urls {
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil {
			// Nothing to parse the secrets out of: the text after the
			// scheme could be one.
			msg = strings.ReplaceAll(msg, raw, Unparsable)
			continue
		}
		if red := URL(raw); red != raw {
			msg = strings.ReplaceAll(msg, raw, red)
		}
		addUser(u.User, add)
		for _, part := range []string{u.RawQuery, u.Fragment} {
			for _, kv := range strings.FieldsFunc(part, func(r rune) bool { return r == '&' || r == ';' }) {
				_, v, _ := strings.Cut(kv, "=")
				add(v)
				if dv, err := url.QueryUnescape(v); err == nil {
					add(dv)
					// A URL in a parameter (an endpoint) has its own user info.
					if nu, err := url.Parse(dv); err == nil {
						addUser(nu.User, add)
					}
				}
			}
		}
	}
	// Longest first, so that a secret containing another is replaced whole.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, Placeholder)
	}
	return msg
}

func addUser(u *url.Userinfo, add func(string)) {
	if u == nil {
		return
	}
	add(u.Username())
	if p, ok := u.Password(); ok {
		add(p)
	}
}

// Error returns err with its message passed through Message. The result
// answers errors.Is like err (so callers still see context.Canceled or
// fs.ErrNotExist) but does not unwrap: the chain's own messages still hold
// the secrets. nil stays nil.
func Error(err error, urls ...string) error {
	if err == nil {
		return nil
	}
	return &scrubbed{msg: Message(err.Error(), urls...), err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string        { return e.msg }
func (e *scrubbed) Is(target error) bool { return errors.Is(e.err, target) }
