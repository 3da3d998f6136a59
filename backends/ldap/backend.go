package ldap

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/backends"
)

// Driver opens LDAP backends; main registers it as "ldap".
type Driver struct{}

var _ backends.Driver = Driver{}

// Validate checks the backend block and both layouts without any I/O.
func (Driver) Validate(cfg backends.Config, schema backends.Schema) error {
	_, _, _, err := compile(cfg, schema)
	return err
}

// Open checks the configuration, builds the connection pool and tries one
// connection. A directory that is down (or refuses the bind) at start is
// logged, not fatal: the bridge serves 503 until it is back.
func (Driver) Open(ctx context.Context, cfg backends.Config, schema backends.Schema, log hclog.Logger) (backends.Backend, error) {
	return Open(ctx, cfg, schema, log)
}

// Open is Driver.Open, returning the concrete type.
func Open(ctx context.Context, cfg backends.Config, schema backends.Schema, log hclog.Logger) (*Backend, error) {
	c, users, groups, err := compile(cfg, schema)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	log = log.Named("ldap")
	p, err := newPool(c, log)
	if err != nil {
		return nil, err
	}
	b := &Backend{cfg: c, users: users, groups: groups, pool: p, log: log, baseDN: c.BaseDN, poolRefs: new(atomic.Int64)}
	b.poolRefs.Store(1)
	switch c.PermissiveModify {
	case permissiveAuto:
		b.permissive = []goldap.Control{goldap.NewControlString(goldap.ControlTypeMicrosoftPermissiveModify, false, "")}
	case permissiveOn:
		b.permissive = []goldap.Control{goldap.NewControlString(goldap.ControlTypeMicrosoftPermissiveModify, true, "")}
	}
	if err := b.Ping(ctx); err != nil {
		log.Error("directory not reachable at start; requests answer 503 until it is", "url", c.URL, "error", err)
	}
	return b, nil
}

func compile(raw backends.Config, schema backends.Schema) (Config, *kindLayout, *kindLayout, error) {
	c, errs := decodeConfig(raw)
	users, groups, err := compileLayouts(c, schema)
	return c, users, groups, errors.Join(append(errs, err)...)
}

// compileLayouts compiles the mapping's layouts against a decoded
// configuration.
func compileLayouts(c Config, schema backends.Schema) (*kindLayout, *kindLayout, error) {
	var errs []error
	base, _ := goldap.ParseDN(c.BaseDN)
	users, uerrs := compileLayout(backends.User, schema.Users, base, c.BaseDN)
	groups, gerrs := compileLayout(backends.Group, schema.Groups, base, c.BaseDN)
	errs = append(append(errs, uerrs...), gerrs...)
	if users != nil && users.password != "" && !c.StartTLS && !strings.HasPrefix(strings.ToLower(c.URL), "ldaps://") {
		errs = append(errs, errors.New("ldap: users.target active.password: a password is written only over an encrypted connection (ldaps:// or startTLS: true); Active Directory refuses it otherwise"))
	}
	if users != nil && groups != nil && users.classFilter == groups.classFilter &&
		users.searchBaseDN != nil && groups.searchBaseDN != nil &&
		(within(users.searchBaseDN, groups.searchBaseDN) || within(groups.searchBaseDN, users.searchBaseDN)) {
		errs = append(errs, errors.New("ldap: users.target and groups.target select the same entries (same filter, nested search bases): give them different objectClasses or filters"))
	}
	return users, groups, errors.Join(errs...)
}

// Backend is a directory reached over LDAP: OpenLDAP, 389 DS, AD LDS or
// Active Directory, laid out as the mapping's target blocks say.
type Backend struct {
	cfg        Config
	users      *kindLayout
	groups     *kindLayout
	pool       *pool
	log        hclog.Logger
	baseDN     string
	permissive []goldap.Control

	schemaMu sync.Mutex
	schema   *subschema // read on first need; nil until then

	dseMu sync.Mutex
	dse   *serverInfo // the root DSE, read on first need; nil until then

	// poolRefs counts the backends sharing pool (WithSchema); the last
	// Close closes it.
	poolRefs *atomic.Int64
}

var (
	_ backends.Backend = (*Backend)(nil)
	_ backends.Pinger  = (*Backend)(nil)
)

func (b *Backend) layout(kind backends.Kind) (*kindLayout, error) {
	k := b.users
	if kind == backends.Group {
		k = b.groups
	}
	if k == nil {
		return nil, fmt.Errorf("ldap: the mapping has no %s layout: %w", strings.ToLower(string(kind)), backends.ErrUnsupported)
	}
	return k, nil
}

// Ping binds a connection (or reuses one) and reads the base entry.
func (b *Backend) Ping(ctx context.Context) error {
	return b.pool.read(ctx, backends.Read{}, func(c *conn) error {
		_, err := c.search(goldap.NewSearchRequest(b.baseDN, goldap.ScopeBaseObject, goldap.NeverDerefAliases,
			1, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
		return classify("ping", err, nil)
	})
}

// RoundTrips reads the count of requests sent to the directory so far.
func (b *Backend) RoundTrips() RoundTrips {
	return b.pool.trips.read()
}

// Close closes every connection; operations in flight finish first.
func (b *Backend) Close() error {
	if b.poolRefs.Add(-1) == 0 {
		b.pool.close()
	}
	return nil
}

var _ backends.Rebinder = (*Backend)(nil)

// WithSchema is the backend for a changed mapping over the same
// connections (a reload): the layouts are compiled anew, the pool, its
// binds and its limits are shared. Each backend is closed on its own; the
// pool closes with the last.
func (b *Backend) WithSchema(_ context.Context, schema backends.Schema) (backends.Backend, error) {
	users, groups, err := compileLayouts(b.cfg, schema)
	if err != nil {
		return nil, err
	}
	b.poolRefs.Add(1)
	return &Backend{cfg: b.cfg, users: users, groups: groups, pool: b.pool, log: b.log, baseDN: b.baseDN,
		permissive: b.permissive, poolRefs: b.poolRefs}, nil
}

// Get reads one record by its id, through an equality filter on the id
// attribute (escaped; objectGUID as its bytes). Its Handle keeps what a
// Modify of the record plans from (see entryHandle).
func (b *Backend) Get(ctx context.Context, kind backends.Kind, id string, r backends.Read) (backends.Record, error) {
	k, err := b.layout(kind)
	if err != nil {
		return backends.Record{}, err
	}
	var rec backends.Record
	err = b.pool.read(ctx, r, func(c *conn) error {
		e, err := b.lookup(c, k, id, k.readAttrs(r.Members))
		if err != nil {
			return err
		}
		recs, err := b.records(c, k, []*goldap.Entry{e}, r.Members, nil)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return fmt.Errorf("ldap: get %s %q: %w", kind, id, backends.ErrNotFound)
		}
		rec = recs[0]
		rec.Handle = k.handle(e)
		return nil
	})
	return rec, classify("get", err, nil)
}

// lookup finds the entry of kind k with id, asking for attrs.
func (b *Backend) lookup(c *conn, k *kindLayout, id string, attrs []string) (*goldap.Entry, error) {
	f, ok := k.idFilter(id)
	if !ok {
		return nil, fmt.Errorf("ldap: no %s with id %q: %w", strings.ToLower(string(k.kind)), id, backends.ErrNotFound)
	}
	res, err := c.search(goldap.NewSearchRequest(k.searchBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, 0, false, "(&"+k.classFilter+f+")", attrs, nil))
	if err != nil {
		if resultCode(err) == int(goldap.LDAPResultNoSuchObject) {
			return nil, fmt.Errorf("ldap: search base %q of %s is missing: %w: %w", k.searchBase, strings.ToLower(string(k.kind)), backends.ErrUnavailable, err)
		}
		return nil, classify("lookup", err, nil)
	}
	switch len(res.Entries) {
	case 0:
		return nil, fmt.Errorf("ldap: no %s with id %q: %w", strings.ToLower(string(k.kind)), id, backends.ErrNotFound)
	case 1:
		return res.Entries[0], nil
	}
	return nil, fmt.Errorf("ldap: %d entries have %s %q", len(res.Entries), k.idAttr, id)
}

// records turns entries into records: ids rendered, every attribute as
// its codec decodes it (references to ids, the active bit as true/false),
// members converted to ids when asked for. Entries without an id are
// skipped. known maps the dnKey of DNs whose id the caller knows (it just
// converted them) to that id; only the others are searched for, in
// batches, all entries' at once.
func (b *Backend) records(c *conn, k *kindLayout, entries []*goldap.Entry, members bool, known map[string]string) ([]backends.Record, error) {
	var refDNs []string
	for _, e := range entries {
		for _, name := range k.attrNames {
			refDNs = append(refDNs, k.codec(name).refs(e, known)...)
		}
	}
	m := k.member
	if !members {
		m = nil
	}
	var memberVals map[*goldap.Entry][]string
	if m != nil {
		var err error
		if memberVals, err = b.storedMembers(c, m, entries); err != nil {
			return nil, err
		}
		if m.format == formatDN {
			for _, e := range entries {
				refDNs = append(refDNs, memberVals[e]...)
			}
		}
	}
	dnIDs, err := b.idsForDNs(c, refDNs)
	if err != nil {
		return nil, err
	}
	maps.Copy(dnIDs, known)
	var attrIDs map[string]string
	if m != nil && m.format == formatAttr {
		var all []string
		for _, e := range entries {
			all = append(all, memberVals[e]...)
		}
		if attrIDs, err = b.idsForUserValues(c, m.userAttr, all); err != nil {
			return nil, err
		}
	}
	out := make([]backends.Record, 0, len(entries))
	for _, e := range entries {
		id := k.entryID(e)
		if id == "" {
			b.log.Debug("entry without an id skipped", "dn", e.DN, "id_attribute", k.idAttr)
			continue
		}
		rec := backends.Record{Kind: k.kind, ID: id, Attrs: map[string][]string{}}
		for _, name := range k.attrNames {
			if vals := e.GetEqualFoldAttributeValues(name); len(vals) > 0 {
				if vals = k.codec(name).decode(vals, dnIDs); len(vals) > 0 {
					rec.Attrs[name] = vals
				}
			}
		}
		if m != nil {
			rec.Attrs[backends.AttrMembers] = m.decode(memberVals[e], dnIDs, attrIDs)
		}
		rec.Created = parseGeneralizedTime(e.GetEqualFoldAttributeValue("createTimestamp"))
		rec.Modified = parseGeneralizedTime(e.GetEqualFoldAttributeValue("modifyTimestamp"))
		out = append(out, rec)
	}
	return out, nil
}

// allValues returns every value of attr of e, following Active
// Directory's range retrieval (member;range=0-1499) when the server
// returned the values in slices.
func (b *Backend) allValues(c *conn, e *goldap.Entry, attr string) ([]string, error) {
	vals := e.GetEqualFoldAttributeValues(attr)
	prefix := strings.ToLower(attr) + ";range="
	for {
		var ranged *goldap.EntryAttribute
		for _, a := range e.Attributes {
			if strings.HasPrefix(strings.ToLower(a.Name), prefix) {
				ranged = a
			}
		}
		if ranged == nil {
			return vals, nil
		}
		vals = append(vals, ranged.Values...)
		r := ranged.Name[len(prefix):]
		dash := strings.IndexByte(r, '-')
		if dash < 0 || r[dash+1:] == "*" {
			return vals, nil
		}
		var end int
		if _, err := fmt.Sscanf(r[dash+1:], "%d", &end); err != nil {
			return vals, nil
		}
		res, err := c.search(goldap.NewSearchRequest(e.DN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{fmt.Sprintf("%s;range=%d-*", attr, end+1)}, nil))
		if err != nil {
			return nil, classify("read "+attr, err, nil)
		}
		if len(res.Entries) == 0 {
			return vals, nil
		}
		e = res.Entries[0]
	}
}

var _ backends.ReadOnlyDriver = Driver{}

// OpenReadOnly is Open for a dry run: opening an LDAP backend writes
// nothing, and the backend returned refuses every write.
func (Driver) OpenReadOnly(ctx context.Context, cfg backends.Config, schema backends.Schema, log hclog.Logger) (backends.Backend, error) {
	b, err := Open(ctx, cfg, schema, log)
	if err != nil {
		return nil, err
	}
	return backends.ReadOnly(b), nil
}
