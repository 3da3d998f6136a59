package mapping

import "github.com/scimbridge/scimbridge/bridge/scim"

// SCIMPath names the SCIM attribute that a target attribute stores, for
// error details: "userName" rather than "login". ok is false for a target
// attribute the mapping does not know, or one computed from several.
func (m *Mapping) SCIMPath(kind scim.Kind, target string) (string, bool) {
	km, err := m.kindMap(kind)
	if err != nil || km == nil {
		return "", false
	}
	for _, a := range km.attrs {
		if a.target == target && !a.computed {
			return a.path.String(), true
		}
	}
	return "", false
}

// Target names the target attribute that stores the SCIM attribute at path
// (in canonical text form, e.g. "externalId"); ok is false if unmapped.
func (m *Mapping) Target(kind scim.Kind, path string) (string, bool) {
	km, err := m.kindMap(kind)
	if err != nil || km == nil {
		return "", false
	}
	for _, a := range km.attrs {
		if !a.computed && a.path.String() == path {
			return a.target, true
		}
	}
	return "", false
}
