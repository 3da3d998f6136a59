package bridge

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/mapping"
)

// The four SCIM writes. Each checks and maps its request before anything
// is locked (a bad body is a 400 whatever the resource's state), then
// hands run its own step; the mapping turns the request and the current
// record into target changes (mapping/changes.go).

// Create provisions a new resource. The target's natural keys decide what
// a create is: a POST whose externalId already exists is a retry of a
// create whose answer was lost (its attributes are applied and the existing
// id is answered with 201); one whose userName belongs to another resource
// is a 409 uniqueness (docs/design.md §3 "The write pipeline", step 5).
func (s *Service) Create(ctx context.Context, kind scim.Kind, in scim.Resource) (scim.Resource, error) {
	req, err := s.mapping.NewRequest(kind, in)
	if err != nil {
		return nil, s.toSCIM(kind, "", err)
	}
	keys := s.naturalKeys(req)
	// A create is ordered by its identity key: the only name it has yet. A
	// resource without natural keys is ordered with every other such create.
	resource := s.tenant + "/" + string(kind) + "/new"
	locks := []string{resource}
	if len(keys) > 0 {
		resource = s.naturalKeyLock(kind, keys[0].Attr, keys[0].value)
		locks = locks[:0]
		for _, k := range keys {
			locks = append(locks, s.naturalKeyLock(kind, k.Attr, k.value))
		}
	}
	return s.run(ctx, write{
		kind: kind, resource: resource, locks: locks,
		fp: fingerprint(s.tenant, http.MethodPost, kind, "", in),
		op: operation{Op: "create", Kind: kind, Resource: in},
		locked: func(ctx context.Context) (answer, error) {
			return s.createLocked(ctx, req, keys)
		},
	})
}

// createLocked is Create's step. The target checks the natural keys as it
// creates (they are unique attributes of the mapping, which every backend
// enforces), so a new resource costs no lookups of its own; only when the
// target refuses one does findExisting tell a retried create (its
// externalId exists: apply it there) from a real conflict, and both from a
// value that no natural key holds (two people with one display name, in
// AD's cn): that one is the mapping's to change, with the next
// selectUniqueValue candidate, and never a 409.
func (s *Service) createLocked(ctx context.Context, req mapping.Request, keys []naturalKey) (answer, error) {
	kind := req.Kind
	var rec backends.Record
	for {
		var err error
		rec, err = s.create(ctx, req, keys)
		if !errors.Is(err, backends.ErrConflict) {
			if err != nil {
				return answer{}, err
			}
			s.auditLog(ctx, "create", kind, rec.ID, req.Attrs, slices.Sorted(maps.Keys(req.Attrs)))
			break
		}
		existing, ferr := s.findExisting(ctx, req, keys)
		if errors.Is(ferr, backends.ErrConflict) {
			// An earlier try of this create whose client went away (its
			// context cancelled, its lock released) may have landed between
			// our lookups: its userName seen, its externalId not yet. A
			// second pass sees it whole.
			existing, ferr = s.findExisting(ctx, req, keys)
		}
		if ferr != nil {
			return answer{}, ferr
		}
		if existing == nil {
			// Held by an entry the natural keys do not name.
			next, ok, nerr := req.Next(err)
			switch {
			case nerr != nil:
				return answer{}, nerr
			case !ok:
				return answer{}, err
			}
			s.log.Debug("a unique value is taken; trying the mapping's next candidate", "kind", kind, "error", err)
			req = next
			continue
		}
		// A lost answer's retry, or a POST naming an entry a DELETE kept
		// (a re-hire, a reassignment): restored, with its history.
		op, changes := "create-existing", mapping.Changes{}
		if s.mapping.Deprovisioned(kind, *existing) {
			op = "restore"
			changes, err = s.mapping.RestoreChanges(*existing, req)
		} else {
			changes, err = s.mapping.RetriedCreateChanges(*existing, req)
		}
		if err != nil {
			return answer{}, err
		}
		if rec, err = s.apply(ctx, kind, *existing, changes); err != nil {
			return answer{}, err
		}
		s.auditLog(ctx, op, kind, rec.ID, rec.Attrs, nil)
		break
	}
	res, err := s.mapping.ToResource(kind, rec)
	if err != nil {
		return answer{}, err
	}
	return answer{id: rec.ID, status: http.StatusCreated, res: res}, nil
}

type naturalKey struct {
	mapping.MatchKey
	value string
}

// naturalKeys lists the request's values of the mapping's match keys in
// the mapping's precedence order (its match: numbers, as Entra's "Matching
// precedence"): the first one the request carries is its identity.
func (s *Service) naturalKeys(req mapping.Request) []naturalKey {
	var out []naturalKey
	for _, k := range s.mapping.MatchKeys(req.Kind) {
		if v := req.Value(k.Attr); v != "" {
			out = append(out, naturalKey{k, v})
		}
	}
	return out
}

func isExternalID(p scim.Path) bool { return p.URN == "" && p.Attr == "externalId" && p.Sub == "" }

// findExisting returns the resource that the request's identity key (the
// first natural key) already names, or a 409 if another natural key belongs
// to a different resource (or the identity's externalId differs from the
// request's: then it is another object with the same name), or nil if the
// create is new.
func (s *Service) findExisting(ctx context.Context, req mapping.Request, keys []naturalKey) (*backends.Record, error) {
	kind := req.Kind
	var identity *backends.Record
	for i, k := range keys {
		rec, found, err := s.findOne(ctx, kind, k.Attr, k.value)
		if err != nil {
			return nil, err
		}
		if !found {
			continue
		}
		if i == 0 {
			if ext, ok := s.mapping.Target(kind, "externalId"); ok && !isExternalID(k.Path) &&
				req.Value(ext) != "" && first(rec.Attrs[ext]) != "" && !strings.EqualFold(req.Value(ext), first(rec.Attrs[ext])) {
				return nil, conflict("%s %q is already used by another %s (id %s) with another externalId", k.Path.String(), k.value, lowerKind(kind), rec.ID)
			}
			identity = &rec
			continue
		}
		if identity == nil || identity.ID != rec.ID {
			if s.mapping.Deprovisioned(kind, rec) {
				// Hidden from SCIM, but it holds the value: only an
				// operator can say whether it is the same person.
				return nil, conflict("%s %q is held by a deprovisioned %s (id %s, kept by an earlier DELETE) with another %s; restore it in Entra with that %s, or delete the kept entry in the directory",
					k.Path.String(), k.value, lowerKind(kind), rec.ID, keys[0].Path.String(), keys[0].Path.String())
			}
			return nil, conflict("%s %q is already used by another %s (id %s)", k.Path.String(), k.value, lowerKind(kind), rec.ID)
		}
	}
	return identity, nil
}

func (s *Service) findOne(ctx context.Context, kind scim.Kind, attr, value string) (backends.Record, bool, error) {
	var recs []backends.Record
	err := s.withRetry(ctx, func(ctx context.Context) error {
		var err error
		recs, _, err = s.backend.Find(ctx, backends.Query{Kind: bkind(kind),
			Filter: backends.Cmp{Attr: attr, Op: backends.Eq, Value: value}, Limit: 2, Read: forWrite})
		return err
	})
	if err != nil || len(recs) == 0 {
		return backends.Record{}, false, err
	}
	return recs[0], true, nil
}

// create writes a new record. A transient failure is ambiguous (the add may
// have landed before the connection dropped), so before each retry the
// identity key is looked up again.
func (s *Service) create(ctx context.Context, req mapping.Request, keys []naturalKey) (backends.Record, error) {
	var rec backends.Record
	attempt := 0
	err := s.withRetry(ctx, func(ctx context.Context) error {
		attempt++
		if attempt > 1 && len(keys) > 0 {
			recs, _, err := s.backend.Find(ctx, backends.Query{Kind: bkind(req.Kind),
				Filter: backends.Cmp{Attr: keys[0].Attr, Op: backends.Eq, Value: keys[0].value}, Limit: 1, Read: forWrite})
			if err != nil {
				return err
			}
			if len(recs) > 0 {
				rec = recs[0]
				return nil
			}
		}
		var err error
		rec, err = s.backend.Create(ctx, bkind(req.Kind), req.Attrs)
		return err
	})
	return rec, err
}

// Replace is SCIM PUT: the resource becomes the request, through the
// mapping; target attributes the mapping does not know are left alone, and
// group members are replaced only if the request carries them.
func (s *Service) Replace(ctx context.Context, kind scim.Kind, id string, in scim.Resource) (scim.Resource, error) {
	req, err := s.mapping.NewRequest(kind, in)
	if err != nil {
		return nil, s.toSCIM(kind, id, err)
	}
	op := operation{Op: "replace", Kind: kind, ID: id, Resource: in}
	return s.run(ctx, s.modify(http.MethodPut, op, in, http.StatusOK, func(cur backends.Record) (mapping.Changes, error) {
		return s.mapping.ReplaceChanges(cur, req)
	}))
}

// Patch applies a SCIM PATCH. The current resource is read, the operations
// are applied to it in SCIM terms, and only the target attributes whose
// mapped value changed are written, in one Modify. Member changes go
// straight to the target without reading the member list. A user PATCH is
// answered with the resource, a group PATCH with 204 (nil).
func (s *Service) Patch(ctx context.Context, kind scim.Kind, id string, ops []scim.PatchOp) (scim.Resource, error) {
	op := operation{Op: "patch", Kind: kind, ID: id, Ops: patchOps(ops)}
	status := http.StatusOK
	if kind == scim.Group {
		status = http.StatusNoContent
	}
	res, err := s.run(ctx, s.modify(http.MethodPatch, op, op.Ops, status, func(cur backends.Record) (mapping.Changes, error) {
		return s.mapping.PatchChanges(kind, cur, ops)
	}))
	if err != nil || kind == scim.Group {
		return nil, err
	}
	return res, nil
}

// modify is the write of PUT and PATCH: under the resource's lock, read
// the current record, let the mapping say what changes, write them, and
// answer the resource as it now is.
func (s *Service) modify(method string, op operation, body any, status int,
	changes func(cur backends.Record) (mapping.Changes, error)) write {
	kind, id := op.Kind, op.ID
	resource := s.resourceKey(kind, id)
	return write{
		kind: kind, id: id, resource: resource, locks: []string{resource},
		fp: fingerprint(s.tenant, method, kind, id, body), op: op,
		locked: func(ctx context.Context) (answer, error) {
			cur, err := s.get(ctx, kind, id)
			if err != nil {
				return answer{}, err
			}
			cs, err := changes(cur)
			if err != nil {
				return answer{}, err
			}
			rec, err := s.apply(ctx, kind, cur, cs)
			if err != nil {
				return answer{}, err
			}
			res, err := s.mapping.ToResource(kind, rec)
			if err != nil {
				return answer{}, err
			}
			return answer{id: id, status: status, res: res}, nil
		},
	}
}

// forWrite is how a write's own reads read: with the write's capacity
// (backends.Read), never with the queries'.
var forWrite = backends.Read{ForWrite: true}

// get reads the current record of a write, with the backend's Handle for
// the Modify that follows. An entry a SCIM DELETE kept is not found: every
// later write leaves it alone (but a restoring POST).
func (s *Service) get(ctx context.Context, kind scim.Kind, id string) (backends.Record, error) {
	var rec backends.Record
	err := s.withRetry(ctx, func(ctx context.Context) error {
		var err error
		rec, err = s.backend.Get(ctx, bkind(kind), id, forWrite)
		return err
	})
	if err == nil && s.mapping.Deprovisioned(kind, rec) {
		return backends.Record{}, errDeprovisioned
	}
	return rec, err
}

// apply writes changes to cur in one Modify (none: nothing is written) and
// returns the record as it now is, for the answer, without reading it back.
// A rename the directory refuses because another entry holds the new
// value of a selectUniqueValue attribute is tried with the mapping's next
// candidate.
func (s *Service) apply(ctx context.Context, kind scim.Kind, cur backends.Record, changes mapping.Changes) (backends.Record, error) {
	for {
		rec, err := s.modifyOnce(ctx, kind, cur, changes.List)
		next, ok, nerr := changes.Next(err)
		switch {
		case nerr != nil:
			return backends.Record{}, nerr
		case !ok:
			return rec, err
		}
		s.log.Debug("a unique value is taken; trying the mapping's next candidate", "kind", kind, "id", cur.ID, "error", err)
		changes = next
	}
}

// modifyOnce is apply's one Modify.
func (s *Service) modifyOnce(ctx context.Context, kind scim.Kind, cur backends.Record, changes []backends.Change) (backends.Record, error) {
	if len(changes) == 0 {
		return cur, nil
	}
	err := s.withRetry(ctx, func(ctx context.Context) error {
		return s.backend.Modify(ctx, cur, changes)
	})
	if err != nil {
		return backends.Record{}, err
	}
	s.auditLog(ctx, "modify", kind, cur.ID, cur.Attrs, changedNames(changes))
	out := cur
	out.Attrs = applyChanges(cur.Attrs, changes)
	out.Modified = time.Now().UTC()
	delete(out.Attrs, backends.AttrMembers)
	return out, nil
}

// applyChanges returns attrs with the scalar changes applied, for the
// answer to a write without reading the record back.
func applyChanges(attrs map[string][]string, changes []backends.Change) map[string][]string {
	out := make(map[string][]string, len(attrs))
	for k, v := range attrs {
		out[k] = v
	}
	for _, c := range changes {
		if c.Attr == backends.AttrMembers {
			continue
		}
		if c.Op == backends.Replace {
			if len(c.Values) == 0 {
				delete(out, c.Attr)
			} else {
				out[c.Attr] = c.Values
			}
		}
	}
	return out
}

// Delete is SCIM DELETE: per the mapping's deprovisioning policy the entry
// is deleted, or kept and disabled through the active mapping.
func (s *Service) Delete(ctx context.Context, kind scim.Kind, id string) error {
	resource := s.resourceKey(kind, id)
	_, err := s.run(ctx, write{
		kind: kind, id: id, resource: resource, locks: []string{resource},
		fp: fingerprint(s.tenant, http.MethodDelete, kind, id, nil),
		op: operation{Op: "delete", Kind: kind, ID: id},
		locked: func(ctx context.Context) (answer, error) {
			return answer{id: id, status: http.StatusNoContent}, s.deleteLocked(ctx, kind, id)
		},
	})
	return err
}

// deleteLocked is Delete's step: the mapping's deprovisioning policy
// removes the entry, or keeps it marked (and a user disabled). Either way
// the resource is gone for SCIM, and a second DELETE is a 404.
func (s *Service) deleteLocked(ctx context.Context, kind scim.Kind, id string) error {
	if s.mapping.OnDelete(kind) != mapping.OnDeleteDelete {
		cur, err := s.get(ctx, kind, id)
		if err != nil {
			return err
		}
		changes, err := s.mapping.DeprovisionChanges(kind, cur)
		if err != nil {
			return err
		}
		if _, err = s.modifyOnce(ctx, kind, cur, changes); err != nil {
			return err
		}
		s.auditLog(ctx, "deprovision", kind, id, cur.Attrs, changedNames(changes))
		return nil
	}
	if s.mapping.HasMarker(kind) {
		// Entries kept under an earlier policy are gone for SCIM too.
		if _, err := s.get(ctx, kind, id); err != nil {
			return err
		}
	}
	attempt := 0
	err := s.withRetry(ctx, func(ctx context.Context) error {
		attempt++
		err := s.backend.Delete(ctx, bkind(kind), id)
		// A retried delete that finds nothing: the first attempt landed.
		if attempt > 1 && errors.Is(err, backends.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	s.auditLog(ctx, "delete", kind, id, nil, nil)
	return nil
}
