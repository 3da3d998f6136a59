package ldap

import (
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// rdnOf is the type and value of the first RDN of dn ("" if unparsable).
func rdnOf(dn string) (string, string) {
	d, err := goldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) == 0 {
		return "", ""
	}
	return d.RDNs[0].Attributes[0].Type, d.RDNs[0].Attributes[0].Value
}

// firstRDN is the first RDN of dn as written.
func firstRDN(dn string) string {
	d, err := goldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 {
		return dn
	}
	var parts []string
	for _, a := range d.RDNs[0].Attributes {
		parts = append(parts, a.Type+"="+escapeDN(a.Value))
	}
	return strings.Join(parts, "+")
}

// parentDN is dn without its first RDN.
func parentDN(dn string) string {
	d, err := goldap.ParseDN(dn)
	if err != nil || len(d.RDNs) < 2 {
		return ""
	}
	return (&goldap.DN{RDNs: d.RDNs[1:]}).String()
}

// newDN is the DN after a ModifyDN to rdn under parent ("" = the same).
func newDN(dn, rdn, parent string) string {
	if parent == "" {
		parent = parentDN(dn)
	}
	return rdn + "," + parent
}
