package mapping

import (
	"strings"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// entraSources is Entra's default attribute mapping for a custom SCIM app,
// SCIM path → Entra source attribute (docs/entra.md §6), so that an error
// about a missing attribute can say which Entra attribute to map. Keys are
// lower-cased canonical paths. externalId is named objectId, the source
// the shipped mappings expect (docs/design.md §2).
var entraSources = map[string]string{
	"active":                                  "IsSoftDeleted (through Switch)",
	"displayname":                             "displayName",
	"externalid":                              "objectId",
	`emails[type eq "work"].value`:            "mail",
	"name.givenname":                          "givenName",
	"name.familyname":                         "surname",
	"title":                                   "jobTitle",
	"username":                                "userPrincipalName",
	`phonenumbers[type eq "work"].value`:      "telephoneNumber",
	`phonenumbers[type eq "mobile"].value`:    "mobile",
	`phonenumbers[type eq "fax"].value`:       "facsimileTelephoneNumber",
	`addresses[type eq "work"].streetaddress`: "streetAddress",
	`addresses[type eq "work"].postalcode`:    "postalCode",
	strings.ToLower(scim.SchemaEnterprise) + ":department":     "department",
	strings.ToLower(scim.SchemaEnterprise) + ":employeenumber": "employeeId",
	strings.ToLower(scim.SchemaEnterprise) + ":manager":        "manager",
}

// entraSource names the Entra attribute that Entra's default mapping sends
// as p.
func entraSource(p scim.Path) (string, bool) {
	s, ok := entraSources[strings.ToLower(p.String())]
	return s, ok
}

// requiredDetail is the 400 detail of a required attribute with no value:
// the same for a create, a PUT and a PATCH that removes it. It names the
// attribute and what to map in Entra, e.g. `attribute emails[type eq
// "work"].value (mail) is required: map Entra's mail to emails[type eq
// "work"].value`.
func (a *attribute) requiredDetail() string {
	d := "attribute " + a.label() + " is required"
	if a.computed {
		return d + ": the mapping computes it from other attributes; send the attributes its toTarget reads"
	}
	path := a.scimPath.String()
	if src, ok := entraSource(a.scimPath); ok {
		return d + ": map Entra's " + src + " to " + path + " in the provisioning app's attribute mapping"
	}
	return d + ": map an Entra attribute to " + path + " in the provisioning app's attribute mapping"
}
