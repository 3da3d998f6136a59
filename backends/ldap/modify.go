package ldap

import (
	"context"
	"errors"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
)

// entryHandle is the note Get leaves on a record (backends.Handle) for a
// Modify of it: the entry's DN and the attributes Modify plans from
// (modifyAttrs), as read as kind.
type entryHandle struct {
	kind backends.Kind
	e    *goldap.Entry
}

// handle keeps, of e as Get read it, what a Modify of it needs.
func (k *kindLayout) handle(e *goldap.Entry) backends.Handle {
	keep := &goldap.Entry{DN: e.DN}
	want := k.modifyAttrs()
	for _, a := range e.Attributes {
		if k.hasAttr(want, a.Name) {
			keep.Attributes = append(keep.Attributes, a)
		}
	}
	return backends.NewHandle(entryHandle{kind: k.kind, e: keep})
}

// handled returns the entry cur's handle keeps, or nil when cur has none
// of this kind (a record built from an id, or found by Find).
func (k *kindLayout) handled(cur backends.Record) *goldap.Entry {
	if h, ok := cur.Handle.Value().(entryHandle); ok && h.kind == k.kind {
		return h.e
	}
	return nil
}

// mod is one modification of a Modify request, in the stored form.
type mod struct {
	op   uint // goldap.AddAttribute, DeleteAttribute, ReplaceAttribute
	attr string
	vals []string
}

// Modify applies changes to one entry: a rename first (ModifyDN) when the
// naming attribute's value changes or a disable moves the entry, then
// every attribute and member change in ONE Modify request, in order, so
// that the changes land together or not at all. Member changes for the
// group are coalesced: however many members a PATCH adds, they travel as
// one multi-value add, their ids converted in one batched search.
//
// Adding a present value and removing an absent one succeed: the
// Permissive Modify control is sent (Config.PermissiveModify), and when the
// server still answers attributeOrValueExists (20) or noSuchAttribute (16)
// (slapd for an absent value; AD answers 68/53 for members), the current
// values are read and the request is sent again with only the effective
// changes. A groupOfNames that would lose its last member (65) gets the
// layout's placeholder instead.
//
// The entry is the one cur's Get read (its Handle, see entryHandle) where
// the directory can check that it still is (the assertion control), and
// otherwise looked up by id.
//
// A Modify whose connection drops after sending is reported unavailable:
// every change is idempotent as written here, and what a retry takes from
// the handle is asserted again, so an entry the first try changed sends it
// to the lookup.
func (b *Backend) Modify(ctx context.Context, cur backends.Record, changes []backends.Change) error {
	k, err := b.layout(cur.Kind)
	if err != nil {
		return err
	}
	id, read := cur.ID, k.handled(cur)
	err = b.pool.write(ctx, func(c *conn) error {
		info, err := b.rootDSE(c)
		if err != nil {
			return err
		}
		// Where the server can check it, a member add asserts that the
		// placeholder is gone instead of searching for it first.
		ph := placeholderSearch
		if info.assertion {
			ph = placeholderAssert
		}
		var (
			memberVals map[string]string
			resolved   bool
		)
		resolve := func() error {
			if resolved {
				return nil
			}
			var err error
			memberVals, err = b.memberChangeValues(c, k, changes)
			resolved = err == nil
			return err
		}
		if read != nil && info.assertion {
			if err := resolve(); err != nil {
				return err
			}
			err := b.modifyEntry(c, k, id, read, changes, memberVals, ph, true)
			var stale *staleError
			if !errors.As(err, &stale) {
				return err
			}
			b.log.Debug("the entry Get read has changed since; looking it up again", "id", id, "error", stale.err)
			fresh, err := b.lookup(c, k, id, k.modifyAttrs())
			if err != nil {
				return err
			}
			// An entry that still holds everything the plan asserted
			// failed the assertion on the placeholder: it is there.
			if stale.placeholder && stale.plan.holds(fresh) {
				ph = placeholderPresent
			}
			return b.modifyEntry(c, k, id, fresh, changes, memberVals, ph, false)
		}
		e, err := b.lookup(c, k, id, k.modifyAttrs())
		if err != nil {
			return err
		}
		if err := resolve(); err != nil {
			return err
		}
		return b.modifyEntry(c, k, id, e, changes, memberVals, ph, false)
	})
	return classify("modify", err, nil)
}

// modifyEntry plans changes against entry e and writes them. With
// fromGet, e is the entry a Get read earlier (a handle's): the first write asserts what
// the plan took from it (its id, flags and classes), and a failed
// assertion or a DN that is gone is a *staleError, nothing written.
func (b *Backend) modifyEntry(c *conn, k *kindLayout, id string, e *goldap.Entry, changes []backends.Change,
	memberVals map[string]string, ph placeholderMode, fromGet bool) error {
	p, err := b.plan(c, k, e, changes, memberVals, ph)
	if err != nil {
		return err
	}
	if err := b.checkUnique(c, k, p.unique, id); err != nil {
		return err
	}
	var guard []string
	if fromGet {
		guard = p.guard(k, id)
	}
	dn := e.DN
	if p.newRDN != "" || p.newParent != "" {
		rdn := p.newRDN
		if rdn == "" {
			rdn = firstRDN(e.DN)
		}
		req := goldap.NewModifyDNRequest(e.DN, rdn, true, p.newParent)
		if guard != nil {
			ctl, err := assertionControl(guard)
			if err != nil {
				return err
			}
			req.Controls = []goldap.Control{ctl}
		}
		if err := c.modifyDN(req); err != nil {
			if guard != nil && isStale(err) {
				return &staleError{plan: p, err: err}
			}
			if resultCode(err) == int(goldap.LDAPResultEntryAlreadyExists) {
				return b.conflictAt(c, k, newDN(e.DN, rdn, p.newParent), p.unique, id)
			}
			return classify("rename", err, []string{k.rdn})
		}
		guard = nil // the entry is the one the plan was made for
		dn = newDN(e.DN, rdn, p.newParent)
		if err := b.relink(c, k, e.DN, dn); err != nil {
			return err
		}
	}
	err = b.apply(c, k, dn, p.mods, guard, p.placeholderAbsent)
	var stale *staleError
	if errors.As(err, &stale) {
		stale.plan = p
	}
	return err
}
