package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/cards"
	"github.com/scimbridge/scimbridge/bridge/httpapi"
)

// The badge-card import against every store it writes to: the Pharos store
// on SQLite and PostgreSQL, and OpenLDAP (scimBadgeCard), each with
// deprovisioned users kept so that every rejection reason can occur. Users
// are provisioned through the bridge's SCIM API, as Entra provisions them.

// cardStore is one store under test: the whole bridge on it.
type cardStore struct {
	*stack
	audit *lockedBuffer
}

// forEachCardStore runs f on each store, with the shipped mapping for it
// changed only to keep deleted users.
func forEachCardStore(t *testing.T, f func(t *testing.T, s *cardStore)) {
	for i, mk := range targets(t) {
		t.Run([]string{"pharos-sqlite", "pharos-postgres"}[i], func(t *testing.T) {
			tgt := mk(t)
			mp := variantMapping(t, "configs/mappings/entra-to-pharos.yaml", keepDeleted("deprovisioned", "1")...)
			f(t, &cardStore{stack: newBridge(t, `{ type: pharos, config: { driver: `+tgt.driver+`, dsn: '`+tgt.dsn+`', init: true } }`, mp), audit: &lockedBuffer{}})
		})
	}
	t.Run("openldap", func(t *testing.T) {
		mp := variantMapping(t, "configs/mappings/entra-to-openldap.yaml", keepDeleted("scimDeprovisioned", "TRUE")...)
		f(t, &cardStore{stack: newDirectoryStack(t, "SCIMBRIDGE_LDAP", "slapd", mp).stack, audit: &lockedBuffer{}})
	})
}

// target is what cards.Import writes through: the running tenant's own
// backend and mapping, with the audit log captured.
func (s *cardStore) target() cards.Target {
	svc := s.app.services[0]
	return cards.Target{Tenant: "default", Backend: svc.Backend(), Mapping: svc.Mapping(),
		Audit: hclog.New(&hclog.LoggerOptions{Output: s.audit, JSONFormat: true}).Named("audit")}
}

// user provisions a user through SCIM and returns its id.
func (s *cardStore) user(t *testing.T, userName, employeeNumber string) string {
	t.Helper()
	u := fixture(t, "create-user")
	u["externalId"], u["userName"] = uuid.NewString(), userName
	u["emails"] = []any{map[string]any{"type": "work", "primary": true, "value": "mail-" + userName}}
	u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = map[string]any{"employeeNumber": employeeNumber}
	return s.must(201, "POST", "/Users", u).body["id"].(string)
}

// cards reads a user's cards from the store, sorted.
func (s *cardStore) cards(t *testing.T, id string) []string {
	t.Helper()
	svc := s.app.services[0]
	attr, ok := svc.Mapping().CardsTarget()
	require.True(t, ok)
	rec, err := svc.Backend().Get(context.Background(), backends.User, id, backends.Read{})
	require.NoError(t, err)
	out := slices.Clone(rec.Attrs[attr])
	slices.Sort(out)
	return out
}

// give writes a card the way another writer would (not the import).
func (s *cardStore) give(t *testing.T, id, card string) {
	t.Helper()
	svc := s.app.services[0]
	attr, _ := svc.Mapping().CardsTarget()
	require.NoError(t, svc.Backend().Modify(context.Background(), backends.Record{Kind: backends.User, ID: id}, []backends.Change{{Op: backends.Add, Attr: attr, Values: []string{card}}}))
}

// run imports csv and collects the rejections.
func (s *cardStore) run(t *testing.T, csv string, o cards.Options) (cards.Result, []cards.Rejection) {
	t.Helper()
	var rej []cards.Rejection
	o.OnReject = func(r cards.Rejection) { rej = append(rej, r) }
	res, err := cards.Import(context.Background(), s.target(), strings.NewReader(csv), o)
	require.NoError(t, err)
	return res, rej
}

func reasons(rej []cards.Rejection) map[int]cards.Reason {
	out := map[int]cards.Reason{}
	for _, r := range rej {
		out[r.Line] = r.Reason
	}
	return out
}

func TestCardsImportEveryReason(t *testing.T) {
	forEachCardStore(t, func(t *testing.T, s *cardStore) {
		tag := uuid.NewString()[:8]
		ana := s.user(t, "ana-"+tag+"@example.org", "100-"+tag)
		bob := s.user(t, "bob-"+tag+"@example.org", "200-"+tag)
		carl := s.user(t, "carl-"+tag+"@example.org", "200-"+tag) // the same employeeNumber as bob
		dave := s.user(t, "dave-"+tag+"@example.org", "300-"+tag)
		eve := s.user(t, "eve-"+tag+"@example.org", "400-"+tag)
		s.must(204, "DELETE", "/Users/"+dave, nil) // kept, marked: deprovisioned
		s.give(t, bob, "HELD-"+tag)                // a card bob got elsewhere

		// A spreadsheet's export: BOM, semicolons, CRLF, a quoted field.
		file := "\uFEFFEmployee No;Badge;Site\r\n" +
			"100-" + tag + ";AB-" + tag + ";HQ\r\n" + // 2 added
			"100-" + tag + ";ab-" + tag + ";HQ\r\n" + // 3 unchanged: the same card, folded
			"200-" + tag + ";X-" + tag + ";HQ\r\n" + // 4 two users
			"999-" + tag + ";Y-" + tag + ";HQ\r\n" + // 5 no such user
			"300-" + tag + ";D-" + tag + ";HQ\r\n" + // 6 deprovisioned
			"400-" + tag + ";ab-" + tag + ";HQ\r\n" + // 7 ana's card, same batch
			"400-" + tag + ";held-" + tag + ";HQ\r\n" + // 8 bob's card, the store's
			"400-" + tag + ";;HQ\r\n" + // 9 no card
			"400-" + tag + "\r\n" + // 10 short row
			"\"400-" + tag + "\";\"E 1-" + tag + "\";\"H;Q\"\r\n" // 11 added
		o := cards.Options{Key: cards.KeyEmployeeNumber, UserColumn: "employee no", CardColumn: "BADGE", BatchSize: 4}
		res, rej := s.run(t, file, o)
		require.Equal(t, map[int]cards.Reason{
			4: cards.TwoUsers, 5: cards.NoSuchUser, 6: cards.Deprovisioned, 7: cards.CardTaken,
			8: cards.CardTaken, 9: cards.BadRow, 10: cards.BadRow,
		}, reasons(rej), "%+v", rej)
		require.Equal(t, 10, res.Rows)
		require.Equal(t, 2, res.Added)
		require.Equal(t, 1, res.Unchanged)
		require.Equal(t, 7, res.RejectedRows())
		require.Equal(t, []string{"AB-" + tag}, s.cards(t, ana))
		require.Equal(t, []string{"E 1-" + tag}, s.cards(t, eve))
		require.Equal(t, []string{"HELD-" + tag}, s.cards(t, bob))
		require.Empty(t, s.cards(t, carl))
		for _, r := range rej {
			if r.Line == 8 {
				require.Contains(t, r.Detail, bob, "the holder is named")
			}
		}
		// Two cards added: two audit records, the card masked.
		require.Equal(t, 2, strings.Count(s.audit.String(), `"op":"card-add"`), s.audit.String())
		require.NotContains(t, s.audit.String(), "AB-"+tag)

		// The same file again changes nothing, and says so.
		res, rej = s.run(t, file, o)
		require.Equal(t, 0, res.Added)
		require.Equal(t, 3, res.Unchanged)
		require.Len(t, rej, 7)
		require.Contains(t, res.Summary(), "Nothing changed")
		require.Equal(t, 2, strings.Count(s.audit.String(), `"op":"card-add"`))
	})
}

func TestCardsImportKeysDryRunReplace(t *testing.T) {
	forEachCardStore(t, func(t *testing.T, s *cardStore) {
		tag := uuid.NewString()[:8]
		ana := s.user(t, "ana-"+tag+"@example.org", "1-"+tag)
		bob := s.user(t, "bob-"+tag+"@example.org", "2-"+tag)
		s.give(t, ana, "OLD-"+tag)

		// Dry run: decided, nothing written.
		file := "userName,card\nANA-" + tag + "@example.org,N1-" + tag + "\nbob-" + tag + "@example.org,OLD-" + tag + "\n"
		res, rej := s.run(t, file, cards.Options{DryRun: true})
		require.Equal(t, 1, res.Added, "%+v", rej)
		require.Equal(t, map[int]cards.Reason{3: cards.CardTaken}, reasons(rej))
		require.Contains(t, res.Summary(), "would be added")
		require.Equal(t, []string{"OLD-" + tag}, s.cards(t, ana))
		require.Empty(t, s.cards(t, bob))
		require.Empty(t, s.audit.String())

		// Keyed by externalId and by the work email.
		ext := s.must(200, "GET", "/Users/"+bob, nil).body["externalId"].(string)
		res, _ = s.run(t, "externalId,card\n"+strings.ToUpper(ext)+",B1-"+tag+"\n", cards.Options{Key: cards.KeyExternalID})
		require.Equal(t, 1, res.Added)
		res, _ = s.run(t, "mail;card\nmail-bob-"+tag+"@example.org;B2-"+tag+"\n", cards.Options{Key: cards.KeyEmail, UserColumn: "mail"})
		require.Equal(t, 1, res.Added)
		require.Equal(t, []string{"B1-" + tag, "B2-" + tag}, s.cards(t, bob))

		// Replace: ana ends with exactly the file's cards.
		file = "userName,card\nana-" + tag + "@example.org,N1-" + tag + "\nana-" + tag + "@example.org,N2-" + tag + "\n"
		res, _ = s.run(t, file, cards.Options{Replace: true, DryRun: true})
		require.Equal(t, 2, res.Added)
		require.Equal(t, 1, res.Removed)
		require.Equal(t, []string{"OLD-" + tag}, s.cards(t, ana))
		res, _ = s.run(t, file, cards.Options{Replace: true, BatchSize: 1})
		require.Equal(t, 2, res.Added)
		require.Equal(t, 1, res.Removed)
		require.Equal(t, []string{"N1-" + tag, "N2-" + tag}, s.cards(t, ana))
		require.Equal(t, 1, strings.Count(s.audit.String(), `"op":"card-remove"`))
		res, _ = s.run(t, file, cards.Options{Replace: true})
		require.Equal(t, 0, res.Added+res.Removed)
		require.Equal(t, 2, res.Unchanged)
		require.Equal(t, []string{"B1-" + tag, "B2-" + tag}, s.cards(t, bob), "users the file does not name keep theirs")
	})
}

func TestCardsImportInterruptedAndResumed(t *testing.T) {
	forEachCardStore(t, func(t *testing.T, s *cardStore) {
		tag := uuid.NewString()[:8]
		const n = 60
		var file strings.Builder
		file.WriteString("userName,card\n")
		ids := make([]string, n)
		for i := range n {
			name := fmt.Sprintf("u%02d-%s@example.org", i, tag)
			ids[i] = s.user(t, name, fmt.Sprint(i))
			fmt.Fprintf(&file, "%s,C%02d-%s\n", name, i, tag)
		}
		ctx, cancel := context.WithCancel(context.Background())
		batches := 0
		o := cards.Options{BatchSize: 10, OnProgress: func(cards.Progress) {
			if batches++; batches == 3 {
				cancel() // Ctrl-C mid-stream, after the third batch
			}
		}}
		res, err := cards.Import(ctx, s.target(), strings.NewReader(file.String()), o)
		require.ErrorIs(t, err, context.Canceled)
		require.True(t, res.Stopped)
		require.Equal(t, 30, res.Added)
		require.Equal(t, 32, res.ResumeAt, "rows are lines 2..61: the fourth batch starts at line 32")
		require.Contains(t, res.Summary(), "--resume-at 32")
		for i, id := range ids {
			if i < 30 {
				require.Len(t, s.cards(t, id), 1, "batch of row %d committed", i)
			} else {
				require.Empty(t, s.cards(t, id), "row %d after the interruption", i)
			}
		}
		res, rej := s.run(t, file.String(), cards.Options{ResumeAt: res.ResumeAt, BatchSize: 10})
		require.Empty(t, rej)
		require.Equal(t, 30, res.Skipped)
		require.Equal(t, 30, res.Added)
		for i, id := range ids {
			require.Equal(t, []string{fmt.Sprintf("C%02d-%s", i, tag)}, s.cards(t, id))
		}
	})
}

// TestCardsSurviveEntraCycle imports cards, then runs what an Entra
// provisioning cycle sends for the user (PATCHes of its attributes,
// disable and enable, GETs): the cards stay.
func TestCardsSurviveEntraCycle(t *testing.T) {
	forEachCardStore(t, func(t *testing.T, s *cardStore) {
		tag := uuid.NewString()[:8]
		id := s.user(t, "cyc-"+tag+"@example.org", "9")
		res, _ := s.run(t, "userName,card\ncyc-"+tag+"@example.org,K1-"+tag+"\ncyc-"+tag+"@example.org,K2-"+tag+"\n", cards.Options{})
		require.Equal(t, 2, res.Added)
		want := []string{"K1-" + tag, "K2-" + tag}
		for _, name := range []string{"patch-user-multi", "patch-replace-multiple", "patch-disable-user", "patch-enable-user-string",
			"patch-user-email-address-department", "patch-add-nickname", "patch-manager-remove-filter"} {
			body := fixture(t, name)
			a := s.do("PATCH", "/Users/"+id, body)
			require.Contains(t, []int{200, 204}, a.status, "%s: %s", name, a.raw)
			require.Equal(t, want, s.cards(t, id), "after %s", name)
		}
		// A SCIM PUT whose body has no Pharos extension object (Entra's,
		// which does not map badgeCards) keeps the cards (issue 13).
		cur := s.must(200, "GET", "/Users/"+id, nil).body
		delete(cur, "urn:ietf:params:scim:schemas:extension:pharos:2.0:User")
		cur["displayName"] = "Put " + tag
		s.must(200, "PUT", "/Users/"+id, cur)
		require.Equal(t, want, s.cards(t, id), "after PUT")
		s.must(200, "GET", "/Users?filter="+strings.ReplaceAll(fmt.Sprintf("userName eq %q", "cyc-"+tag+"@example.org"), " ", "%20"), nil)
		require.Equal(t, want, s.cards(t, id))
		res, _ = s.run(t, "userName,card\ncyc-"+tag+"@example.org,K1-"+tag+"\n", cards.Options{})
		require.Equal(t, 1, res.Unchanged)
	})
}

func TestCardsImportCLI(t *testing.T) {
	s := &cardStore{stack: newStack(t, targets(t)[0](t)), audit: &lockedBuffer{}}
	tag := uuid.NewString()[:8]
	id := s.user(t, "cli-"+tag+"@example.org", "7")
	dir := t.TempDir()
	file := filepath.Join(dir, "cards.csv")
	require.NoError(t, os.WriteFile(file, []byte("login;badge\ncli-"+tag+"@example.org;Z1\nnobody@example.org;Z2\n"), 0o600))
	report := filepath.Join(dir, "rejected.csv")
	args := []string{"cards", "import", "--config", s.cfgPath, "--tenant", "default", "--user-column", "login", "--card-column", "badge",
		"--progress", "lines", "--report", report, file}
	out, err := run(t, args...)
	require.Error(t, err, out)
	require.Equal(t, exitRejected, exitCode(err))
	require.Contains(t, out, "1 cards added")
	require.Contains(t, out, "1 rejected (1 no-such-user)")
	require.Contains(t, out, "cards import: line 3: 2 rows", "plain progress lines off a terminal")
	rep, err := os.ReadFile(report)
	require.NoError(t, err)
	require.Equal(t, "line,reason,user,card,detail\n3,no-such-user,nobody@example.org,Z2,\"no user has userName \"\"nobody@example.org\"\"\"\n", string(rep))
	require.Equal(t, []string{"Z1"}, s.cards(t, id))

	// Standard input, a dry run, the other separator given.
	cmd := newRootCmd()
	var buf bytes.Buffer
	cmd.SetOut(&buf)
	cmd.SetErr(&buf)
	cmd.SetIn(strings.NewReader("userName,card\ncli-" + tag + "@example.org,Z3\n"))
	cmd.SetArgs([]string{"cards", "import", "--config", s.cfgPath, "--tenant", "default", "--dry-run", "--delimiter", ",", "--progress", "none", "-"})
	require.NoError(t, cmd.ExecuteContext(context.Background()), buf.String())
	require.Contains(t, buf.String(), "1 cards would be added")
	require.Contains(t, buf.String(), "Dry run: nothing was written.")
	require.Equal(t, []string{"Z1"}, s.cards(t, id))

	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--delimiter", "|"}, `--delimiter "|" is not auto, , or ;`},
		{[]string{"--progress", "fancy"}, `--progress "fancy" is not auto, bar, lines or none`},
		{[]string{"--tenant", "nope"}, `no tenant "nope"`},
		{[]string{"--key", "employeeNumber", "--user-column", "login", "--card-column", "badge", "--report", filepath.Join(dir, "no", "such", "dir.csv")}, "create the report"},
	} {
		out, err := run(t, append(append([]string{"cards", "import", "--config", s.cfgPath, "--tenant", "default"}, c.args...), file)...)
		require.ErrorContains(t, err, c.msg, out)
	}
	out, err = run(t, "cards", "import", "--config", s.cfgPath, "--tenant", "default", "--key", "nope", file)
	require.ErrorContains(t, err, `key "nope" is not one of userName, externalId, email, employeeNumber`, out)
	out, err = run(t, "cards", "import", "--config", s.cfgPath, "--tenant", "default", filepath.Join(dir, "missing.csv"))
	require.ErrorContains(t, err, "missing.csv", out)
	out, err = run(t, "cards", "import", "--config", s.cfgPath, "--tenant", "default", file)
	require.ErrorContains(t, err, `has no column "userName" (the user)`, out)
	require.ErrorContains(t, err, `"login", "badge"`)
}

// TestCardsImportNoCardAttribute: a tenant whose mapping stores no cards
// is told so before anything is read.
func TestCardsImportNoCardAttribute(t *testing.T) {
	mp := variantMapping(t, "configs/mappings/entra-to-pharos.yaml",
		"    - scim: urn:ietf:params:scim:schemas:extension:pharos:2.0:User:badgeCards\n      target: cards\n      multiValued: true\n", "",
		"    multiValued:\n      cards: {table: cards, key: user_id, value: card_number}\n", "")
	s := newBridge(t, `{ type: pharos, config: { driver: sqlite, dsn: '`+filepath.Join(t.TempDir(), "p.db")+`', init: true } }`, mp)
	out, err := run(t, "cards", "import", "--config", s.cfgPath, "--tenant", "default", "-")
	require.ErrorIs(t, err, cards.ErrNoCardAttribute, out)
	require.ErrorContains(t, err, "tenant default's mapping maps no badgeCards attribute")

	// A key the mapping does not store.
	mp = variantMapping(t, "configs/mappings/entra-to-pharos.yaml",
		"    - scim: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber\n      target: employee_number\n", "")
	s = newBridge(t, `{ type: pharos, config: { driver: sqlite, dsn: '`+filepath.Join(t.TempDir(), "p.db")+`', init: true } }`, mp)
	out, err = run(t, "cards", "import", "--config", s.cfgPath, "--tenant", "default", "--key", "employeeNumber", "-")
	require.ErrorIs(t, err, cards.ErrNoKey, out)
	require.ErrorContains(t, err, "does not store employeeNumber")
}

// TestCardsImportAdminAPI runs the import through POST /admin/cards/import
// on the running bridge, and every refusal of the endpoint.
func TestCardsImportAdminAPI(t *testing.T) {
	s := &cardStore{stack: newStack(t, targets(t)[0](t)), audit: &lockedBuffer{}}
	tag := uuid.NewString()[:8]
	id := s.user(t, "api-"+tag+"@example.org", "5")
	admin, _, err := s.app.tokens.Generate(context.Background(), adminTenant)
	require.NoError(t, err)
	post := func(query, body, token string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, s.srv.URL+"/admin/cards/import"+query, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "text/csv")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := s.srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, out
	}
	file := "\uFEFFuserName;card\napi-" + tag + "@example.org;W1\nnobody@example.org;W2\n"
	code, out := post("?tenant=default&dry_run=true", file, admin)
	require.Equal(t, 200, code, "%v", out)
	require.Equal(t, true, out["dry_run"])
	require.EqualValues(t, 1, out["added"])
	require.Empty(t, s.cards(t, id))
	code, out = post("?tenant=default", file, admin)
	require.Equal(t, 200, code, "%v", out)
	require.EqualValues(t, 1, out["added"])
	require.EqualValues(t, map[string]any{"no-such-user": float64(1)}, out["rejected"])
	rej := out["rejections"].([]any)
	require.Len(t, rej, 1)
	require.EqualValues(t, 3, rej[0].(map[string]any)["line"])
	require.Equal(t, []string{"W1"}, s.cards(t, id))
	code, out = post("?tenant=default", file, admin)
	require.Equal(t, 200, code)
	require.EqualValues(t, 0, out["added"])
	require.EqualValues(t, 1, out["unchanged"])

	for _, c := range []struct {
		name, query, body, token string
		status                   int
		msg                      string
	}{
		{"no token", "?tenant=default", file, "", 401, "admin bearer token"},
		{"a tenant's token", "?tenant=default", file, s.token, 401, "not a valid admin token"},
		{"no tenant", "", file, admin, 400, "name the tenant"},
		{"unknown tenant", "?tenant=nope", file, admin, 404, `no tenant "nope"`},
		{"unknown parameter", "?tenant=default&dryrun=1", file, admin, 400, `unknown parameter "dryrun"`},
		{"bad key", "?tenant=default&key=upn", file, admin, 400, `key "upn"`},
		{"bad flag", "?tenant=default&replace=maybe", file, admin, 400, `replace "maybe"`},
		{"no such column", "?tenant=default&card_column=badge", file, admin, 400, `no column "badge"`},
		{"empty file", "?tenant=default", "", admin, 400, "the file is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out := post(c.query, c.body, c.token)
			require.Equal(t, c.status, code, "%v", out)
			require.Contains(t, out["error"], c.msg)
		})
	}
	t.Run("too large", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.srv.URL, "http://"))
		require.NoError(t, err)
		defer conn.Close()
		fmt.Fprintf(conn, "POST /admin/cards/import?tenant=default HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", admin, httpapi.MaxCardsUpload+1)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, 413, resp.StatusCode)
	})
}

// seedUsers inserts n users straight into the Pharos tables (as a legacy
// import would have) and returns their logins, in order.
func seedUsers(t testing.TB, s *stack, n int, tag string) []string {
	t.Helper()
	tx, err := s.db.Begin()
	require.NoError(t, err)
	logins := make([]string, n)
	for i := range n {
		logins[i] = fmt.Sprintf("seed%06d-%s@example.org", i, tag)
		_, err := tx.Exec(s.rebind("INSERT INTO users (id, login, external_id, email, active) VALUES (?, ?, ?, ?, 1)"),
			uuid.NewString(), logins[i], uuid.NewString(), logins[i])
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
	return logins
}

// TestCardsImportSignalResume interrupts the built command with SIGINT in
// the middle of a file, as Ctrl-C does, and resumes it where it says.
func TestCardsImportSignalResume(t *testing.T) {
	bin := buildBinary(t)
	for i, mk := range targets(t) {
		t.Run([]string{"sqlite", "postgres"}[i], func(t *testing.T) {
			s := newStack(t, mk(t))
			tag := uuid.NewString()[:8]
			const n = 4000
			logins := seedUsers(t, s, n, tag)
			var file strings.Builder
			file.WriteString("userName,card\n")
			for i, l := range logins {
				fmt.Fprintf(&file, "%s,S%06d-%s\n", l, i, tag)
			}
			path := filepath.Join(t.TempDir(), "cards.csv")
			require.NoError(t, os.WriteFile(path, []byte(file.String()), 0o600))
			cardsNow := func() int { return s.count("SELECT COUNT(*) FROM cards WHERE card_number LIKE ?", "%-"+tag) }

			var out lockedBuffer
			cmd := exec.Command(bin, "cards", "import", "--config", s.cfgPath, "--tenant", "default", "--batch", "20", "--progress", "none", path)
			cmd.Stdout, cmd.Stderr = &out, &out
			require.NoError(t, cmd.Start())
			deadline := time.Now().Add(30 * time.Second)
			for cardsNow() == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
			err := cmd.Wait()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, out.String())
			require.Equal(t, exitInterrupted, ee.ExitCode(), out.String())
			m := regexp.MustCompile(`resume with --resume-at (\d+)`).FindStringSubmatch(out.String())
			require.NotNil(t, m, out.String())
			resume, _ := strconv.Atoi(m[1])
			committed := cardsNow()
			require.Greater(t, committed, 0)
			require.Less(t, committed, n, "interrupted before the end: %s", out.String())
			require.Equal(t, resume-2, committed, "every row before the resume line is in, none after")
			require.Zero(t, committed%20, "whole batches only")

			res, err := run(t, "cards", "import", "--config", s.cfgPath, "--tenant", "default", "--progress", "none", "--resume-at", m[1], path)
			require.NoError(t, err, res)
			require.Contains(t, res, fmt.Sprintf("%d rows read (%d before the resume line skipped): %d cards added, 0 unchanged", n-committed, committed, n-committed))
			require.Equal(t, n, cardsNow())
		})
	}
}

// TestCardsImportLDAPEntryFromBeforeTheBridge: an entry no SCIM client
// wrote (no auxiliary class yet) gets its card; the backend adds the
// class that allows scimBadgeCard.
func TestCardsImportLDAPEntryFromBeforeTheBridge(t *testing.T) {
	s := newLDAPStack(t)
	cs := &cardStore{stack: s.stack, audit: &lockedBuffer{}}
	dn := "uid=legacy,ou=people," + s.base
	add := goldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("cn", []string{"Legacy"})
	add.Attribute("sn", []string{"Legacy"})
	add.Attribute("uid", []string{"legacy"})
	require.NoError(t, s.conn.Add(add))
	res, rej := cs.run(t, "userName,card\nLEGACY,L-1\n", cards.Options{})
	require.Empty(t, rej)
	require.Equal(t, 1, res.Added)
	e := s.entry("uid", "legacy")
	require.Equal(t, []string{"L-1"}, e.GetAttributeValues("scimBadgeCard"))
	require.Contains(t, e.GetAttributeValues("objectClass"), "scimBridgeUser")
}

// failingBatches is the tenant's real store, whose batches fail as
// unavailable from the nth on (a database that went away mid-import).
type failingBatches struct {
	backends.Backend
	batcher backends.BatchModifier
	n, seen int
}

func (f *failingBatches) ModifyBatch(ctx context.Context, kind backends.Kind, batch []backends.RecordChanges, dryRun bool) ([]error, error) {
	if f.seen++; f.seen >= f.n {
		return nil, fmt.Errorf("pharos: modify batch: %w: connection refused", backends.ErrUnavailable)
	}
	return f.batcher.ModifyBatch(ctx, kind, batch, dryRun)
}

// TestCardsImportStoreFails: a store that fails mid-file stops the import
// with every earlier batch kept and the line to resume at, like Ctrl-C.
func TestCardsImportStoreFails(t *testing.T) {
	s := &cardStore{stack: newStack(t, targets(t)[0](t)), audit: &lockedBuffer{}}
	tag := uuid.NewString()[:8]
	logins := seedUsers(t, s.stack, 30, tag)
	var file strings.Builder
	file.WriteString("userName,card\n")
	for i, l := range logins {
		fmt.Fprintf(&file, "%s,F%02d-%s\n", l, i, tag)
	}
	target := s.target()
	target.Backend = &failingBatches{Backend: target.Backend, batcher: target.Backend.(backends.BatchModifier), n: 3}
	res, err := cards.Import(context.Background(), target, strings.NewReader(file.String()), cards.Options{BatchSize: 10})
	require.ErrorIs(t, err, backends.ErrUnavailable)
	require.True(t, res.Stopped)
	require.Equal(t, 22, res.ResumeAt)
	require.Equal(t, 20, res.Added)
	require.Contains(t, res.Summary(), "Stopped early (cards: write the batch from line 22: pharos: modify batch: target unavailable: connection refused)")
	require.Equal(t, 20, s.count("SELECT COUNT(*) FROM cards WHERE card_number LIKE ?", "%-"+tag))

	res, err = cards.Import(context.Background(), s.target(), strings.NewReader(file.String()), cards.Options{ResumeAt: res.ResumeAt})
	require.NoError(t, err)
	require.Equal(t, 10, res.Added)
	require.Equal(t, 30, s.count("SELECT COUNT(*) FROM cards WHERE card_number LIKE ?", "%-"+tag))

	// A file that breaks off (a line no card file has) after a batch.
	broken := "userName,card\n" + strings.Repeat(logins[0]+",G-"+tag+"\n", 12) + strings.Repeat("x", 70_000) + "\n"
	res, err = cards.Import(context.Background(), s.target(), strings.NewReader(broken), cards.Options{BatchSize: 10})
	require.ErrorIs(t, err, cards.ErrFile)
	require.True(t, res.Stopped)
	require.Equal(t, 12, res.ResumeAt, "the batch in hand (lines 12, 13) was not written")
	require.Equal(t, 1, res.Added)
	require.Equal(t, 9, res.Unchanged)
}
