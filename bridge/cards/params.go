package cards

import (
	"fmt"
	"net/url"
	"strconv"
)

// ParseParams reads Options from the query parameters of the admin API
// (key, user_column, card_column, delimiter, replace, dry_run, resume_at,
// batch), named like the CLI's flags.
func ParseParams(q url.Values) (Options, error) {
	var o Options
	for name := range q {
		switch name {
		case "tenant", "key", "user_column", "card_column", "delimiter", "replace", "dry_run", "resume_at", "batch":
		default:
			return o, fmt.Errorf("cards: unknown parameter %q (known: tenant, key, user_column, card_column, delimiter, replace, dry_run, resume_at, batch)", name)
		}
	}
	var err error
	if s := q.Get("key"); s != "" {
		if o.Key, err = ParseKey(s); err != nil {
			return o, err
		}
	}
	o.UserColumn, o.CardColumn = q.Get("user_column"), q.Get("card_column")
	switch d := q.Get("delimiter"); d {
	case "", "auto":
	case ",", ";":
		o.Delimiter = rune(d[0])
	default:
		return o, fmt.Errorf("cards: delimiter %q is not auto, , or ;", d)
	}
	for _, b := range []struct {
		name string
		to   *bool
	}{{"replace", &o.Replace}, {"dry_run", &o.DryRun}} {
		if s := q.Get(b.name); s != "" {
			if *b.to, err = strconv.ParseBool(s); err != nil {
				return o, fmt.Errorf("cards: %s %q is not true or false", b.name, s)
			}
		}
	}
	for _, n := range []struct {
		name string
		to   *int
	}{{"resume_at", &o.ResumeAt}, {"batch", &o.BatchSize}} {
		if s := q.Get(n.name); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil || v < 0 || v > 1_000_000_000 {
				return o, fmt.Errorf("cards: %s %q is not a whole number", n.name, s)
			}
			*n.to = v
		}
	}
	if o.BatchSize > 10_000 {
		return o, fmt.Errorf("cards: batch %d is over 10000 rows", o.BatchSize)
	}
	return o, nil
}

// Answer is a Result with the first rejected rows, as the admin API (and a
// console) shows an import.
type Answer struct {
	Result
	Rejections []Rejection `json:"rejections"`
	// MoreRejections counts the rejected rows past the limit Collect got.
	MoreRejections int `json:"more_rejections,omitempty"`
}

// Collect returns an Options.OnReject that keeps the first limit rows.
func (a *Answer) Collect(limit int) func(Rejection) {
	a.Rejections = []Rejection{}
	return func(r Rejection) {
		if len(a.Rejections) < limit {
			a.Rejections = append(a.Rejections, r)
			return
		}
		a.MoreRejections++
	}
}
