package bridge

import (
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/mapping"
)

// Discovery describes the tenant for its discovery endpoints: what its
// mapping stores and requires, and the authentication schemes it accepts.
func (s *Service) Discovery() scim.Discovery { return s.discovery }

func discoveryOf(m *mapping.Mapping, schemes []scim.AuthScheme) scim.Discovery {
	if m == nil {
		return scim.StandardDiscovery()
	}
	d := m.Discovery()
	d.AuthenticationSchemes = schemes
	return d
}
