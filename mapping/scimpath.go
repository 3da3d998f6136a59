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
