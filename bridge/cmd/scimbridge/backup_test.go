package main

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSQLiteStateBackupRestore follows docs/operations.md §2.1 for real: a
// live serve holds a Secret Token and a queued write (its LDAP target does
// not answer), the state file is backed up while it runs (VACUUM INTO, and
// the sqlite3 CLI's .backup where it is installed), then the bridge is
// stopped, the file replaced by the backup, and serve started on it: the
// token is still accepted and the queued write is still queued.
func TestSQLiteStateBackupRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	listen := freeAddr(t)
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.db")
	backend := fmt.Sprintf(`{ type: ldap, config: { url: 'ldap://%s', bindDN: 'cn=admin,dc=example,dc=org', password: x, baseDN: 'dc=example,dc=org', timeout: 1s } }`, closedPort(t))
	cfg := serveConfig(t, listen, fmt.Sprintf(`{ sqlite: { path: %s } }`, statePath), backend,
		"queue: { base_delay: 1h, max_delay: 1h }\nlimits: { write_retries: 0 }")
	p := startServe(t, bin, cfg)
	s := processStack(t, listen, cfg)
	r := s.send("create", http.MethodPost, "/Users", newUser("bk-1", "bk1@example.org", "Back", "Up"))
	require.NoError(t, r.err)
	require.Equal(t, http.StatusServiceUnavailable, r.status, "the directory is down: queued")
	queued := queueListOf(t, bin, cfg)
	require.Contains(t, queued, "key/", "the create is queued: %s", queued)

	// The backups, while serve runs (and holds the file open in WAL mode).
	backups := []string{filepath.Join(dir, "vacuum-into.db")}
	db, err := sql.Open("sqlite", statePath)
	require.NoError(t, err)
	_, err = db.Exec(`VACUUM INTO ?`, backups[0])
	require.NoError(t, err)
	require.NoError(t, db.Close())
	if cli, err := exec.LookPath("sqlite3"); err == nil {
		b := filepath.Join(dir, "dot-backup.db")
		out, err := exec.Command(cli, statePath, ".backup '"+b+"'").CombinedOutput()
		require.NoError(t, err, "%s", out)
		backups = append(backups, b)
	} else if os.Getenv("CI") == "true" {
		t.Fatal("sqlite3 is not installed, and CI must try the documented .backup: scripts/tools-install.sh installs Debian's sqlite3 package (make test runs it)")
	} else {
		t.Log("sqlite3 is not installed (scripts/tools-install.sh): only VACUUM INTO is tried")
	}

	p.kill(t)
	for _, b := range backups {
		t.Run(filepath.Base(b), func(t *testing.T) {
			// Restore: the old file and its -wal and -shm moved away, the
			// backup in its place.
			for _, suffix := range []string{"", "-wal", "-shm"} {
				if _, err := os.Stat(statePath + suffix); err == nil {
					require.NoError(t, os.Rename(statePath+suffix, filepath.Join(t.TempDir(), "old"+suffix)))
				}
			}
			copyFile(t, b, statePath)
			p := startServe(t, bin, cfg)
			defer p.kill(t)
			require.NotContains(t, p.log.String(), "New Secret Token", "the restored token is used, no new one made")
			require.Equal(t, queued, queueListOf(t, bin, cfg), "the queued write is back")
			// The token is still accepted: the answer is the target's 503,
			// not 401; a wrong token is 401.
			r := s.send("create again", http.MethodPost, "/Users", newUser("bk-1", "bk1@example.org", "Back", "Up"))
			require.NoError(t, r.err)
			require.Equal(t, http.StatusServiceUnavailable, r.status)
			bad := *s
			bad.token = "scimb_" + strings.Repeat("A", 43)
			r = bad.send("wrong token", http.MethodGet, "/Users", nil)
			require.NoError(t, r.err)
			require.Equal(t, http.StatusUnauthorized, r.status)
		})
	}
}

// queueListOf is `scimbridge queue list --json` of the configuration,
// without the jobs' ages, which change between two calls.
func queueListOf(t *testing.T, bin, cfg string) string {
	t.Helper()
	out, err := exec.Command(bin, "queue", "list", "--json", "--config", cfg).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return ageRE.ReplaceAllString(string(out), "")
}

var ageRE = regexp.MustCompile(`"age_seconds": [0-9.e+-]+,?`)

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	require.NoError(t, err)
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, err)
	require.NoError(t, out.Close())
}
