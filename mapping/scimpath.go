package mapping

import (
	"strings"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// SCIMPath names the SCIM attribute that a target attribute stores, for
// error details: "userName" rather than "login". ok is false for a target
// attribute the mapping does not know, or one computed from several.
// Target names compare case-insensitively, as the duplicate check does.
func (m *Mapping) SCIMPath(kind scim.Kind, target string) (string, bool) {
	km, err := m.kindMap(kind)
	if err != nil || km == nil {
		return "", false
	}
	for _, a := range km.attrs {
		if strings.EqualFold(a.target, target) && !a.computed {
			return a.path.String(), true
		}
	}
	return "", false
}

// Target names the target attribute that stores the SCIM attribute at path
// (canonical text such as "externalId" or `emails[type eq "work"].value`,
// compared case-insensitively); ok is false if unmapped.
func (m *Mapping) Target(kind scim.Kind, path string) (string, bool) {
	km, err := m.kindMap(kind)
	if err != nil || km == nil {
		return "", false
	}
	if a := km.byKey[strings.ToLower(path)]; a != nil {
		return a.target, true
	}
	return "", false
}

// CardAttr is the SCIM attribute name of badge cards: the import of
// `scimbridge cards import` writes the target attribute that a User
// extension's badgeCards maps to (the shipped Pharos mapping's
// urn:ietf:params:scim:schemas:extension:pharos:2.0:User:badgeCards).
const CardAttr = "badgeCards"

// CardsTarget names the multi-valued target attribute that holds a user's
// badge cards: the one a User extension attribute named badgeCards (any
// extension URN) maps to. ok is false when the mapping stores no cards.
func (m *Mapping) CardsTarget() (string, bool) {
	if m.users == nil {
		return "", false
	}
	for _, a := range m.users.attrs {
		if a.multi && !a.computed && a.path.URN != "" && a.path.Sub == "" && strings.EqualFold(a.path.Attr, CardAttr) {
			return a.target, true
		}
	}
	return "", false
}
