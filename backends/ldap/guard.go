package ldap

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// staleError is a write refused because the entry Get read is no longer
// what is at its DN; Modify looks the entry up and plans again.
type staleError struct {
	plan        *modPlan
	placeholder bool // the assertion also said the placeholder was absent
	err         error
}

func (e *staleError) Error() string {
	return "ldap: the entry changed since it was read: " + e.err.Error()
}
func (e *staleError) Unwrap() error { return e.err }

// isStale reports the answers to a write at a DN read earlier that mean
// the entry there is not (or no longer) the one read: gone or renamed
// (32), another entry, or other flags or classes (122, the assertion), a
// class removed meanwhile (65).
func isStale(err error) bool {
	switch resultCode(err) {
	case int(goldap.LDAPResultNoSuchObject), int(goldap.LDAPResultAssertionFailed), int(goldap.LDAPResultObjectClassViolation):
		return true
	}
	return false
}

// controlAssertion is the LDAP assertion control (RFC 4528): the server
// performs the operation only if the filter matches the entry, and
// answers assertionFailed (122) otherwise.
const controlAssertion = "1.3.6.1.1.12"

// assertionControl is a critical assertion control of the conjunction of
// terms (filters).
func assertionControl(terms []string) (goldap.Control, error) {
	var f string
	switch len(terms) {
	case 0:
		return nil, errors.New("ldap: an assertion without terms")
	case 1:
		f = terms[0]
	default:
		f = "(&" + strings.Join(terms, "") + ")"
	}
	p, err := goldap.CompileFilter(f)
	if err != nil {
		return nil, fmt.Errorf("ldap: assertion %q: %w", f, err)
	}
	return goldap.NewControlString(controlAssertion, true, string(p.Bytes())), nil
}

// placeholderMode says how a member add learns whether the empty group's
// placeholder is there to be removed.
type placeholderMode int

const (
	placeholderSearch  placeholderMode = iota // search for it first
	placeholderAssert                         // assert it is absent; 122 says it is there
	placeholderPresent                        // known to be there: remove it
)

// guard lists the filters the first write asserts when the entry is the
// one Get read: that the entry at the DN has this id, and the flags and
// classes the plan took from it.
func (p *modPlan) guard(k *kindLayout, id string) []string {
	f, _ := k.idFilter(id) // e was found by id, so the id is one
	terms := []string{k.classFilter, f}
	if p.flags != nil {
		if *p.flags == "" {
			terms = append(terms, "(!("+p.flagsAttr+"=*))")
		} else {
			terms = append(terms, "("+p.flagsAttr+"="+goldap.EscapeFilter(*p.flags)+")")
		}
	}
	for _, oc := range p.classes {
		terms = append(terms, "(objectClass="+goldap.EscapeFilter(oc)+")")
	}
	return terms
}

// holds reports whether e, found by id, still has what guard asserted.
func (p *modPlan) holds(e *goldap.Entry) bool {
	if dnKey(e.DN) != dnKey(p.dn) {
		return false
	}
	if p.flags != nil && !sameFlags(*p.flags, e.GetEqualFoldAttributeValue(p.flagsAttr)) {
		return false
	}
	have := e.GetEqualFoldAttributeValues("objectClass")
	for _, oc := range p.classes {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, oc) }) {
			return false
		}
	}
	return true
}
