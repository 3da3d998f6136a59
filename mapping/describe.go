package mapping

import (
	"strings"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// AttrInfo describes one mapped attribute for people (the console's
// Mapping page): where a SCIM attribute goes and how.
type AttrInfo struct {
	// SCIM is the SCIM path ("" for an attribute computed from others).
	SCIM     string
	Target   string
	Match    int // match precedence, 0 when not a match key
	Required bool
	Multi    bool
	// Transform is the toTarget expression as written, or the
	// selectUniqueValue candidates joined by " | ", "" when none.
	Transform string
}

// Describe lists kind's attributes in file order.
func (m *Mapping) Describe(kind scim.Kind) []AttrInfo {
	km, err := m.kindMap(kind)
	if err != nil {
		return nil
	}
	out := make([]AttrInfo, 0, len(km.attrs))
	for _, a := range km.attrs {
		info := AttrInfo{Target: a.target, Match: a.match, Required: a.required, Multi: a.multi}
		if !a.computed {
			info.SCIM = a.path.String()
		}
		if a.spec != nil {
			switch {
			case a.spec.toTarget.set:
				info.Transform = a.spec.toTarget.v
			case a.spec.selectUnique.set:
				var c []string
				for _, f := range a.spec.selectUnique.v {
					c = append(c, f.v)
				}
				info.Transform = "selectUniqueValue: " + strings.Join(c, " | ")
			}
		}
		out = append(out, info)
	}
	return out
}
