package scim

import "strings"

// Attribute types (RFC 7643 §2.3).
const (
	TypeString    = "string"
	TypeBoolean   = "boolean"
	TypeComplex   = "complex"
	TypeReference = "reference"
	TypeDateTime  = "dateTime"
	TypeDecimal   = "decimal"
	TypeInteger   = "integer"
	TypeBinary    = "binary"
)

// Mutability and returned characteristics (RFC 7643 §7).
const (
	ReadOnly  = "readOnly"
	ReadWrite = "readWrite"
	Immutable = "immutable"
	WriteOnly = "writeOnly"

	ReturnedAlways  = "always"
	ReturnedNever   = "never"
	ReturnedDefault = "default"
	ReturnedRequest = "request"
)

// Attribute describes one schema attribute with the characteristics of
// RFC 7643 §2.2 and §7. The tables below are the single source of truth for
// canonical casing (ParsePath, Normalize), value types (Decode) and the
// /Schemas answer, so that what we parse and what we advertise never drift.
type Attribute struct {
	Name            string
	Type            string
	MultiValued     bool
	Description     string
	Required        bool
	CaseExact       bool
	Mutability      string
	Returned        string
	Uniqueness      string // "none", "server"
	CanonicalValues []string
	ReferenceTypes  []string
	SubAttributes   []*Attribute
}

// Sub returns the sub-attribute named name (case-insensitive), or nil.
func (a *Attribute) Sub(name string) *Attribute {
	if a == nil {
		return nil
	}
	return findAttr(a.SubAttributes, name)
}

func findAttr(list []*Attribute, name string) *Attribute {
	for _, a := range list {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// attr builds a single-valued read-write string attribute; the option
// functions adjust it. A tiny builder keeps the tables below readable.
func attr(name, typ, desc string, opts ...func(*Attribute)) *Attribute {
	a := &Attribute{
		Name: name, Type: typ, Description: desc,
		Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: "none",
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

func multi(a *Attribute)     { a.MultiValued = true }
func required(a *Attribute)  { a.Required = true }
func caseExact(a *Attribute) { a.CaseExact = true }
func readOnly(a *Attribute)  { a.Mutability = ReadOnly }
func immutable(a *Attribute) { a.Mutability = Immutable }
func always(a *Attribute)    { a.Returned = ReturnedAlways }
func unique(a *Attribute)    { a.Uniqueness = "server" }
func writeOnlyNever(a *Attribute) {
	a.Mutability = WriteOnly
	a.Returned = ReturnedNever
}
func subs(s ...*Attribute) func(*Attribute) {
	return func(a *Attribute) { a.SubAttributes = s }
}
func canonical(v ...string) func(*Attribute) {
	return func(a *Attribute) { a.CanonicalValues = v }
}
func refTypes(v ...string) func(*Attribute) {
	return func(a *Attribute) { a.ReferenceTypes = v }
}

// multiValuedSubs are the sub-attributes RFC 7643 §2.4 gives every
// multi-valued attribute, with a per-attribute value type and type values.
func multiValuedSubs(valueType, valueDesc string, types []string, valueOpts ...func(*Attribute)) func(*Attribute) {
	return subs(
		attr("value", valueType, valueDesc, valueOpts...),
		attr("display", TypeString, "A human-readable name, primarily used for display purposes."),
		attr("type", TypeString, "A label indicating the attribute's function.", canonical(types...)),
		attr("primary", TypeBoolean, "A Boolean value indicating the 'primary' or preferred attribute value for this attribute. The primary attribute value 'true' MUST appear no more than once."),
	)
}

func commonAttributes() []*Attribute {
	return []*Attribute{
		attr("id", TypeString, "Unique identifier for the SCIM resource as defined by the service provider.", caseExact, readOnly, always, unique),
		attr("externalId", TypeString, "A String that is an identifier for the resource as defined by the provisioning client.", caseExact),
		attr("meta", TypeComplex, "A complex attribute containing resource metadata.", readOnly, subs(
			attr("resourceType", TypeString, "The name of the resource type of the resource.", caseExact, readOnly),
			attr("created", TypeDateTime, "The DateTime that the resource was added to the service provider.", readOnly),
			attr("lastModified", TypeDateTime, "The most recent DateTime that the details of this resource were updated at the service provider.", readOnly),
			attr("location", TypeReference, "The URI of the resource being returned.", caseExact, readOnly, refTypes("uri")),
			attr("version", TypeString, "The version of the resource being returned.", caseExact, readOnly),
		)),
	}
}

var userAttributes = append(commonAttributes(),
	attr("userName", TypeString, "Unique identifier for the User, typically used by the user to directly authenticate to the service provider. Each User MUST include a non-empty userName value. This identifier MUST be unique across the service provider's entire set of Users.", required, unique),
	attr("name", TypeComplex, "The components of the user's real name.", subs(
		attr("formatted", TypeString, "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display."),
		attr("familyName", TypeString, "The family name of the User, or last name in most Western languages."),
		attr("givenName", TypeString, "The given name of the User, or first name in most Western languages."),
		attr("middleName", TypeString, "The middle name(s) of the User."),
		attr("honorificPrefix", TypeString, "The honorific prefix(es) of the User, or title in most Western languages."),
		attr("honorificSuffix", TypeString, "The honorific suffix(es) of the User, or suffix in most Western languages."),
	)),
	attr("displayName", TypeString, "The name of the User, suitable for display to end-users."),
	attr("nickName", TypeString, "The casual way to address the user in real life."),
	attr("profileUrl", TypeReference, "A fully qualified URL pointing to a page representing the User's online profile.", refTypes("external")),
	attr("title", TypeString, "The user's title, such as \"Vice President\"."),
	attr("userType", TypeString, "Used to identify the relationship between the organization and the user."),
	attr("preferredLanguage", TypeString, "Indicates the User's preferred written or spoken language."),
	attr("locale", TypeString, "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations."),
	attr("timezone", TypeString, "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'."),
	attr("active", TypeBoolean, "A Boolean value indicating the User's administrative status."),
	attr("password", TypeString, "The User's cleartext password.", writeOnlyNever),
	attr("emails", TypeComplex, "Email addresses for the user.", multi,
		multiValuedSubs(TypeString, "Email addresses for the user.", []string{"work", "home", "other"})),
	attr("phoneNumbers", TypeComplex, "Phone numbers for the User.", multi,
		multiValuedSubs(TypeString, "Phone number of the User.", []string{"work", "home", "mobile", "fax", "pager", "other"})),
	attr("ims", TypeComplex, "Instant messaging addresses for the User.", multi,
		multiValuedSubs(TypeString, "Instant messaging address for the User.", []string{"aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"})),
	attr("photos", TypeComplex, "URLs of photos of the User.", multi,
		multiValuedSubs(TypeReference, "URL of a photo of the User.", []string{"photo", "thumbnail"}, refTypes("external"))),
	attr("addresses", TypeComplex, "A physical mailing address for this User.", multi, subs(
		attr("formatted", TypeString, "The full mailing address, formatted for display or use with a mailing label."),
		attr("streetAddress", TypeString, "The full street address component."),
		attr("locality", TypeString, "The city or locality component."),
		attr("region", TypeString, "The state or region component."),
		attr("postalCode", TypeString, "The zip code or postal code component."),
		attr("country", TypeString, "The country name component."),
		attr("type", TypeString, "A label indicating the attribute's function.", canonical("work", "home", "other")),
		attr("primary", TypeBoolean, "A Boolean value indicating the 'primary' or preferred attribute value for this attribute."),
	)),
	attr("groups", TypeComplex, "A list of groups to which the user belongs.", multi, readOnly, subs(
		attr("value", TypeString, "The identifier of the User's group.", readOnly),
		attr("$ref", TypeReference, "The URI of the corresponding 'Group' resource to which the user belongs.", readOnly, refTypes("User", "Group")),
		attr("display", TypeString, "A human-readable name, primarily used for display purposes.", readOnly),
		attr("type", TypeString, "A label indicating the attribute's function.", readOnly, canonical("direct", "indirect")),
	)),
	attr("entitlements", TypeComplex, "A list of entitlements for the User.", multi,
		multiValuedSubs(TypeString, "The value of an entitlement.", nil)),
	attr("roles", TypeComplex, "A list of roles for the User.", multi,
		multiValuedSubs(TypeString, "The value of a role.", nil)),
	attr("x509Certificates", TypeComplex, "A list of certificates issued to the User.", multi,
		multiValuedSubs(TypeBinary, "The value of an X.509 certificate.", nil)),
)

var groupAttributes = append(commonAttributes(),
	attr("displayName", TypeString, "A human-readable name for the Group. REQUIRED.", required),
	attr("members", TypeComplex, "A list of members of the Group.", multi, subs(
		attr("value", TypeString, "Identifier of the member of this Group.", immutable),
		attr("$ref", TypeReference, "The URI corresponding to a SCIM resource that is a member of this Group.", immutable, refTypes("User", "Group")),
		attr("display", TypeString, "A human-readable name, primarily used for display purposes.", readOnly),
		attr("type", TypeString, "A label indicating the type of resource, e.g., 'User' or 'Group'.", immutable, canonical("User", "Group")),
	)),
)

var enterpriseAttributes = []*Attribute{
	attr("employeeNumber", TypeString, "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization."),
	attr("costCenter", TypeString, "Identifies the name of a cost center."),
	attr("organization", TypeString, "Identifies the name of an organization."),
	attr("division", TypeString, "Identifies the name of a division."),
	attr("department", TypeString, "Identifies the name of a department."),
	attr("manager", TypeComplex, "The User's manager.", subs(
		attr("value", TypeString, "The id of the SCIM resource representing the User's manager."),
		attr("$ref", TypeReference, "The URI of the SCIM resource representing the User's manager.", refTypes("User")),
		attr("displayName", TypeString, "The displayName of the User's manager.", readOnly),
	)),
}

// Every request looks attributes up many times, nearly always by their
// canonical names: these find those in one map access, and findAttr's
// case-insensitive scan serves the rest.
var (
	userByName       = indexByName(userAttributes)
	groupByName      = indexByName(groupAttributes)
	enterpriseByName = indexByName(enterpriseAttributes)
)

func indexByName(list []*Attribute) map[string]*Attribute {
	m := make(map[string]*Attribute, len(list))
	for _, a := range list {
		m[a.Name] = a
	}
	return m
}

func lookupIn(index map[string]*Attribute, list []*Attribute, name string) *Attribute {
	if a := index[name]; a != nil {
		return a
	}
	return findAttr(list, name)
}

// LookupAttribute returns the schema definition of the attribute that a
// path names (its Attr, not its Sub), or nil when the attribute is unknown.
func LookupAttribute(kind Kind, urn, name string) *Attribute {
	switch {
	case urn == "" && kind == Group:
		return lookupIn(groupByName, groupAttributes, name)
	case urn == "":
		return lookupIn(userByName, userAttributes, name)
	case kind == User && (urn == SchemaEnterprise || strings.EqualFold(urn, SchemaEnterprise)):
		return lookupIn(enterpriseByName, enterpriseAttributes, name)
	}
	return nil
}

// lookupPath returns the definitions of a path's attribute and, when the
// path has a sub-attribute, of that sub-attribute (nil when unknown).
func lookupPath(kind Kind, p Path) (attrDef, subDef *Attribute) {
	attrDef = LookupAttribute(kind, p.URN, p.Attr)
	if p.Sub != "" {
		subDef = attrDef.Sub(p.Sub)
	}
	return attrDef, subDef
}

// coreSchema is the core schema URN of a resource kind.
func coreSchema(kind Kind) string {
	if kind == Group {
		return SchemaGroup
	}
	return SchemaUser
}

// knownExtensionURN returns the canonical spelling of an extension schema
// URN this package knows (URNs compare case-insensitively, RFC 8141 §3),
// or "" if it knows none.
func knownExtensionURN(kind Kind, urn string) string {
	if kind == User && strings.EqualFold(urn, SchemaEnterprise) {
		return SchemaEnterprise
	}
	return ""
}

// isCoreURN reports whether urn is a core resource schema URN, whose prefix
// is redundant in a path.
func isCoreURN(urn string) bool {
	return strings.EqualFold(urn, SchemaUser) || strings.EqualFold(urn, SchemaGroup)
}

// readOnlyAttr reports whether a top-level attribute is set by the server
// only (id, meta, groups), so client input for it is ignored.
func readOnlyAttr(kind Kind, p Path) bool {
	if p.URN != "" {
		return false
	}
	a := LookupAttribute(kind, "", p.Attr)
	return a != nil && a.Mutability == ReadOnly
}
