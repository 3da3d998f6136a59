package mapping

import (
	"slices"
	"strings"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// Discovery is what the tenant's /Schemas, /ResourceTypes and
// /ServiceProviderConfig say, generated from the mapping: exactly the
// attributes it stores, with their sub-attributes, required as the mapping
// requires them, uniqueness "server" for match keys (compared without
// regard to case), the mutability the mapping gives, and every extension
// the mapping stores attributes of (the enterprise one, custom ones such as
// Pharos's badgeCards) as a schema of its own. A client that follows it
// sends every attribute the bridge requires (docs/design.md §3,
// "Discovery"). It is built once, when the mapping is compiled; callers
// must not change it.
func (m *Mapping) Discovery() scim.Discovery { return m.discovery }

// buildDiscovery is Discovery's work, done by Parse.
func (m *Mapping) buildDiscovery() scim.Discovery {
	return scim.Discovery{Resources: []scim.ResourceType{
		m.users.resourceType("/Users", "User Account", "User Account", false),
		m.groups.resourceType("/Groups", "Group", "Group", m.members),
	}}
}

// schemaBuilder collects one schema's attributes in the mapping's order.
type schemaBuilder struct {
	schema   scim.Schema
	required bool
}

func (km *kindMap) resourceType(endpoint, desc, schemaDesc string, members bool) scim.ResourceType {
	core := &schemaBuilder{schema: scim.Schema{ID: coreURN(km.kind), Name: string(km.kind), Description: schemaDesc}}
	// id and meta are the server's (RFC 7643 §3.1), on every resource.
	core.add(copyDef(scim.LookupAttribute(km.kind, "", "id")))
	var exts []*schemaBuilder
	bucket := func(urn string) *schemaBuilder {
		if urn == "" {
			return core
		}
		for _, e := range exts {
			if strings.EqualFold(e.schema.ID, urn) {
				return e
			}
		}
		e := &schemaBuilder{schema: scim.Schema{ID: urn, Name: extensionName(urn, km.kind), Description: extensionDescription(urn, km.kind)}}
		exts = append(exts, e)
		return e
	}
	for _, a := range km.attrs {
		if a.computed {
			continue
		}
		b := bucket(a.scimPath.URN)
		b.addMapped(km.kind, a)
	}
	if members {
		members := copyDef(scim.LookupAttribute(scim.Group, "", "members"))
		members.SubAttributes = []*scim.Attribute{copyDef(scim.LookupAttribute(scim.Group, "", "members").Sub("value"))}
		core.add(members)
	}
	core.add(readOnlyDef(scim.LookupAttribute(km.kind, "", "meta")))
	rt := scim.ResourceType{Kind: km.kind, Endpoint: endpoint, Description: desc, Schema: core.schema}
	// The enterprise extension first, then the others in the mapping's order.
	for _, first := range []bool{true, false} {
		for _, e := range exts {
			if strings.EqualFold(e.schema.ID, scim.SchemaEnterprise) == first {
				rt.Extensions = append(rt.Extensions, scim.Extension{Schema: e.schema, Required: e.required})
			}
		}
	}
	return rt
}

func coreURN(kind scim.Kind) string {
	if kind == scim.Group {
		return scim.SchemaGroup
	}
	return scim.SchemaUser
}

// extensionName names a custom extension after its URN's owner segment:
// urn:ietf:params:scim:schemas:extension:pharos:2.0:User is PharosUser.
func extensionName(urn string, kind scim.Kind) string {
	if strings.EqualFold(urn, scim.SchemaEnterprise) {
		return "EnterpriseUser"
	}
	parts := strings.Split(urn, ":")
	for i := len(parts) - 1; i > 0; i-- {
		if looksLikeVersion(parts[i]) && parts[i-1] != "" {
			return strings.ToUpper(parts[i-1][:1]) + parts[i-1][1:] + string(kind)
		}
	}
	return urn
}

func looksLikeVersion(s string) bool {
	return s != "" && strings.Trim(s, "0123456789.") == "" && strings.ContainsAny(s, "0123456789")
}

func extensionDescription(urn string, kind scim.Kind) string {
	if strings.EqualFold(urn, scim.SchemaEnterprise) {
		return "Enterprise User"
	}
	return "Extension attributes of the " + string(kind) + " resource that this bridge's mapping stores."
}

// add appends a top-level attribute, or returns the one of that name.
func (b *schemaBuilder) add(def *scim.Attribute) *scim.Attribute {
	for _, a := range b.schema.Attributes {
		if strings.EqualFold(a.Name, def.Name) {
			return a
		}
	}
	b.schema.Attributes = append(b.schema.Attributes, def)
	return def
}

// addMapped adds what one mapped attribute stores: its top-level
// attribute and, for a complex one, the sub-attributes it reads and writes.
func (b *schemaBuilder) addMapped(kind scim.Kind, a *attribute) {
	p := a.scimPath
	def := scim.LookupAttribute(kind, p.URN, p.Attr)
	if def == nil {
		// A custom extension attribute: a string, or a list of strings.
		def = &scim.Attribute{Name: p.Attr, Type: scim.TypeString, MultiValued: a.multi,
			Description: "Stored by this bridge in " + a.target + ".",
			Mutability:  scim.ReadWrite, Returned: scim.ReturnedDefault, Uniqueness: "none"}
	}
	top := b.add(copyDef(def))
	leaf := top
	switch {
	case p.Sub != "":
		leaf = addSub(top, def.Sub(p.Sub))
	case a.vk == vMultiComplex || a.vk == vRef:
		leaf = addSub(top, def.Sub("value"))
	}
	if p.Filter != nil {
		// One element selected by [type eq "work"]: its type, whose values
		// the mapping names, and (emails) primary, which the answer carries.
		if cmp, ok := p.Filter.(scim.Compare); ok {
			if sel := def.Sub(cmp.Path.Attr); sel != nil {
				t := addSub(top, sel)
				if s, ok := cmp.Value.(string); ok && !containsFold(t.CanonicalValues, s) {
					t.CanonicalValues = append(t.CanonicalValues, s)
				}
			}
		}
		if a.workEmail {
			addSub(top, def.Sub("primary"))
		}
	}
	if a.match > 0 {
		// Natural keys: unique in the target, compared as the targets
		// fold them (docs/design.md §4).
		leaf.Uniqueness, leaf.CaseExact = "server", false
		if leaf != top {
			top.Uniqueness = "server"
		}
	}
	switch a.mutability {
	case scim.ReadOnly, scim.Immutable:
		leaf.Mutability = a.mutability
		if leaf != top && len(top.SubAttributes) == 1 {
			top.Mutability = a.mutability
		}
	}
	if a.required {
		leaf.Required, top.Required = true, true
		b.required = true
		hint := "Required by this bridge: " + requiredHint(a) + "."
		if !strings.Contains(top.Description, hint) {
			top.Description = strings.TrimSpace(top.Description + " " + hint)
		}
	}
}

// requiredHint says what a client must send for a required attribute.
func requiredHint(a *attribute) string {
	s := a.scimPath.String()
	if src, ok := entraSource(a.scimPath); ok {
		s += ", from Entra's " + src
	}
	if a.workEmail {
		return `an email with type "work" (` + s + `); without one, the primary or the only email is used`
	}
	return s
}

// addSub adds a copy of sub to top's sub-attributes, in the order of the
// standard definition, or returns the one already there.
func addSub(top, sub *scim.Attribute) *scim.Attribute {
	if sub == nil {
		return top
	}
	for _, s := range top.SubAttributes {
		if strings.EqualFold(s.Name, sub.Name) {
			return s
		}
	}
	c := copyDef(sub)
	top.SubAttributes = append(top.SubAttributes, c)
	return c
}

// copyDef copies an attribute definition without its sub-attributes (the
// mapping adds those it stores). A "type" sub-attribute starts with no
// canonical values: the mapping's value filters name the types it stores.
func copyDef(def *scim.Attribute) *scim.Attribute {
	c := *def
	c.SubAttributes = nil
	c.CanonicalValues = slices.Clone(def.CanonicalValues)
	c.ReferenceTypes = slices.Clone(def.ReferenceTypes)
	if def.Name == "type" {
		c.CanonicalValues = nil
	}
	return &c
}

// readOnlyDef copies a server-set attribute with all its sub-attributes.
func readOnlyDef(def *scim.Attribute) *scim.Attribute {
	c := copyDef(def)
	for _, s := range def.SubAttributes {
		c.SubAttributes = append(c.SubAttributes, copyDef(s))
	}
	return c
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
