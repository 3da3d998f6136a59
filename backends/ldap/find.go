package ldap

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
)

// quickLimit is how many entries Find reads in full in one search before
// it switches to reading keys first: Entra's lookups (userName eq x) match
// one entry, and listing a large directory should not move every entry's
// attributes to show one page.
const quickLimit = 100

// Find answers a query with one LDAP search (plus id/DN conversions). The
// order is stable and documented: by createTimestamp, then by id, so that
// entries created while a client pages through are appended at the end and
// pages are slices of one order. total counts every matching entry.
//
// A query matching at most quickLimit entries is read in one search. A
// larger one is read in two passes: every match's id and createTimestamp
// through the paged-results control (RFC 2696, Config.PageSize per page),
// then the entries of the requested page by their ids.
func (b *Backend) Find(ctx context.Context, q backends.Query) ([]backends.Record, int, error) {
	k, err := b.layout(q.Kind)
	if err != nil {
		return nil, 0, err
	}
	if q.Offset < 0 || q.Limit < 0 {
		return nil, 0, &backends.InvalidError{Reason: "offset and limit must not be negative"}
	}
	var recs []backends.Record
	total := 0
	err = b.pool.read(ctx, q.Read, func(c *conn) error {
		f, err := b.filter(c, k, q.Filter)
		if err != nil {
			return err
		}
		if f == matchNone {
			return nil
		}
		f = "(&" + k.classFilter + f + ")"
		attrs := k.readAttrs(q.Members)
		if q.Limit > 0 {
			res, err := c.search(goldap.NewSearchRequest(k.searchBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
				quickLimit, 0, false, f, attrs, nil))
			switch {
			case err == nil:
				entries := sortEntries(k, res.Entries)
				total = len(entries)
				recs, err = b.records(c, k, window(entries, q.Offset, q.Limit), q.Members, nil)
				return err
			case resultCode(err) == int(goldap.LDAPResultNoSuchObject):
				return fmt.Errorf("ldap: search base %q is missing: %w: %w", k.searchBase, backends.ErrUnavailable, err)
			case resultCode(err) != int(goldap.LDAPResultSizeLimitExceeded):
				return classify("search", err, nil)
			}
		}
		keys, err := b.keys(c, k, f)
		if err != nil {
			return err
		}
		total = len(keys)
		page := window(keys, q.Offset, q.Limit)
		if len(page) == 0 {
			return nil
		}
		ids := make([]string, len(page))
		for i, e := range page {
			ids[i] = k.entryID(e)
		}
		byID, err := b.entriesForIDs(c, ids, attrs, k)
		if err != nil {
			return err
		}
		entries := make([]*goldap.Entry, 0, len(page))
		for _, id := range ids {
			// One deleted between the passes is left out of the page.
			if e, ok := byID[id]; ok {
				entries = append(entries, e)
			}
		}
		recs, err = b.records(c, k, entries, q.Members, nil)
		return err
	})
	if err != nil {
		return nil, 0, classify("find", err, nil)
	}
	return recs, total, nil
}

// keys reads the id and createTimestamp of every entry matching f, page by
// page, sorted in Find's order.
func (b *Backend) keys(c *conn, k *kindLayout, f string) ([]*goldap.Entry, error) {
	paging := goldap.NewControlPaging(uint32(b.cfg.PageSize))
	req := goldap.NewSearchRequest(k.searchBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		f, []string{k.idAttr, "createTimestamp"}, []goldap.Control{paging})
	var all []*goldap.Entry
	for {
		res, err := c.search(req)
		if err != nil {
			if resultCode(err) == int(goldap.LDAPResultNoSuchObject) {
				return nil, fmt.Errorf("ldap: search base %q is missing: %w: %w", k.searchBase, backends.ErrUnavailable, err)
			}
			return nil, classify("paged search", err, nil)
		}
		all = append(all, res.Entries...)
		ctl, ok := goldap.FindControl(res.Controls, goldap.ControlTypePaging).(*goldap.ControlPaging)
		if !ok || len(ctl.Cookie) == 0 {
			break
		}
		paging.SetCookie(ctl.Cookie)
	}
	return sortEntries(k, all), nil
}

// sortEntries orders entries by createTimestamp, then id; entries without
// an id (which cannot be addressed) are dropped.
func sortEntries(k *kindLayout, entries []*goldap.Entry) []*goldap.Entry {
	type keyed struct {
		e       *goldap.Entry
		created time.Time
		id      string
	}
	ks := make([]keyed, 0, len(entries))
	for _, e := range entries {
		id := k.entryID(e)
		if id == "" {
			continue
		}
		ks = append(ks, keyed{e, parseGeneralizedTime(e.GetEqualFoldAttributeValue("createTimestamp")), id})
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := a.created.Compare(b.created); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	out := make([]*goldap.Entry, len(ks))
	for i, x := range ks {
		out[i] = x.e
	}
	return out
}

// window is entries[offset:offset+limit], clamped.
func window[T any](s []T, offset, limit int) []T {
	if offset >= len(s) || limit <= 0 {
		return nil
	}
	return s[offset:min(offset+limit, len(s))]
}
