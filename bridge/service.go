package bridge

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

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
	// Audit receives one record per applied change; default
	// Logger.Named("audit").
	Audit hclog.Logger
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
	// discovery is the mapping's, with the tenant's auth schemes.
	discovery scim.Discovery
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
	audit := o.Audit
	if audit == nil {
		audit = o.Logger.Named("audit")
	}
	var locks lockStore
	if o.State != nil {
		locks = o.State
	}
	return &Service{
		tenant: o.Tenant, mapping: o.Mapping, backend: o.Backend, state: o.State,
		log: log, audit: audit.With("tenant", o.Tenant),
		locks: newLocker(locks, o.Owner, log, o.Observer), retries: o.WriteRetries, base: o.RetryBase,
		idemTTL: o.IdempotencyTTL, wake: o.Wake,
		discovery: discoveryOf(o.Mapping),
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
	rec, err := s.backend.Get(ctx, bkind(kind), id, backends.Read{Members: s.wantMembers(kind, p)})
	if err == nil && s.mapping.Deprovisioned(kind, rec) {
		err = errDeprovisioned
	}
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
	q := backends.Query{Kind: bkind(kind), Offset: max(p.StartIndex, 1) - 1, Limit: p.Count, Read: backends.Read{Members: s.wantMembers(kind, p)}}
	f, err := s.mapping.Filter(kind, p.Filter)
	if err != nil {
		return scim.ListResponse{}, s.toSCIM(kind, "", err)
	}
	q.Filter = f
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
