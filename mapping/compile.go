package mapping

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// Deprovisioning policies: what a SCIM DELETE does to the entry. Whatever
// the policy, the resource is gone for SCIM (docs/design.md §3, "Deprovisioning").
const (
	// OnDeleteDelete removes the entry (users and groups; the default).
	OnDeleteDelete = "delete"
	// OnDeleteDisable keeps a user's entry, writes active=false and the
	// deprovisioned marker.
	OnDeleteDisable = "disable"
	// OnDeleteKeep keeps a group's entry (and its members) and writes the
	// deprovisioned marker.
	OnDeleteKeep = "keep"
)

// Mapping is a compiled mapping file. It is immutable after Parse and safe
// for concurrent use; reloading means compiling a new one and swapping it.
type Mapping struct {
	name    string
	users   *kindMap
	groups  *kindMap
	members bool
	// discovery is what /Schemas and /ResourceTypes say (discovery.go).
	discovery scim.Discovery
}

// MatchKey is an attribute Entra may match on, in precedence order.
type MatchKey struct {
	Path       scim.Path // SCIM path, e.g. externalId
	Attr       string    // target attribute
	Precedence int       // 1 is tried first
}

// kindMap is the compiled mapping of one resource kind.
type kindMap struct {
	kind   scim.Kind
	layout map[string]any
	attrs  []*attribute
	// byKey finds an attribute by the lower-cased canonical text of its
	// SCIM path (and, for multi-valued complex attributes, also without
	// the ".value").
	byKey map[string]*attribute
	// attrPaths holds every path an expression passes to attr(), parsed
	// at load time.
	attrPaths map[string]scim.Path
	// onDelete is the kind's deprovisioning policy; marker, when set,
	// marks the entries a SCIM DELETE kept (hidden from SCIM).
	onDelete string
	marker   *marker
}

// marker is the target attribute and value that mark a kept entry as
// deprovisioned.
type marker struct {
	attr, value string
}

// valueKind says how a SCIM value is converted when no transform is given.
type valueKind int

const (
	vString       valueKind = iota // one string
	vBool                          // boolean; written "true"/"false"
	vRef                           // complex with a value member holding an id (manager)
	vMultiComplex                  // multi-valued complex read through its value members (emails)
)

// attribute is one compiled attribute mapping.
type attribute struct {
	spec     *attrSpec // as written, for errors found after compiling
	kind     scim.Kind
	path     scim.Path // zero for a computed attribute
	scimPath scim.Path // the path as the mapping names it (discovery)
	setPath  scim.Path // where ToResource writes it
	key      string    // lookup key of path; "" when computed
	computed bool      // no SCIM source: toTarget builds it from attr()
	target   string
	match    int
	required bool
	multi    bool
	ref      scim.Kind
	vk       valueKind
	// mutability is scim.ReadWrite, scim.ReadOnly (the directory owns
	// it: read, never written through SCIM) or scim.Immutable (written
	// while the target has no value, then kept: set on create).
	mutability string
	writeOnly  bool // never read back (password)
	workEmail  bool // emails[type eq "work"].value: falls back to the primary email
	// readsOthers is set when toTarget calls attr(): its target value
	// then depends on more than this attribute, so it cannot be filtered.
	readsOthers bool
	toTarget    *program
	fromTarget  *program
	// candidates are selectUniqueValue's expressions: the value written
	// is the first one the directory accepts (see Request.Next).
	candidates []*program
}

// Bounds of selectUniqueValue: how many candidates a list may hold, and
// how many values a create or rename tries in all (the last candidate,
// when it counts with n, is tried until then).
const (
	maxCandidates  = 20
	maxUniqueTries = 100
)

// tries is how many values the attribute's candidates give.
func (a *attribute) tries() int {
	k := len(a.candidates)
	if k > 0 && a.candidates[k-1].usesN {
		return maxUniqueTries
	}
	return k
}

// label names the attribute in SCIM error details: its path and target.
func (a *attribute) label() string {
	if a.computed {
		return "computed attribute " + a.target
	}
	return a.path.String() + " (" + a.target + ")"
}

// Load reads and compiles the mapping file at path. Errors start with the
// file name.
func Load(path string) (*Mapping, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read the mapping file: %w", path, err)
	}
	return Parse(path, src)
}

// Parse compiles a mapping file; name is used in error messages. It
// returns every problem it finds (errors.Join of *SpecError, in file
// order), never just the first.
func Parse(name string, src []byte) (*Mapping, error) {
	spec, errs := parseSpec(name, src)
	if spec == nil {
		return nil, joinSorted(errs)
	}
	c := &compiler{name: name, errs: errs}
	m := c.compile(spec)
	if len(c.errs) > 0 {
		return nil, joinSorted(c.errs)
	}
	m.name = name
	m.discovery = m.buildDiscovery()
	return m, nil
}

func joinSorted(errs []error) error {
	slices.SortStableFunc(errs, func(a, b error) int {
		var sa, sb *SpecError
		if !errors.As(a, &sa) || !errors.As(b, &sb) {
			return 0
		}
		return cmp.Or(cmp.Compare(sa.Line, sb.Line), cmp.Compare(sa.Column, sb.Column))
	})
	return errors.Join(errs...)
}

type compiler struct {
	name string
	errs []error
}

func (c *compiler) errorAt(f interface{ pos() (string, int, int) }, format string, args ...any) {
	path, line, col := f.pos()
	c.errs = append(c.errs, &SpecError{File: c.name, Line: line, Column: col, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (f field[T]) pos() (string, int, int) {
	line, col := position(f.node)
	return f.path, line, col
}

func (a *attrSpec) pos() (string, int, int) {
	line, col := position(a.node)
	return a.path, line, col
}

func (k *kindSpec) pos() (string, int, int) {
	line, col := position(k.node)
	return k.path, line, col
}

func (c *compiler) compile(spec *fileSpec) *Mapping {
	m := &Mapping{members: true}
	if spec.users != nil {
		m.users = c.compileKind(spec.users, scim.User)
		c.requireMatch(m.users, spec.users, "userName", "userName is Entra's default matching attribute (userPrincipalName)")
		c.requireMatch(m.users, spec.users, "externalId", "externalId holds Entra's objectId, the anchor a retried create is recognised by")
	}
	if spec.groups != nil {
		m.groups = c.compileKind(spec.groups, scim.Group)
		c.requireMatch(m.groups, spec.groups, "displayName", "Entra matches groups on displayName")
		if spec.groups.members.set {
			m.members = spec.groups.members.v
		}
	}
	if m.users != nil {
		c.compileDeprovision(m.users, spec.users, spec.deprovUsers, OnDeleteDisable)
	}
	if m.groups != nil {
		c.compileDeprovision(m.groups, spec.groups, spec.deprovGroups, OnDeleteKeep)
	}
	return m
}

// compileDeprovision checks one kind's policy (delete, or keep, which
// users spell disable) and its marker: a policy that keeps the entry needs
// a marker to hide it by, in an attribute that no SCIM attribute maps.
func (c *compiler) compileDeprovision(km *kindMap, spec *kindSpec, ds deprovisionSpec, keep string) {
	km.onDelete = OnDeleteDelete
	if f := ds.onDelete; f.set {
		switch f.v {
		case OnDeleteDelete, keep:
			km.onDelete = f.v
		default:
			c.errorAt(f, "must be %s or %s, not %q", OnDeleteDelete, keep, f.v)
		}
		if f.v == OnDeleteDisable && keep == OnDeleteDisable && !mapsPath(spec, "active") {
			c.errorAt(f, "disable writes active=false, but users maps no active attribute")
		}
	}
	mk := ds.marker
	if !mk.set {
		if km.onDelete == keep {
			c.errorAt(ds.onDelete, "%s keeps the entry of a deleted %s: add marker: {target: <attribute>, value: <value>} (how the kept entry is told apart and hidden from SCIM)",
				keep, strings.ToLower(string(km.kind)))
		}
		return
	}
	switch {
	case !mk.target.set || strings.TrimSpace(mk.target.v) == "":
		c.errorAt(mk, "marker needs a target: the attribute (or column) that marks a deprovisioned entry")
	case !mk.value.set || mk.value.v == "":
		c.errorAt(mk, "marker needs a value: what the target holds on a deprovisioned entry")
	default:
		for _, a := range km.attrs {
			if strings.EqualFold(a.target, mk.target.v) {
				c.errorAt(mk.target, "%s is mapped to %s already; the marker needs an attribute of its own", mk.target.v, a.label())
				return
			}
		}
		km.marker = &marker{attr: strings.TrimSpace(mk.target.v), value: mk.value.v}
	}
}

func (m markerSpec) pos() (string, int, int) {
	line, col := position(m.node)
	return m.path, line, col
}

// mapsPath reports whether the file as written maps path (before any
// check), so that one broken attribute does not also read as a missing one.
func mapsPath(spec *kindSpec, path string) bool {
	for _, as := range spec.attrs {
		if as.scim.set && strings.EqualFold(strings.TrimSpace(as.scim.v), path) {
			return true
		}
	}
	return false
}

// requireMatch checks that a natural key is mapped and is a match key.
func (c *compiler) requireMatch(km *kindMap, spec *kindSpec, path, why string) {
	if !spec.attrsOK {
		return // the missing or broken list is reported already
	}
	a := km.byKey[strings.ToLower(path)]
	switch {
	case a == nil:
		if !mapsPath(spec, path) {
			c.errorAt(spec, "must map %s: %s", path, why)
		}
	case a.match == 0:
		c.errorAt(a.spec, "%s must be a match key (add match: <precedence>): %s", path, why)
	}
}

func (c *compiler) compileKind(spec *kindSpec, kind scim.Kind) *kindMap {
	km := &kindMap{
		kind:      kind,
		layout:    spec.target.v,
		byKey:     map[string]*attribute{},
		attrPaths: map[string]scim.Path{},
	}
	// Duplicate targets and precedences are checked on the file as
	// written, so they are reported even when an attribute has other
	// errors too.
	byTarget := map[string]*attrSpec{}
	byMatch := map[int]*attrSpec{}
	for _, as := range spec.attrs {
		if as.target.set && as.target.v != "" {
			k := strings.ToLower(as.target.v)
			if prev, dup := byTarget[k]; dup {
				c.errorAt(as.target, "target %q is already written by %s (line %d)", as.target.v, prev.path, lineOf(prev.node))
			} else {
				byTarget[k] = as
			}
		}
		if as.match.set && as.match.v > 0 {
			if prev, dup := byMatch[as.match.v]; dup {
				c.errorAt(as.match, "match precedence %d is already used by %s (line %d); each match key needs its own precedence", as.match.v, prev.path, lineOf(prev.node))
			} else {
				byMatch[as.match.v] = as
			}
		}
	}
	byKeySpec := map[string]*attrSpec{}
	for _, as := range spec.attrs {
		a := c.compileAttr(km, as, kind)
		if a == nil {
			continue
		}
		if a.key != "" {
			if prev, dup := byKeySpec[a.key]; dup {
				c.errorAt(as.scim, "%s is already mapped by %s (line %d)", a.path.String(), prev.path, lineOf(prev.node))
				continue
			}
			byKeySpec[a.key] = as
		}
		km.attrs = append(km.attrs, a)
		if a.key != "" {
			km.byKey[a.key] = a
			if a.vk == vMultiComplex {
				km.byKey[strings.ToLower(a.path.Attribute().String())] = a
			}
		}
	}
	return km
}

func (c *compiler) compileAttr(km *kindMap, as *attrSpec, kind scim.Kind) *attribute {
	before := len(c.errs)
	a := &attribute{spec: as, kind: kind, target: as.target.v, match: as.match.v, required: as.required.v, multi: as.multi.v, mutability: scim.ReadWrite}
	c.compileMutability(a, as)
	switch {
	case !as.target.set:
		if !hasErrorAt(c.errs, as.path+".target") && !hasErrorAt(c.errs, as.path) {
			c.errorAt(as, "target is missing: name the %s attribute or column this maps to", backendWord(km))
		}
	case strings.TrimSpace(as.target.v) == "":
		c.errorAt(as.target, "target is empty")
	case strings.HasPrefix(as.target.v, "$"):
		c.errorAt(as.target, "target names starting with $ are reserved")
	}

	if as.scim.set {
		c.checkPath(a, as, kind)
	} else {
		a.computed = true
		switch {
		case !as.toTarget.set && !as.selectUnique.set && !hasErrorAt(c.errs, as.path+".scim"):
			c.errorAt(as, "scim is missing: name the SCIM attribute this maps (e.g. scim: userName), or give a toTarget expression to compute the target from other attributes")
		case as.fromTarget.set:
			c.errorAt(as.fromTarget, "a computed attribute (no scim) has nothing to read back into; remove fromTarget")
		}
		if as.match.set {
			c.errorAt(as.match, "a computed attribute (no scim) cannot be a match key: Entra filters on a SCIM attribute")
		}
		if as.reference.set {
			c.errorAt(as.reference, "a computed attribute (no scim) cannot be a reference")
		}
	}

	if as.match.set {
		switch {
		case as.match.v < 1:
			c.errorAt(as.match, "match precedence must be 1 or more, not %d", as.match.v)
		case a.multi:
			c.errorAt(as.match, "a multi-valued attribute cannot be a match key")
		}
	}
	if as.reference.set {
		switch as.reference.v {
		case string(scim.User), string(scim.Group):
			a.ref = scim.Kind(as.reference.v)
		default:
			c.errorAt(as.reference, "reference must be User or Group, not %q", as.reference.v)
		}
	}
	if a.vk == vRef && a.ref == "" {
		// manager holds a user id whether or not the file says so.
		a.ref = scim.User
	}
	if a.vk == vRef && isManager(a.path) && a.ref != scim.User {
		c.errorAt(as.reference, "manager references a User")
	}
	if a.ref != "" && a.vk == vBool {
		c.errorAt(as.reference, "a boolean attribute cannot be a reference")
	}

	if as.toTarget.set {
		p, err := compileExpr(as.toTarget.v, toEnv{})
		if err == nil && p.usesN {
			err = errors.New("n counts the tries of selectUniqueValue's last candidate; a toTarget has no n")
		}
		if err != nil {
			c.errorAt(as.toTarget, "toTarget does not compile: %v", oneLine(err))
		} else {
			a.toTarget = p
			a.readsOthers = len(p.attrs) > 0
			for _, s := range p.attrs {
				pp, err := scim.ParsePath(kind, s)
				if err != nil {
					c.errorAt(as.toTarget, "attr(%q): %s", s, scimDetail(err))
					continue
				}
				km.attrPaths[s] = pp
			}
			if a.readsOthers && as.match.set {
				c.errorAt(as.match, "a match key cannot read other attributes with attr(): Entra's filter on it could not be translated")
			}
		}
	}
	if as.selectUnique.set {
		c.compileCandidates(km, a, as, kind)
	}
	if as.fromTarget.set && !a.computed {
		p, err := compileExpr(as.fromTarget.v, fromEnv{})
		switch {
		case err != nil:
			c.errorAt(as.fromTarget, "fromTarget does not compile: %v", oneLine(err))
		case a.writeOnly:
			c.errorAt(as.fromTarget, "%s is never returned, so it has no fromTarget", a.path.String())
		default:
			a.fromTarget = p
		}
	}
	if len(c.errs) > before {
		return nil
	}
	return a
}

// compileMutability checks who may write the attribute: readOnly is the
// directory's (another tool writes it; SCIM only reads it), immutable is
// set on create (and while the target holds no value), then kept.
func (c *compiler) compileMutability(a *attribute, as *attrSpec) {
	f := as.mutability
	if !f.set {
		return
	}
	switch f.v {
	case scim.ReadWrite, scim.Immutable:
	case scim.ReadOnly:
		switch {
		case !as.scim.set:
			c.errorAt(f, "a computed attribute (no scim) is written from other attributes; it cannot be readOnly (remove it, or use immutable to compute it on create only)")
		case as.required.v:
			c.errorAt(f, "a readOnly attribute is written by the directory, not by SCIM clients, so it cannot be required")
		case as.match.set:
			c.errorAt(f, "a match key is written by the SCIM client; it cannot be readOnly")
		}
	default:
		c.errorAt(f, "must be readWrite (the default), readOnly (owned by the directory: returned, never written through SCIM) or immutable (set on create only), not %q", f.v)
		return
	}
	a.mutability = f.v
}

// compileCandidates compiles selectUniqueValue: like Entra's
// SelectUniqueValue, the candidates of a computed, directory-unique
// attribute that is not a SCIM key (AD's cn and sAMAccountName), tried in
// order until the directory accepts one.
func (c *compiler) compileCandidates(km *kindMap, a *attribute, as *attrSpec, kind scim.Kind) {
	su := as.selectUnique
	switch {
	case as.scim.set:
		c.errorAt(su, "selectUniqueValue computes a value of its own from other attributes (attr()); remove scim")
		return
	case as.toTarget.set:
		c.errorAt(su, "give toTarget or selectUniqueValue, not both")
		return
	case a.multi:
		c.errorAt(su, "selectUniqueValue picks one value; remove multiValued")
		return
	case len(su.v) == 0:
		c.errorAt(su, "selectUniqueValue needs at least one candidate expression")
		return
	case len(su.v) > maxCandidates:
		c.errorAt(su, "selectUniqueValue takes at most %d candidates, not %d", maxCandidates, len(su.v))
		return
	}
	for i, f := range su.v {
		if !f.set {
			continue // reported by the decoder
		}
		p, err := compileExpr(f.v, uniqueEnv{})
		if err != nil {
			c.errorAt(f, "candidate does not compile: %v", oneLine(err))
			continue
		}
		if p.usesN && i != len(su.v)-1 {
			c.errorAt(f, "only the last candidate may count with n")
		}
		for _, s := range p.attrs {
			pp, err := scim.ParsePath(kind, s)
			if err != nil {
				c.errorAt(f, "attr(%q): %s", s, scimDetail(err))
				continue
			}
			km.attrPaths[s] = pp
		}
		a.candidates = append(a.candidates, p)
	}
	a.readsOthers = true
}

// checkPath parses and classifies the SCIM path of a mapped attribute.
func (c *compiler) checkPath(a *attribute, as *attrSpec, kind scim.Kind) {
	p, err := scim.ParsePath(kind, as.scim.v)
	if err != nil {
		c.errorAt(as.scim, "%s", scimDetail(err))
		return
	}
	if p.Attr == "" {
		c.errorAt(as.scim, "%q names a schema, not an attribute; append ':' and the attribute name", as.scim.v)
		return
	}
	def := scim.LookupAttribute(kind, p.URN, p.Attr)
	switch {
	case def == nil && p.URN == "":
		c.errorAt(as.scim, "%s is not an attribute of the core %s schema; an attribute of your own needs an extension URN, e.g. urn:example:2.0:%s:%s", p.Attr, kind, kind, p.Attr)
		return
	case def == nil && strings.EqualFold(p.URN, scim.SchemaEnterprise):
		c.errorAt(as.scim, "%s is not an attribute of the enterprise extension (employeeNumber, costCenter, organization, division, department, manager)", p.Attr)
		return
	case def != nil && def.Mutability == scim.ReadOnly:
		c.errorAt(as.scim, "%s is read-only: the server sets it, it cannot be mapped", p.Attr)
		return
	case kind == scim.Group && p.URN == "" && p.Attr == "members":
		c.errorAt(as.scim, "members is provisioned through groups.members (and the target layout), not as an attribute")
		return
	}
	a.path, a.setPath, a.scimPath = p, p, p
	a.vk = vString
	if def == nil {
		// A custom extension attribute: a string, or a list of strings
		// with multiValued.
		a.key = strings.ToLower(p.String())
		return
	}
	var sub = def
	if p.Sub != "" {
		sub = def.Sub(p.Sub)
		if sub == nil {
			c.errorAt(as.scim, "%s has no sub-attribute %q", p.Attribute().String(), p.Sub)
			return
		}
		if sub.Mutability == scim.ReadOnly {
			c.errorAt(as.scim, "%s is read-only and cannot be mapped", p.String())
			return
		}
	}
	a.writeOnly = def.Returned == scim.ReturnedNever
	switch {
	case def.MultiValued && p.Filter != nil:
		if p.Sub == "" {
			c.errorAt(as.scim, "add the sub-attribute to store, e.g. %s.value", p.String())
			return
		}
		cmp, ok := p.Filter.(scim.Compare)
		if !ok || cmp.Op != "eq" || cmp.Path.Sub != "" || cmp.Path.Filter != nil {
			c.errorAt(as.scim, "the value filter must be one equality such as [type eq \"work\"], so that the element can be created on write")
			return
		}
		if sub.Type == scim.TypeBoolean {
			a.vk = vBool
		}
		a.workEmail = p.Attr == "emails" && p.Sub == "value" && strings.EqualFold(cmp.Path.Attr, "type") && isWork(cmp.Value)
		if as.multi.set && as.multi.v {
			c.errorAt(as.multi, "%s selects one element; it is single-valued", p.String())
			return
		}
	case def.MultiValued:
		if p.Sub != "" && p.Sub != "value" {
			c.errorAt(as.scim, "select one element with a value filter, e.g. %s[type eq \"work\"].%s", p.Attr, p.Sub)
			return
		}
		a.vk = vMultiComplex
		if !as.multi.v {
			c.errorAt(as.scim, "%s is multi-valued: add multiValued: true, or select one element, e.g. %s[type eq \"work\"].value", p.Attr, p.Attr)
			return
		}
		// One lookup key for "emails" and "emails.value".
		a.path = scim.Path{URN: p.URN, Attr: p.Attr, Sub: "value"}
		a.setPath = p.Attribute()
	case def.Type == scim.TypeComplex && p.Sub == "":
		if def.Sub("value") == nil {
			var names []string
			for _, s := range def.SubAttributes {
				names = append(names, p.Attr+"."+s.Name)
			}
			c.errorAt(as.scim, "%s is complex; map its sub-attributes one by one (%s)", p.Attr, strings.Join(names, ", "))
			return
		}
		a.vk = vRef
	case def.Type == scim.TypeComplex && p.Sub == "value" && def.Sub("$ref") != nil:
		// manager.value is manager.
		a.vk = vRef
		a.path, a.setPath = p.Attribute(), p.Attribute()
	case sub.Type == scim.TypeBoolean:
		a.vk = vBool
	}
	if as.multi.set && as.multi.v && a.vk != vMultiComplex {
		c.errorAt(as.multi, "%s is single-valued; remove multiValued", p.String())
		return
	}
	a.key = strings.ToLower(a.path.String())
}

func isManager(p scim.Path) bool {
	return p.URN == scim.SchemaEnterprise && p.Attr == "manager"
}

func isWork(v any) bool {
	s, ok := v.(string)
	return ok && strings.EqualFold(s, "work")
}

func backendWord(km *kindMap) string {
	if km.kind == scim.Group {
		return "group"
	}
	return "user"
}

func hasErrorAt(errs []error, path string) bool {
	for _, err := range errs {
		var se *SpecError
		if errors.As(err, &se) && se.Path == path {
			return true
		}
	}
	return false
}

// scimDetail is the human part of an error from bridge/scim.
func scimDetail(err error) string {
	var se *scim.Error
	if errors.As(err, &se) {
		return se.Detail
	}
	return err.Error()
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// Name is the name the mapping was loaded under (its file path).
func (m *Mapping) Name() string { return m.name }

// Members reports whether group membership is provisioned.
func (m *Mapping) Members() bool { return m.members }

// OnDelete says what a SCIM DELETE of kind does: OnDeleteDelete removes
// the entry; OnDeleteDisable (users) and OnDeleteKeep (groups) keep it,
// marked (DeprovisionChanges).
func (m *Mapping) OnDelete(kind scim.Kind) string {
	km, err := m.kindMap(kind)
	if err != nil {
		return OnDeleteDelete
	}
	return km.onDelete
}

// Schema tells the backend where each kind lives and which attributes the
// mapping writes.
func (m *Mapping) Schema() backends.Schema {
	return backends.Schema{Users: m.users.schema(), Groups: m.groups.schema()}
}

func (km *kindMap) schema() backends.KindSchema {
	ks := backends.KindSchema{Layout: km.layout}
	for _, a := range km.attrs {
		ks.Attrs = append(ks.Attrs, backends.AttrSchema{
			Name:   a.target,
			Multi:  a.multi,
			Unique: a.match > 0,
			Ref:    backends.Kind(a.ref),
		})
	}
	if km.marker != nil {
		ks.Attrs = append(ks.Attrs, backends.AttrSchema{Name: km.marker.attr})
	}
	return ks
}

// MatchKeys lists the match keys of kind by precedence.
func (m *Mapping) MatchKeys(kind scim.Kind) []MatchKey {
	km, err := m.kindMap(kind)
	if err != nil {
		return nil
	}
	var keys []MatchKey
	for _, a := range km.attrs {
		if a.match > 0 {
			keys = append(keys, MatchKey{Path: a.path, Attr: a.target, Precedence: a.match})
		}
	}
	slices.SortFunc(keys, func(a, b MatchKey) int { return cmp.Compare(a.Precedence, b.Precedence) })
	return keys
}

func (m *Mapping) kindMap(kind scim.Kind) (*kindMap, error) {
	switch kind {
	case scim.User:
		return m.users, nil
	case scim.Group:
		return m.groups, nil
	}
	return nil, fmt.Errorf("mapping: unknown resource kind %q", kind)
}
