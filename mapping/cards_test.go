package mapping

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCardsTarget(t *testing.T) {
	attr, ok := mustLoad(t, pharosMapping).CardsTarget()
	require.True(t, ok)
	require.Equal(t, "cards", attr)
	attr, ok = mustLoad(t, "../configs/mappings/entra-to-openldap.yaml").CardsTarget()
	require.True(t, ok)
	require.Equal(t, "scimBadgeCard", attr)
	_, ok = mustLoad(t, "../configs/mappings/entra-to-active-directory.yaml").CardsTarget()
	require.False(t, ok, "the AD example stores no cards")

	for name, c := range map[string]struct {
		items string
		want  string
	}{
		"an extension of one's own": {"    - {scim: 'urn:example:ext:1.0:User:BadgeCards', target: badge, multiValued: true}\n", "badge"},
		"single-valued":             {"    - {scim: 'urn:example:ext:1.0:User:badgeCards', target: badge}\n", ""},
		"a sub-attribute":           {"    - {scim: 'urn:example:ext:1.0:User:badgeCards.value', target: badge, multiValued: true}\n", ""},
		"another name":              {"    - {scim: 'urn:example:ext:1.0:User:cards', target: badge, multiValued: true}\n", ""},
	} {
		t.Run(name, func(t *testing.T) {
			attr, ok := mustParse(t, usersWith(c.items)).CardsTarget()
			require.Equal(t, c.want != "", ok)
			require.Equal(t, c.want, attr)
		})
	}
}
