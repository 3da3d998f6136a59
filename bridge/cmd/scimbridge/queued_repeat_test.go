package main

import (
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// Disable, enable, disable with identical bodies while the directory is
// down: three writes, all queued (the third is not Entra's repeat of the
// first, an enable came between), applied in order: the user ends disabled.
func TestDisableEnableDisableQueued(t *testing.T) {
	disable, enable := fixture(t, "patch-disable-user"), fixture(t, "patch-enable-user-string")
	srv := ownSlapd(t)
	d := newDirectory(t, srv)
	block, q := sharedRedis(t).stateBlock(t)
	s := newBridgeWith(t, d.backend(time.Second), "configs/mappings/entra-to-openldap.yaml", bridgeOptions{state: block})
	id := s.must(201, "POST", "/Users", newUser("dis-2", "dis2@contoso.com", "Dis", "Two")).body["id"].(string)
	srv.stop(t)
	for i, body := range []map[string]any{disable, enable, disable} {
		a := s.do("PATCH", "/Users/"+url.PathEscape(id), body)
		require.Equal(t, 503, a.status, "step %d: %s", i+1, a.raw)
		require.NotEmpty(t, a.header.Get("Retry-After"))
	}
	st, err := q.Stats(t.Context(), "default")
	require.NoError(t, err)
	require.Equal(t, 3, st.Depth(), "three writes queued: the third is not a repeat of the first")
	srv.start(t)
	waitDrained(t, q, 30*time.Second)
	want := newUserAttrs("dis2@contoso.com", "Dis", "Two")
	want["scimActive"], want["entryUUID"], want["dn"] = "FALSE", id, d.userDN("dis2@contoso.com")
	require.Empty(t, cmp.Diff(map[string]dirUser{"dis-2": want}, d.users(t)), "directory (-want +got)")
}
