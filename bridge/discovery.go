package bridge

import (
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/mapping"
)

// Discovery describes the tenant for its discovery endpoints: what its
// mapping stores and requires. The authentication schemes are the
// front end's to add (package auth knows what the tenant allows).
func (s *Service) Discovery() scim.Discovery { return s.discovery }

func discoveryOf(m *mapping.Mapping) scim.Discovery {
	if m == nil {
		return scim.StandardDiscovery()
	}
	return m.Discovery()
}
