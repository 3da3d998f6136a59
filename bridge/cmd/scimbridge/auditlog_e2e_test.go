package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// auditLines reads the JSON lines of an audit file.
func auditLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "not a JSON line: %s", sc.Text())
		out = append(out, m)
	}
	require.NoError(t, sc.Err())
	return out
}

// log.audit sends the audit records to a file of their own, one JSON line
// per applied change with the request id the client saw, apart from the
// operational log; after logrotate moves the file, SIGHUP reopens it.
func TestAuditLogFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	listen := freeAddr(t)
	cfgPath := pharosConfig(t, listen, "")
	auditPath := filepath.Join(filepath.Dir(cfgPath), "audit.log")
	edit(t, cfgPath, "log: { level: info, format: json }", "log: { level: info, format: json, audit: "+auditPath+" }")
	p := startServe(t, buildBinary(t), cfgPath)
	s := processStack(t, listen, cfgPath)

	user := func(name string) map[string]any {
		return map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"externalId": "ext-" + name, "userName": name + "@example.org", "active": true,
			"emails": []map[string]any{{"primary": true, "type": "work", "value": name + "@example.org"}},
		}
	}
	created := s.must(201, "POST", "/Users", user("alice"))
	id := created.body["id"].(string)
	reqID := created.header.Get("X-Request-Id")
	require.NotEmpty(t, reqID)

	st, err := os.Stat(auditPath)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the records name people")
	lines := auditLines(t, auditPath)
	require.Len(t, lines, 1, "one record per applied change")
	rec := lines[0]
	require.Equal(t, "applied", rec["@message"])
	require.Equal(t, "scimbridge.audit", rec["@module"])
	require.Equal(t, "default", rec["tenant"])
	require.Equal(t, "create", rec["op"])
	require.Equal(t, id, rec["id"])
	require.NotContains(t, lines[0], "name", "values stay out of the logs")
	raw, err := os.ReadFile(auditPath)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "alice@example.org", "values stay out of the logs")
	require.Equal(t, reqID, rec["request_id"], "the request id the client saw")
	require.Contains(t, rec["attributes"], "login")
	require.NotContains(t, p.log.String(), `"@module":"scimbridge.audit"`, "not in the operational log too")

	// A rename of the file (logrotate), then SIGHUP: the next record goes
	// to a new file at the configured path.
	require.NoError(t, os.Rename(auditPath, auditPath+".1"))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { _, err := os.Stat(auditPath); return err == nil }, 10*time.Second, 20*time.Millisecond)
	s.must(200, "PATCH", "/Users/"+id, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []map[string]any{{"op": "Replace", "path": "active", "value": "False"}},
	})
	lines = auditLines(t, auditPath)
	require.Len(t, lines, 1)
	require.Equal(t, "modify", lines[0]["op"])
	require.Equal(t, id, lines[0]["id"])
	require.Len(t, auditLines(t, auditPath+".1"), 1, "the rotated file keeps what it had")
	require.False(t, strings.Contains(p.log.String(), "reload hook failed"), p.log.String())
}
