package ldap

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
)

// Config is the tenant's backend block for type ldap (bridge.yaml
// `backend: {type: ldap, config: {...}}`), after ${ENV} expansion.
type Config struct {
	// URL of the directory: ldap://host:port or ldaps://host:port.
	// Required.
	URL string `json:"url"`
	// BindDN and Password are the service account. Both required: an
	// empty password would be an anonymous bind (RFC 4513 §5.1.2), which
	// go-ldap refuses and which could never write anyway. Read the password
	// from a file with ${file:/run/secrets/ldap} or from the environment.
	BindDN   string `json:"bindDN"`
	Password string `json:"password"`
	// BaseDN is the directory suffix (dc=example,dc=org). Every DN in a
	// mapping's target block (parent, searchBase, moveTo, placeholder) is
	// relative to it, so mapping files need no environment variables.
	// Required.
	BaseDN string `json:"baseDN"`

	// StartTLS upgrades an ldap:// connection before binding. Defaults to
	// false; an error with an ldaps:// URL.
	StartTLS bool `json:"startTLS"`
	// CAFile is a PEM bundle of the CAs that sign the server's certificate.
	// Defaults to the system roots. Empty is allowed everywhere, so the
	// shipped configs can say caFile: ${SCIMBRIDGE_LDAP_CA_FILE:-}.
	CAFile string `json:"caFile"`
	// CertFile and KeyFile are a client certificate (PEM), for servers that
	// ask for one. Both or neither.
	CertFile string `json:"certFile"`
	KeyFile  string `json:"keyFile"`
	// ServerName is the name the server's certificate must carry. Defaults
	// to the URL's host.
	ServerName string `json:"serverName"`
	// InsecureSkipVerify accepts any server certificate. Defaults to false;
	// for a laboratory only, never production.
	InsecureSkipVerify bool `json:"insecureSkipVerify"`

	// Timeout bounds each LDAP operation (and the bind), and the dial.
	// A shorter request deadline wins. Defaults to 10s.
	Timeout Duration `json:"timeout"`
	// PoolSize is the number of bound connections kept open for writes,
	// and as many for reads, and so the number of backend operations of
	// each kind running against the directory at once: each operation holds
	// one connection for its few requests, and a read (Entra's queries, its
	// Test Connection probe) never waits behind writes. Defaults to 8.
	PoolSize int `json:"poolSize"`
	// MaxConcurrent caps the reads, and the writes, running or waiting for
	// a connection; one more fails at once as unavailable (the bridge
	// answers 503 with Retry-After) instead of queueing without bound while
	// the directory is slow. Defaults to 64.
	MaxConcurrent int `json:"maxConcurrent"`
	// PageSize is the page size of the paged-results control (RFC 2696)
	// used when a query matches many entries. Defaults to 500; Active
	// Directory caps it at 1000 (MaxPageSize).
	PageSize int `json:"pageSize"`
	// PermissiveModify sends the Permissive Modify control
	// (1.2.840.113556.1.4.1413) with writes of multi-valued attributes, so
	// that adding a present value or removing an absent one is not an error:
	//   auto (default): sent non-critical; a server that ignores it still
	//        works, because conflicting value errors (20, 16, and AD's
	//        68/53 for members) are resolved by re-reading the values;
	//   on:  sent critical: a server that does not know it refuses the write;
	//   off: never sent (only re-reading resolves such errors).
	PermissiveModify string `json:"permissiveModify"`
}

// Duration is a time.Duration written as "10s" or as a number of seconds.
type Duration time.Duration

// UnmarshalJSON accepts "1m30s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 10s or 1m", s)
		}
		*d = Duration(v)
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("%s is not a duration such as 10s or 1m", b)
	}
	*d = Duration(time.Duration(n * float64(time.Second)))
	return nil
}

// Defaults of Config.
const (
	defaultTimeout       = 10 * time.Second
	defaultPoolSize      = 8
	defaultMaxConcurrent = 64
	defaultPageSize      = 500
)

// Permissive Modify settings.
const (
	permissiveAuto = "auto"
	permissiveOn   = "on"
	permissiveOff  = "off"
)

func decodeConfig(raw backends.Config) (Config, []error) {
	var c Config
	if err := backends.DecodeConfig(map[string]any(raw), &c); err != nil {
		return c, []error{fmt.Errorf("ldap: config: %w", err)}
	}
	if c.Timeout == 0 {
		c.Timeout = Duration(defaultTimeout)
	}
	if c.PoolSize == 0 {
		c.PoolSize = defaultPoolSize
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = defaultMaxConcurrent
	}
	if c.PageSize == 0 {
		c.PageSize = defaultPageSize
	}
	if c.PermissiveModify == "" {
		c.PermissiveModify = permissiveAuto
	}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("ldap: config.%s: "+format, append([]any{key}, args...)...))
	}
	u, err := url.Parse(c.URL)
	switch {
	case strings.TrimSpace(c.URL) == "":
		bad("url", "required (ldap://host:389 or ldaps://host:636)")
	case err != nil:
		bad("url", "%q is not a URL: %v", c.URL, err)
	case u.Scheme != "ldap" && u.Scheme != "ldaps":
		bad("url", "%q must start with ldap:// or ldaps://", c.URL)
	case u.Host == "":
		bad("url", "%q has no host", c.URL)
	case c.StartTLS && u.Scheme == "ldaps":
		bad("startTLS", "true with an ldaps:// URL: the connection is TLS already")
	}
	if strings.TrimSpace(c.BindDN) == "" {
		bad("bindDN", "required (the service account, e.g. cn=scimbridge,ou=services,dc=example,dc=org)")
	} else if _, err := goldap.ParseDN(c.BindDN); err != nil {
		bad("bindDN", "%q is not a DN: %v", c.BindDN, err)
	}
	if c.Password == "" {
		bad("password", "required (an empty password is an anonymous bind); e.g. password: ${file:/run/secrets/ldap-password}")
	}
	if strings.TrimSpace(c.BaseDN) == "" {
		bad("baseDN", "required (the directory suffix, e.g. dc=example,dc=org)")
	} else if dn, err := goldap.ParseDN(c.BaseDN); err != nil || len(dn.RDNs) == 0 {
		bad("baseDN", "%q is not a DN", c.BaseDN)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		bad("certFile", "certFile and keyFile go together (a client certificate and its key)")
	}
	for key, path := range map[string]string{"caFile": c.CAFile, "certFile": c.CertFile, "keyFile": c.KeyFile} {
		if path == "" {
			continue
		}
		// A path check is not network I/O; a missing file is a typo the
		// operator wants to hear about from `mapping check`.
		if _, err := os.Stat(path); err != nil {
			bad(key, "%v", err)
		}
	}
	if c.Timeout < 0 {
		bad("timeout", "must be positive")
	}
	if c.PoolSize < 0 {
		bad("poolSize", "%d is negative", c.PoolSize)
	}
	if c.MaxConcurrent < 0 {
		bad("maxConcurrent", "%d is negative", c.MaxConcurrent)
	} else if c.MaxConcurrent < c.PoolSize {
		bad("maxConcurrent", "%d is less than poolSize %d", c.MaxConcurrent, c.PoolSize)
	}
	if c.PageSize < 0 {
		bad("pageSize", "%d is negative", c.PageSize)
	}
	switch c.PermissiveModify {
	case permissiveAuto, permissiveOn, permissiveOff:
	default:
		bad("permissiveModify", "%q is not auto, on or off", c.PermissiveModify)
	}
	return c, errs
}

// Layout is a mapping's users.target or groups.target block for an LDAP
// directory. Every DN in it is relative to Config.BaseDN ("" is the base
// itself).
type Layout struct {
	// Parent is where new entries are created, e.g. "ou=people". Required.
	Parent *string `json:"parent"`
	// RDN is the naming attribute: the DN of a new entry is
	// RDN=value,Parent,BaseDN with the value escaped (RFC 4514). The
	// mapping must write it (e.g. uid computed from userName). When a write
	// changes its value, the entry is renamed (ModifyDN). Required.
	RDN string `json:"rdn"`
	// ObjectClasses are the classes of a new entry; the structural ones
	// (every class but top) also select the entries of this kind in
	// searches, unless Filter is set. Required.
	ObjectClasses []string `json:"objectClasses"`
	// AuxiliaryClasses are added to new entries and, on the first write, to
	// entries created before scimbridge existed (which lack them), so the
	// attributes they allow (scimExternalId) can be written. They never
	// select entries.
	AuxiliaryClasses []string `json:"auxiliaryClasses"`
	// Filter, if set, selects the entries of this kind instead of the
	// object classes, e.g. "(&(objectCategory=person)(objectClass=user))"
	// for Active Directory, where computers are objectClass user too.
	Filter string `json:"filter"`
	// SearchBase is the subtree searched for entries of this kind.
	// Defaults to Parent. It must contain Parent and MoveTo.
	SearchBase *string `json:"searchBase"`
	// ID is the attribute holding the SCIM id: entryUUID (OpenLDAP, 389 DS;
	// the default), objectGUID (Active Directory, AD LDS; binary, rendered
	// as a GUID string), or another attribute that is unique and never
	// changes (nsUniqueId, ipaUniqueID).
	ID string `json:"id"`
	// Defaults are attribute values written on create when the mapping
	// gives none, e.g. {groupType: "-2147483646"} for AD security groups or
	// {gidNumber: "10000"} for posixGroup.
	Defaults map[string]any `json:"defaults"`
	// LongNames names entries whose naming value is too long for a DN
	// (OpenLDAP's mdb refuses DNs much over 500 bytes with result 80;
	// a SCIM userName or displayName may be 256 characters of any script).
	LongNames *LongNamesLayout `json:"longNames"`
	// Active says how the SCIM active flag is kept, users only.
	Active *ActiveLayout `json:"active"`
	// Member says how group members are stored, groups only.
	Member *MemberLayout `json:"member"`
}

// LongNamesLayout names an entry whose RDN value is longer than Over bytes
// Attribute=<hex SHA-256 of the value, case folded and spaces collapsed>
// instead of RDN=value; the value itself is still written to the RDN
// attribute. Names that fold together hash together, so the directory
// still refuses a second entry for them.
type LongNamesLayout struct {
	// Attribute holds the hash; it must be allowed on the entry, e.g.
	// scimBridgeKey of configs/schema/scimbridge.schema (in the auxiliary
	// classes). Required.
	Attribute string `json:"attribute"`
	// Over is the longest RDN value, in bytes of UTF-8, used as is.
	// Defaults to 200.
	Over int `json:"over"`
}

// ActiveLayout describes the target attribute the mapping writes SCIM
// active to, when it needs more than storing a value.
type ActiveLayout struct {
	// Attribute is the mapping's target for active. Required.
	Attribute string `json:"attribute"`
	// Bit makes Attribute a flags integer in which this bit means disabled,
	// as Active Directory's userAccountControl with bit 2
	// (ACCOUNTDISABLE). The mapping then writes true or false (the SCIM
	// value, no toTarget) and reads them back; the backend sets or clears
	// the bit and keeps the other flags (read-modify-write). A SCIM filter
	// `active eq true` becomes a bitwise match (AD's
	// 1.2.840.113556.1.4.803 rule).
	Bit int `json:"bit"`
	// Initial is the flags value of a new entry before the bit is set or
	// cleared. Defaults to 512 (NORMAL_ACCOUNT); with Bit only.
	Initial *int `json:"initial"`
	// MoveTo moves a disabled entry (Bit set, or a false value such as
	// FALSE or 0) into this container, e.g. "ou=disabled,ou=people", and an
	// enabled one back to Parent. It must be inside SearchBase.
	MoveTo string `json:"moveTo"`
	// Password names the attribute a random password is written to when a
	// new account is created: unicodePwd (Active Directory, AD LDS: the
	// quoted UTF-16LE form AD wants) or any other, written as text. Windows
	// refuses to enable an account without a password (unless
	// PASSWD_NOTREQD), and refuses a password write over an unencrypted
	// connection, so with Bit the account is added disabled with the
	// password, then enabled by a second write when SCIM says active; the
	// URL must be ldaps:// or startTLS true. The password is never logged
	// nor kept: users sign in through federation or reset it. With Bit only.
	Password string `json:"password"`
}

// MemberLayout describes group membership.
type MemberLayout struct {
	// Attribute holds the members. Defaults to member.
	Attribute string `json:"attribute"`
	// Format of a member value: dn (groupOfNames member, groupOfUniqueNames
	// uniqueMember, AD member; the default), id (the member's SCIM id), or
	// attribute (a value of the member's UserAttribute, e.g. posixGroup
	// memberUid holding uid).
	Format string `json:"format"`
	// UserAttribute is the member attribute stored with format attribute.
	UserAttribute string `json:"userAttribute"`
	// Placeholder is a member value kept in a group that has no members,
	// for classes that require one (groupOfNames: MUST member). A DN
	// relative to BaseDN with format dn, e.g.
	// "cn=empty-membership-placeholder"; the entry need not exist. It is
	// removed when a real member arrives and never read back as a member.
	Placeholder string `json:"placeholder"`
	// AllowEmpty says the group class allows no members (groupOfMembers,
	// posixGroup, AD group, 389 DS groupOfNames). With format dn one of
	// Placeholder or AllowEmpty is required; other formats default to true.
	AllowEmpty *bool `json:"allowEmpty"`
}

// Member value formats.
const (
	formatDN   = "dn"
	formatID   = "id"
	formatAttr = "attribute"
)

// Well-known id attributes.
const (
	idEntryUUID  = "entryUUID"
	idObjectGUID = "objectGUID"
)

// compileLayout decodes and checks one kind's layout against the mapping's
// attributes and the base DN, without I/O. Every error is reported, in the
// order of the layout's keys.
func compileLayout(kind backends.Kind, ks backends.KindSchema, base *goldap.DN, baseStr string) (*kindLayout, []error) {
	prefix := "ldap: " + backends.LayoutPath(kind)
	var l Layout
	if ok, errs := backends.DecodeLayout(prefix, kind, ks, "parent, rdn, objectClasses", &l); !ok {
		return nil, errs
	}
	lc := &layoutCompiler{prefix: prefix, base: base, baseStr: baseStr,
		k: &kindLayout{kind: kind, attrs: map[string]backends.AttrSchema{}}}
	lc.containers(&l)
	lc.entries(&l)
	lc.identity(l.ID)
	lc.values(&l)
	lc.attributes(ks.Attrs, l.RDN)
	active := lc.active(l.Active)
	lc.member(l.Member)
	lc.k.compileCodecs(active)
	return lc.k, lc.errs
}

// layoutCompiler compiles one kind's layout, collecting every error.
type layoutCompiler struct {
	prefix  string // "ldap: users.target"
	base    *goldap.DN
	baseStr string
	k       *kindLayout
	errs    []error
}

// bad reports the layout's key as wrong.
func (lc *layoutCompiler) bad(key, format string, args ...any) {
	lc.errs = append(lc.errs, fmt.Errorf("%s.%s: "+format, append([]any{lc.prefix, key}, args...)...))
}

// rel is v, a DN relative to baseDN, made absolute, and parsed (nil when
// it is no DN).
func (lc *layoutCompiler) rel(key, v string) (string, *goldap.DN) {
	abs := joinDN(v, lc.baseStr)
	dn, err := goldap.ParseDN(abs)
	if err != nil {
		lc.bad(key, "%q is not a DN relative to baseDN: %v", v, err)
		return abs, nil
	}
	if lc.base != nil && !lc.base.AncestorOfFold(dn) && !lc.base.EqualFold(dn) {
		lc.bad(key, "%q is outside baseDN", v)
	}
	return abs, dn
}

// containers compiles where new entries go and which subtree is searched.
func (lc *layoutCompiler) containers(l *Layout) {
	k := lc.k
	if l.Parent == nil {
		lc.bad("parent", "required (the container of new entries relative to baseDN, e.g. \"ou=people\")")
	} else {
		k.parent, k.parentDN = lc.rel("parent", *l.Parent)
	}
	k.searchBase, k.searchBaseDN = k.parent, k.parentDN
	if l.SearchBase != nil {
		k.searchBase, k.searchBaseDN = lc.rel("searchBase", *l.SearchBase)
		if k.searchBaseDN != nil && k.parentDN != nil && !within(k.searchBaseDN, k.parentDN) {
			lc.bad("searchBase", "%q does not contain parent %q", *l.SearchBase, *l.Parent)
		}
	}
}

// entries compiles the naming attribute and the classes of new entries,
// and the filter selecting the entries of the kind.
func (lc *layoutCompiler) entries(l *Layout) {
	k := lc.k
	if !isAttrName(l.RDN) {
		lc.bad("rdn", "required: an attribute name (uid, cn), not %q", l.RDN)
	}
	k.rdn = l.RDN
	if len(l.ObjectClasses) == 0 {
		lc.bad("objectClasses", "required, e.g. [inetOrgPerson]")
	}
	for _, oc := range append(append([]string{}, l.ObjectClasses...), l.AuxiliaryClasses...) {
		if !isAttrName(oc) {
			lc.bad("objectClasses", "%q is not an object class name", oc)
		}
	}
	k.objectClasses = l.ObjectClasses
	k.auxClasses = l.AuxiliaryClasses
	if l.Filter != "" {
		if _, err := goldap.CompileFilter(l.Filter); err != nil {
			lc.bad("filter", "%q is not an LDAP filter: %v", l.Filter, err)
		}
		k.classFilter = l.Filter
		return
	}
	var parts []string
	for _, oc := range l.ObjectClasses {
		if !strings.EqualFold(oc, "top") {
			parts = append(parts, "(objectClass="+goldap.EscapeFilter(oc)+")")
		}
	}
	switch len(parts) {
	case 0:
		k.classFilter = "(objectClass=*)"
	case 1:
		k.classFilter = parts[0]
	default:
		k.classFilter = "(&" + strings.Join(parts, "") + ")"
	}
}

// identity compiles the attribute holding the SCIM id.
func (lc *layoutCompiler) identity(attr string) {
	k := lc.k
	k.idAttr = attr
	if k.idAttr == "" {
		k.idAttr = idEntryUUID
	}
	if !isAttrName(k.idAttr) {
		lc.bad("id", "%q is not an attribute name", k.idAttr)
	}
	switch {
	case strings.EqualFold(k.idAttr, idObjectGUID):
		k.idKind = idGUID
	case strings.EqualFold(k.idAttr, idEntryUUID):
		k.idKind = idUUID
	default:
		k.idKind = idText
	}
}

// values compiles the defaults of new entries and the naming of long
// names.
func (lc *layoutCompiler) values(l *Layout) {
	k := lc.k
	k.defaults = map[string][]string{}
	for _, name := range slices.Sorted(maps.Keys(l.Defaults)) {
		vals, ok := stringValues(l.Defaults[name])
		if !isAttrName(name) || !ok || len(vals) == 0 {
			lc.bad("defaults."+name, "must map an attribute name to a value or a list of values")
			continue
		}
		k.defaults[name] = vals
	}
	if ln := l.LongNames; ln != nil {
		if !isAttrName(ln.Attribute) {
			lc.bad("longNames.attribute", "required: the attribute holding the hash of a long name (scimBridgeKey)")
		}
		if ln.Over < 0 {
			lc.bad("longNames.over", "%d is negative", ln.Over)
		}
		k.longAttr, k.longOver = ln.Attribute, ln.Over
		if k.longOver == 0 {
			k.longOver = 200
		}
	}
}

// attributes checks the mapping's attributes of the kind and that new
// entries get a name (rdn, the layout's, "" when it gave none).
func (lc *layoutCompiler) attributes(attrs []backends.AttrSchema, rdn string) {
	k := lc.k
	for _, a := range attrs {
		p := fmt.Sprintf("%s: attribute %q", lc.prefix, a.Name)
		switch {
		case a.Name == backends.AttrMembers:
			if k.kind != backends.Group {
				lc.errs = append(lc.errs, fmt.Errorf("%s: only groups have members", p))
			}
			continue
		case !isAttrName(a.Name):
			lc.errs = append(lc.errs, fmt.Errorf("%s: not an LDAP attribute name", p))
			continue
		case strings.EqualFold(a.Name, k.idAttr):
			lc.errs = append(lc.errs, fmt.Errorf("%s: %s is the id, which the directory assigns and which is never written", p, k.idAttr))
		case strings.EqualFold(a.Name, "objectClass"):
			lc.errs = append(lc.errs, fmt.Errorf("%s: objectClass comes from the layout's objectClasses", p))
		}
		if a.Ref != "" && a.Ref != backends.User && a.Ref != backends.Group {
			lc.errs = append(lc.errs, fmt.Errorf("%s: refers to unknown kind %q", p, a.Ref))
		}
		k.attrs[strings.ToLower(a.Name)] = a
		k.attrNames = append(k.attrNames, a.Name)
	}
	if _, ok := k.attr(k.rdn); !ok && rdn != "" {
		if _, ok := k.defaults[k.rdn]; !ok {
			lc.bad("rdn", "the mapping writes no %s attribute, so a new entry would have no name", k.rdn)
		}
	}
}

// active compiles the active block (nil when there is none).
func (lc *layoutCompiler) active(a *ActiveLayout) *activeCodec {
	if a == nil {
		return nil
	}
	k := lc.k
	if k.kind != backends.User {
		lc.bad("active", "only users have an active flag")
	}
	if !isAttrName(a.Attribute) {
		lc.bad("active.attribute", "required: the mapping's target attribute for active")
	} else if _, ok := k.attr(a.Attribute); !ok {
		lc.bad("active.attribute", "the mapping has no attribute %q (map active to it)", a.Attribute)
	}
	act := &activeCodec{attr: a.Attribute}
	if a.Bit < 0 || a.Bit&(a.Bit-1) != 0 {
		lc.bad("active.bit", "%d is not a single bit (a power of two, e.g. 2)", a.Bit)
	}
	act.bit = int64(a.Bit)
	act.initial = 512
	if a.Initial != nil {
		if a.Bit == 0 {
			lc.bad("active.initial", "only with bit")
		}
		act.initial = int64(*a.Initial)
	}
	if a.MoveTo != "" {
		var moveToDN *goldap.DN
		act.moveTo, moveToDN = lc.rel("active.moveTo", a.MoveTo)
		if moveToDN != nil && k.searchBaseDN != nil && !within(k.searchBaseDN, moveToDN) {
			lc.bad("active.moveTo", "%q is outside the searchBase, so moved entries would not be found; set searchBase to a common ancestor", a.MoveTo)
		}
	}
	if a.Password != "" {
		if a.Bit == 0 {
			lc.bad("active.password", "only with bit (the account is created disabled, given the password, then enabled)")
		} else if !isAttrName(a.Password) {
			lc.bad("active.password", "%q is not an attribute name", a.Password)
		}
		k.password, act.addDisabled = a.Password, true
	}
	if a.Bit == 0 && a.MoveTo == "" {
		lc.bad("active", "needs bit or moveTo (to just store a value, map active to an attribute; no active block is needed)")
	}
	return act
}

// member compiles how groups hold their members.
func (lc *layoutCompiler) member(m *MemberLayout) {
	k := lc.k
	if m != nil && k.kind != backends.Group {
		lc.bad("member", "only groups have members")
	}
	if k.kind != backends.Group {
		return
	}
	if m == nil {
		m = &MemberLayout{}
	}
	ml := &memberLayout{attr: m.Attribute, format: m.Format}
	if ml.attr == "" {
		ml.attr = "member"
	}
	if ml.format == "" {
		ml.format = formatDN
	}
	if !isAttrName(ml.attr) {
		lc.bad("member.attribute", "%q is not an attribute name", ml.attr)
	}
	switch ml.format {
	case formatDN, formatID:
		if m.UserAttribute != "" {
			lc.bad("member.userAttribute", "only with format attribute")
		}
	case formatAttr:
		if !isAttrName(m.UserAttribute) {
			lc.bad("member.userAttribute", "required with format attribute: the user attribute stored (e.g. uid)")
		}
		ml.userAttr = m.UserAttribute
	default:
		lc.bad("member.format", "%q is not dn, id or attribute", ml.format)
	}
	if m.Placeholder != "" {
		if ml.format == formatDN {
			ml.placeholder, _ = lc.rel("member.placeholder", m.Placeholder)
		} else {
			ml.placeholder = m.Placeholder
		}
	}
	switch {
	case m.AllowEmpty != nil:
		ml.allowEmpty = *m.AllowEmpty
	case ml.format != formatDN:
		ml.allowEmpty = true
	}
	if m.Placeholder != "" && ml.allowEmpty {
		lc.bad("member", "placeholder and allowEmpty: true exclude each other")
	}
	if m.Placeholder == "" && !ml.allowEmpty {
		lc.bad("member", "say what an empty group holds: placeholder (a DN relative to baseDN, for groupOfNames whose member is required) or allowEmpty: true (a class that allows no members)")
	}
	if _, ok := k.attr(ml.attr); ok {
		lc.bad("member.attribute", "%s is also mapped as an attribute; members are written only through SCIM members", ml.attr)
	}
	k.member = ml
}

// joinDN puts a relative DN in front of base; "" is base itself.
func joinDN(rel, base string) string {
	rel = strings.TrimSpace(rel)
	if rel == "" {
		return base
	}
	return rel + "," + base
}

// within reports whether dn is anc or below it.
func within(anc, dn *goldap.DN) bool {
	return anc.EqualFold(dn) || anc.AncestorOfFold(dn)
}

// isAttrName accepts an attribute description as RFC 4512 §1.4 spells a
// descriptor or numeric OID (options such as ;binary are not for mappings).
func isAttrName(s string) bool {
	if s == "" {
		return false
	}
	if s[0] >= '0' && s[0] <= '9' {
		for _, part := range strings.Split(s, ".") {
			if _, err := strconv.ParseUint(part, 10, 32); err != nil {
				return false
			}
		}
		return true
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '-'):
		default:
			return false
		}
	}
	return true
}

func stringValues(v any) ([]string, bool) {
	switch x := v.(type) {
	case string:
		return []string{x}, true
	case bool, int, int64, uint64, float64:
		return []string{fmt.Sprint(x)}, true
	case []any:
		var out []string
		for _, e := range x {
			s, ok := stringValues(e)
			if !ok || len(s) != 1 {
				return nil, false
			}
			out = append(out, s[0])
		}
		return out, true
	}
	return nil, false
}
