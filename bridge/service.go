package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/sethvargo/go-retry"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/bridge/state"
	"github.com/scimbridge/scimbridge/mapping"
)

// Options configure one tenant's Service.
type Options struct {
	Tenant  string
	Mapping *mapping.Mapping
	Backend backends.Backend
	// State may be nil (tests, or a deployment that accepts the risk): then
	// ordering holds within this process only and there are no fast-path
	// replays; natural-key deduplication by the target still holds.
	State  state.Store
	Logger hclog.Logger
	// Owner identifies this process in shared locks (host:pid:random).
	Owner string
	// WriteRetries bounds the inline retries of a transient target error.
	WriteRetries int
	// RetryBase is the first backoff delay; it doubles, with jitter.
	RetryBase time.Duration
	// IdempotencyTTL is how long an answer can be replayed. Default 1 h.
	IdempotencyTTL time.Duration
	// Wake, when set, is called after a write was queued, to wake the
	// worker instead of letting it find the job at its next poll.
	Wake func()
	// Observer, when set, is told how long writes waited for their
	// resource's lock.
	Observer Observer
}

// Observer receives the pipeline's events, for metrics.
type Observer interface {
	LockWait(d time.Duration)
}

// Service provisions one tenant: it is what bridge/httpapi calls for every
// SCIM request of that tenant.
type Service struct {
	tenant  string
	mapping *mapping.Mapping
	backend backends.Backend
	state   state.Store
	log     hclog.Logger
	audit   hclog.Logger
	locks   *locker
	retries int
	base    time.Duration
	idemTTL time.Duration
	wake    func()
}

// NewService builds a tenant's service.
func NewService(o Options) *Service {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 100 * time.Millisecond
	}
	if o.IdempotencyTTL <= 0 {
		o.IdempotencyTTL = time.Hour
	}
	if o.WriteRetries < 0 {
		o.WriteRetries = 0
	}
	log := o.Logger.Named("bridge").With("tenant", o.Tenant)
	var locks lockStore
	if o.State != nil {
		locks = o.State
	}
	return &Service{
		tenant: o.Tenant, mapping: o.Mapping, backend: o.Backend, state: o.State,
		log: log, audit: o.Logger.Named("audit").With("tenant", o.Tenant),
		locks: newLocker(locks, o.Owner, log, o.Observer), retries: o.WriteRetries, base: o.RetryBase,
		idemTTL: o.IdempotencyTTL, wake: o.Wake,
	}
}

// Mapping returns the tenant's compiled mapping.
func (s *Service) Mapping() *mapping.Mapping { return s.mapping }

// Backend returns the tenant's backend.
func (s *Service) Backend() backends.Backend { return s.backend }

func bkind(k scim.Kind) backends.Kind {
	if k == scim.Group {
		return backends.Group
	}
	return backends.User
}

// resourceKey names a resource for locks and versions.
func (s *Service) resourceKey(kind scim.Kind, id string) string {
	return s.tenant + "/" + string(kind) + "/" + id
}

// naturalKeyLock names a natural-key value (case folded, like the targets
// compare it) so that two creates of one user serialise before either
// knows the id.
func (s *Service) naturalKeyLock(kind scim.Kind, attr, value string) string {
	return s.tenant + "/" + string(kind) + "/key/" + attr + "/" + strings.ToLower(strings.Join(strings.Fields(value), " "))
}

// Get reads one resource by id. Group members are read only when the
// projection keeps them (Entra sends excludedAttributes=members).
func (s *Service) Get(ctx context.Context, kind scim.Kind, id string, p scim.ListParams) (scim.Resource, error) {
	rec, err := s.backend.Get(ctx, bkind(kind), id, s.wantMembers(kind, p))
	if err != nil {
		return nil, s.toSCIM(kind, id, err)
	}
	res, err := s.mapping.ToResource(kind, rec)
	if err != nil {
		return nil, s.toSCIM(kind, id, err)
	}
	return project(res, p), nil
}

// project applies the request's attributes and excludedAttributes. Without
// them the mapped resource is the answer as it is: ToResource builds a new
// one per call and never fills a write-only attribute (password).
func project(res scim.Resource, p scim.ListParams) scim.Resource {
	if len(p.Attributes) == 0 && len(p.ExcludedAttributes) == 0 {
		return res
	}
	return scim.Project(res, p.Attributes, p.ExcludedAttributes)
}

// List answers a filtered, paged query by translating the filter into a
// target query; nothing is listed and filtered in memory.
func (s *Service) List(ctx context.Context, kind scim.Kind, p scim.ListParams) (scim.ListResponse, error) {
	q := backends.Query{Kind: bkind(kind), Offset: max(p.StartIndex, 1) - 1, Limit: p.Count, Members: s.wantMembers(kind, p)}
	if p.Filter != nil {
		f, err := s.mapping.Filter(kind, p.Filter)
		if err != nil {
			return scim.ListResponse{}, s.toSCIM(kind, "", err)
		}
		q.Filter = f
	}
	recs, total, err := s.backend.Find(ctx, q)
	if err != nil {
		if errors.Is(err, backends.ErrUnsupported) {
			return scim.ListResponse{}, scim.Errorf(http.StatusBadRequest, scim.InvalidFilter, "the target cannot evaluate this filter")
		}
		return scim.ListResponse{}, s.toSCIM(kind, "", err)
	}
	out := scim.ListResponse{TotalResults: total, StartIndex: q.Offset + 1, Resources: make([]scim.Resource, 0, len(recs))}
	for _, rec := range recs {
		res, err := s.mapping.ToResource(kind, rec)
		if err != nil {
			return scim.ListResponse{}, s.toSCIM(kind, rec.ID, err)
		}
		out.Resources = append(out.Resources, project(res, p))
	}
	out.ItemsPerPage = len(out.Resources)
	return out, nil
}

func (s *Service) wantMembers(kind scim.Kind, p scim.ListParams) bool {
	if kind != scim.Group || !s.mapping.Members() {
		return false
	}
	for _, e := range p.ExcludedAttributes {
		if strings.EqualFold(e.Attr, "members") && e.URN == "" {
			return false
		}
	}
	if len(p.Attributes) == 0 {
		return true
	}
	for _, a := range p.Attributes {
		if strings.EqualFold(a.Attr, "members") && a.URN == "" {
			return true
		}
	}
	return false
}

// Create provisions a new resource. The target's natural keys decide what
// a create is: a POST whose externalId already exists is a retry of a
// create whose answer was lost (its attributes are applied and the existing
// id is answered with 201); one whose userName belongs to another resource
// is a 409 uniqueness (docs/design.md §3 "The write pipeline", step 5).
func (s *Service) Create(ctx context.Context, kind scim.Kind, in scim.Resource) (scim.Resource, error) {
	if err := s.mapping.CheckRequired(kind, in); err != nil {
		return nil, s.toSCIM(kind, "", err)
	}
	attrs, err := s.mapping.ToAttrs(kind, in)
	if err != nil {
		return nil, s.toSCIM(kind, "", err)
	}
	keys := s.naturalKeys(kind, attrs)
	// A create is ordered by its identity key: the only name it has yet. A
	// resource without natural keys is ordered with every other such create.
	resource := s.tenant + "/" + string(kind) + "/new"
	lockKeys := []string{resource}
	if len(keys) > 0 {
		resource = s.naturalKeyLock(kind, keys[0].Attr, keys[0].value)
		lockKeys = lockKeys[:0]
		for _, k := range keys {
			lockKeys = append(lockKeys, s.naturalKeyLock(kind, k.Attr, k.value))
		}
	}
	fp := fingerprint(s.tenant, http.MethodPost, kind, "", in)
	h, start, err := s.locks.begin(ctx, s.writeBegin(ctx, fp, resource), lockKeys...)
	if err != nil {
		return nil, s.toSCIM(kind, "", err)
	}
	defer h.release()
	ctx = backends.ForWrite(ctx)

	if res, ok := s.replay(ctx, kind, start.Answer); ok {
		return res, nil
	}
	op := operation{Op: "create", Kind: kind, Resource: in}
	if err := s.queueBehind(ctx, start, fp, op, resource); err != nil {
		return nil, err
	}
	res, err := s.createUnlocked(ctx, h, kind, attrs, keys)
	if isUnavailable(err) {
		return nil, s.enqueue(ctx, resource, fp, op, err)
	}
	return res, err
}

// createUnlocked is Create's write, under the natural-key locks. The
// target checks the natural keys as it creates (they are unique attributes
// of the mapping, which every backend enforces), so a new resource costs
// no lookups of its own; only when the target refuses one does
// findExisting tell a retried create (its externalId exists: apply it
// there) from a real conflict.
func (s *Service) createUnlocked(ctx context.Context, h *held, kind scim.Kind, attrs map[string][]string, keys []naturalKey) (scim.Resource, error) {
	rec, err := s.create(ctx, kind, attrs, keys)
	if isConflict(err) && len(keys) > 0 {
		existing, ferr := s.findExisting(ctx, kind, keys, attrs)
		if isConflict(ferr) {
			// An earlier try of this create whose client went away (its
			// context cancelled, its lock released) may have landed between
			// our lookups: its userName seen, its externalId not yet. A
			// second pass sees it whole.
			existing, ferr = s.findExisting(ctx, kind, keys, attrs)
		}
		switch {
		case ferr != nil:
			return nil, ferr
		case existing == nil:
			return nil, err // held by a resource the natural keys do not name
		}
		// A lost answer's retry: bring the entry up to this request. Only
		// the attributes the request carries are written: a create says
		// nothing about the others.
		var members []scim.MemberChange
		if ids := attrs[backends.AttrMembers]; len(ids) > 0 && s.mapping.Members() {
			members = []scim.MemberChange{{Op: "add", IDs: ids}}
		}
		rec, err = s.update(ctx, kind, *existing, mergeAttrs(s.mappedAttrs(kind, *existing), attrs), members)
		if err != nil {
			return nil, err
		}
		s.auditLog("create-existing", kind, rec.ID, nil)
	} else {
		if err != nil {
			return nil, err
		}
		s.auditLog("create", kind, rec.ID, attrNames(attrs))
	}
	res, err := s.mapping.ToResource(kind, rec)
	if err != nil {
		return nil, s.toSCIM(kind, rec.ID, err)
	}
	h.remember(s.resourceKey(kind, rec.ID), rec.ID, http.StatusCreated, res, s.idemTTL)
	return res, nil
}

type naturalKey struct {
	mapping.MatchKey
	value string
}

// naturalKeys lists the request's values of the mapping's match keys in
// precedence order, externalId (the identity) first when the mapping has it.
func (s *Service) naturalKeys(kind scim.Kind, attrs map[string][]string) []naturalKey {
	var out []naturalKey
	for _, k := range s.mapping.MatchKeys(kind) {
		if v := attrs[k.Attr]; len(v) > 0 && v[0] != "" {
			out = append(out, naturalKey{k, v[0]})
		}
	}
	slices.SortStableFunc(out, func(a, b naturalKey) int {
		return boolInt(!isExternalID(a.Path)) - boolInt(!isExternalID(b.Path))
	})
	return out
}

func isExternalID(p scim.Path) bool { return p.URN == "" && p.Attr == "externalId" && p.Sub == "" }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// findExisting returns the resource that the request's identity key (the
// first natural key) already names, or a 409 if another natural key belongs
// to a different resource (or the identity's externalId differs from the
// request's: then it is another object with the same name), or nil if the
// create is new.
func (s *Service) findExisting(ctx context.Context, kind scim.Kind, keys []naturalKey, attrs map[string][]string) (*backends.Record, error) {
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
				first(attrs[ext]) != "" && first(rec.Attrs[ext]) != "" && !strings.EqualFold(first(attrs[ext]), first(rec.Attrs[ext])) {
				return nil, scim.Errorf(http.StatusConflict, scim.Uniqueness,
					"%s %q is already used by another %s (id %s) with another externalId", k.Path.String(), k.value, lowerKind(kind), rec.ID)
			}
			identity = &rec
			continue
		}
		if identity == nil || identity.ID != rec.ID {
			return nil, scim.Errorf(http.StatusConflict, scim.Uniqueness,
				"%s %q is already used by another %s (id %s)", k.Path.String(), k.value, lowerKind(kind), rec.ID)
		}
	}
	return identity, nil
}

func (s *Service) findOne(ctx context.Context, kind scim.Kind, attr, value string) (backends.Record, bool, error) {
	var recs []backends.Record
	err := s.withRetry(ctx, func(ctx context.Context) error {
		var err error
		recs, _, err = s.backend.Find(ctx, backends.Query{Kind: bkind(kind),
			Filter: backends.Cmp{Attr: attr, Op: backends.Eq, Value: value}, Limit: 2})
		return err
	})
	if err != nil {
		return backends.Record{}, false, s.toSCIM(kind, "", err)
	}
	if len(recs) == 0 {
		return backends.Record{}, false, nil
	}
	return recs[0], true, nil
}

// create writes a new record. A transient failure is ambiguous (the add may
// have landed before the connection dropped), so before each retry the
// identity key is looked up again.
func (s *Service) create(ctx context.Context, kind scim.Kind, attrs map[string][]string, keys []naturalKey) (backends.Record, error) {
	var rec backends.Record
	attempt := 0
	err := s.withRetry(ctx, func(ctx context.Context) error {
		attempt++
		if attempt > 1 && len(keys) > 0 {
			recs, _, err := s.backend.Find(ctx, backends.Query{Kind: bkind(kind),
				Filter: backends.Cmp{Attr: keys[0].Attr, Op: backends.Eq, Value: keys[0].value}, Limit: 1})
			if err != nil {
				return err
			}
			if len(recs) > 0 {
				rec = recs[0]
				return nil
			}
		}
		var err error
		rec, err = s.backend.Create(ctx, bkind(kind), attrs)
		return err
	})
	if err != nil {
		return backends.Record{}, s.toSCIM(kind, "", err)
	}
	return rec, nil
}

// Replace is SCIM PUT: the resource becomes the request, through the
// mapping; target attributes the mapping does not know are left alone, and
// group members are replaced only if the request carries them.
func (s *Service) Replace(ctx context.Context, kind scim.Kind, id string, in scim.Resource) (scim.Resource, error) {
	if err := s.mapping.CheckRequired(kind, in); err != nil {
		return nil, s.toSCIM(kind, id, err)
	}
	attrs, err := s.mapping.ToAttrs(kind, in)
	if err != nil {
		return nil, s.toSCIM(kind, id, err)
	}
	var members []scim.MemberChange
	if ids, ok := attrs[backends.AttrMembers]; ok {
		members = []scim.MemberChange{{Op: "replace", IDs: ids}}
		delete(attrs, backends.AttrMembers)
	}
	op := operation{Op: "replace", Kind: kind, ID: id, Resource: in}
	return s.modify(ctx, http.MethodPut, op, in, func(scim.Resource) (map[string][]string, []scim.MemberChange, error) {
		return attrs, members, nil
	})
}

// Patch applies a SCIM PATCH. The current resource is read, the operations
// are applied to it in SCIM terms, and only the target attributes whose
// mapped value changed are written, in one Modify. Member changes go
// straight to the target without reading the member list. A user PATCH is
// answered with the resource, a group PATCH with 204 (nil).
func (s *Service) Patch(ctx context.Context, kind scim.Kind, id string, ops []scim.PatchOp) (scim.Resource, error) {
	op := operation{Op: "patch", Kind: kind, ID: id, Ops: patchOps(ops)}
	res, err := s.modify(ctx, http.MethodPatch, op, op.Ops, func(cur scim.Resource) (map[string][]string, []scim.MemberChange, error) {
		members, err := scim.ApplyPatch(kind, cur, ops)
		if err != nil {
			return nil, nil, err
		}
		attrs, err := s.mapping.ToAttrs(kind, cur)
		if err != nil {
			return nil, nil, err
		}
		delete(attrs, backends.AttrMembers)
		return attrs, members, nil
	})
	if err != nil || kind == scim.Group {
		return nil, err
	}
	return res, nil
}

// modify is the common read-diff-write path of PUT and PATCH.
func (s *Service) modify(ctx context.Context, method string, op operation, body any,
	next func(cur scim.Resource) (map[string][]string, []scim.MemberChange, error)) (scim.Resource, error) {
	kind, id := op.Kind, op.ID
	resource := s.resourceKey(kind, id)
	fp := fingerprint(s.tenant, method, kind, id, body)
	h, start, err := s.locks.begin(ctx, s.writeBegin(ctx, fp, resource), resource)
	if err != nil {
		return nil, s.toSCIM(kind, id, err)
	}
	defer h.release()
	ctx = backends.ForWrite(ctx)

	if res, ok := s.replay(ctx, kind, start.Answer); ok {
		return res, nil
	}
	if err := s.queueBehind(ctx, start, fp, op, resource); err != nil {
		return nil, err
	}
	res, err := s.modifyUnlocked(ctx, h, method, kind, id, next)
	if isUnavailable(err) {
		return nil, s.enqueue(ctx, resource, fp, op, err)
	}
	return res, err
}

// modifyUnlocked is modify's read-diff-write, under the resource's lock.
func (s *Service) modifyUnlocked(ctx context.Context, h *held, method string, kind scim.Kind, id string,
	next func(cur scim.Resource) (map[string][]string, []scim.MemberChange, error)) (scim.Resource, error) {
	cur, err := s.get(ctx, kind, id)
	if err != nil {
		return nil, err
	}
	curRes, err := s.mapping.ToResource(kind, cur)
	if err != nil {
		return nil, s.toSCIM(kind, id, err)
	}
	// The baseline of the diff, before next changes curRes in place.
	old, err := s.mapping.ToAttrs(kind, curRes)
	if err != nil {
		return nil, s.toSCIM(kind, id, err)
	}
	attrs, members, err := next(curRes)
	if err != nil {
		return nil, s.toSCIM(kind, id, err)
	}
	if !s.mapping.Members() {
		members = nil
	}
	rec, err := s.write(ctx, kind, cur, old, attrs, members)
	if err != nil {
		return nil, err
	}
	res, err := s.mapping.ToResource(kind, rec)
	if err != nil {
		return nil, s.toSCIM(kind, id, err)
	}
	status := http.StatusOK
	if method == http.MethodPatch && kind == scim.Group {
		status = http.StatusNoContent
	}
	h.remember(s.resourceKey(kind, id), id, status, res, s.idemTTL)
	return res, nil
}

func (s *Service) get(ctx context.Context, kind scim.Kind, id string) (backends.Record, error) {
	var rec backends.Record
	err := s.withRetry(ctx, func(ctx context.Context) error {
		var err error
		rec, err = s.backend.Get(ctx, bkind(kind), id, false)
		return err
	})
	if err != nil {
		return backends.Record{}, s.toSCIM(kind, id, err)
	}
	return rec, nil
}

// update writes the difference between what the current record maps to
// and attrs, plus member changes, and returns the record as it now is.
// Comparing mapped values on both sides (not raw target values) means a
// target attribute is written only when its mapped value really changes.
func (s *Service) update(ctx context.Context, kind scim.Kind, cur backends.Record, attrs map[string][]string, members []scim.MemberChange) (backends.Record, error) {
	curRes, err := s.mapping.ToResource(kind, cur)
	if err != nil {
		return backends.Record{}, s.toSCIM(kind, cur.ID, err)
	}
	old, err := s.mapping.ToAttrs(kind, curRes)
	if err != nil {
		return backends.Record{}, s.toSCIM(kind, cur.ID, err)
	}
	return s.write(ctx, kind, cur, old, attrs, members)
}

// write is update with the current record's mapped attributes (old) known.
func (s *Service) write(ctx context.Context, kind scim.Kind, cur backends.Record, old, attrs map[string][]string, members []scim.MemberChange) (backends.Record, error) {
	delete(old, backends.AttrMembers)
	delete(attrs, backends.AttrMembers)
	changes := mapping.Diff(old, attrs)
	for _, m := range members {
		c := backends.Change{Attr: backends.AttrMembers, Values: m.IDs}
		switch m.Op {
		case "add":
			c.Op = backends.Add
		case "remove":
			c.Op = backends.Remove
		default:
			c.Op = backends.Replace
		}
		if c.Op == backends.Add && len(c.Values) == 0 {
			continue
		}
		changes = append(changes, c)
	}
	if len(changes) == 0 {
		return cur, nil
	}
	err := s.withRetry(ctx, func(ctx context.Context) error {
		return s.backend.Modify(ctx, bkind(kind), cur.ID, changes)
	})
	if err != nil {
		return backends.Record{}, s.toSCIM(kind, cur.ID, err)
	}
	s.auditLog("modify", kind, cur.ID, changedNames(changes))
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
	fp := fingerprint(s.tenant, http.MethodDelete, kind, id, nil)
	h, start, err := s.locks.begin(ctx, s.writeBegin(ctx, fp, resource), resource)
	if err != nil {
		return s.toSCIM(kind, id, err)
	}
	defer h.release()
	ctx = backends.ForWrite(ctx)
	if _, ok := s.replay(ctx, kind, start.Answer); ok {
		return nil
	}
	op := operation{Op: "delete", Kind: kind, ID: id}
	if err := s.queueBehind(ctx, start, fp, op, resource); err != nil {
		return err
	}
	err = s.deleteUnlocked(ctx, h, kind, id)
	if isUnavailable(err) {
		return s.enqueue(ctx, resource, fp, op, err)
	}
	return err
}

// deleteUnlocked is Delete's write, under the resource's lock.
func (s *Service) deleteUnlocked(ctx context.Context, h *held, kind scim.Kind, id string) error {
	if kind == scim.User && s.mapping.OnDelete() == "disable" {
		cur, err := s.get(ctx, kind, id)
		if err != nil {
			return err
		}
		res, err := s.mapping.ToResource(kind, cur)
		if err != nil {
			return s.toSCIM(kind, id, err)
		}
		res["active"] = false
		attrs, err := s.mapping.ToAttrs(kind, res)
		if err != nil {
			return s.toSCIM(kind, id, err)
		}
		if _, err := s.update(ctx, kind, cur, attrs, nil); err != nil {
			return err
		}
	} else {
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
			return s.toSCIM(kind, id, err)
		}
		s.auditLog("delete", kind, id, nil)
	}
	h.remember(s.resourceKey(kind, id), id, http.StatusNoContent, nil, s.idemTTL)
	return nil
}

// withRetry runs f, retrying transient target errors (ErrUnavailable) with
// exponential backoff and jitter, at most s.retries times, within ctx.
func (s *Service) withRetry(ctx context.Context, f func(ctx context.Context) error) error {
	b := retry.WithMaxRetries(uint64(s.retries), retry.WithJitterPercent(20, retry.NewExponential(s.base)))
	return retry.Do(ctx, b, func(ctx context.Context) error {
		err := f(ctx)
		if err != nil && errors.Is(err, backends.ErrUnavailable) {
			s.log.Debug("transient target error; retrying", "error", err)
			return retry.RetryableError(err)
		}
		return err
	})
}

// fingerprint identifies a request by its canonical content: the same
// operation sent twice has the same fingerprint whatever its JSON spacing,
// key order or op casing.
func fingerprint(tenant, method string, kind scim.Kind, id string, body any) string {
	h := sha256.New()
	b, _ := json.Marshal(body) // canonical: maps marshal with sorted keys
	for _, part := range []string{tenant, method, string(kind), id} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(b)
	return "idem/" + tenant + "/" + hex.EncodeToString(h.Sum(nil))
}

// writeBegin is what a write reads as it takes its locks: the answer
// stored under its fingerprint, and its resource's backlog (not for the
// worker's own queued write, which heads that backlog).
func (s *Service) writeBegin(ctx context.Context, fp, resource string) state.WriteBegin {
	b := state.WriteBegin{Answer: fp}
	if !fromQueue(ctx) {
		b.Tenant, b.Resource = s.tenant, resource
	}
	return b
}

// replay returns the stored answer a if the resource it wrote is unchanged
// since (its version is the one recorded). A state store that is down only
// costs the fast path.
func (s *Service) replay(ctx context.Context, kind scim.Kind, a *state.Answer) (scim.Resource, bool) {
	if s.state == nil || a == nil {
		return nil, false
	}
	v, err := s.state.Version(ctx, s.resourceKey(kind, a.ResourceID))
	if err != nil || v != a.Version {
		return nil, false
	}
	if len(a.Body) == 0 {
		return nil, true
	}
	var res scim.Resource
	if err := json.Unmarshal(a.Body, &res); err != nil {
		return nil, false
	}
	s.log.Debug("replayed a stored answer", "kind", kind, "id", a.ResourceID)
	return res, true
}

func (s *Service) auditLog(op string, kind scim.Kind, id string, attrs []string) {
	s.audit.Info("applied", "op", op, "kind", string(kind), "id", id, "attributes", strings.Join(attrs, ","))
}

func attrNames(attrs map[string][]string) []string {
	out := make([]string, 0, len(attrs))
	for k := range attrs {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func changedNames(changes []backends.Change) []string {
	var out []string
	for _, c := range changes {
		if !slices.Contains(out, c.Attr) {
			out = append(out, c.Attr)
		}
	}
	return out
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// mappedAttrs is what the record currently maps to, the baseline of a diff.
func (s *Service) mappedAttrs(kind scim.Kind, rec backends.Record) map[string][]string {
	res, err := s.mapping.ToResource(kind, rec)
	if err != nil {
		return map[string][]string{}
	}
	attrs, err := s.mapping.ToAttrs(kind, res)
	if err != nil {
		return map[string][]string{}
	}
	return attrs
}

// mergeAttrs overlays next on base.
func mergeAttrs(base, next map[string][]string) map[string][]string {
	out := make(map[string][]string, len(base)+len(next))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range next {
		out[k] = v
	}
	return out
}

// isConflict reports whether err is a 409 answer.
func isConflict(err error) bool {
	var se *scim.Error
	return errors.As(err, &se) && se.Status == http.StatusConflict
}
