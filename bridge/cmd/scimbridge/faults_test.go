package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// streamUsers creates the users and the group a stream works on: per
// client perClient users, and one group "stream". It returns the users'
// ids by externalId, the group's path, and the directory's expected end
// state once every client's plan (streamPlan) is applied: the users
// renamed and disabled, all of them members of the group.
func streamUsers(t *testing.T, s *stack, d *directory, clients, perClient int) (ids map[string]string, group string, want map[string]dirUser, memberDNs []string) {
	t.Helper()
	ids, want = map[string]string{}, map[string]dirUser{}
	for c := range clients {
		for i := range perClient {
			ext := fmt.Sprintf("pre-%d-%d", c, i)
			upn := ext + "@contoso.com"
			ids[ext] = s.must(201, "POST", "/Users", newUser(ext, upn, "Pre", ext)).body["id"].(string)
			want[ext] = newUserAttrs(upn, "Pre", ext)
			want[ext]["title"], want[ext]["displayName"], want[ext]["cn"], want[ext]["scimActive"] = "T2-"+ext, "D-"+ext, "D-"+ext, "FALSE"
			want[ext]["entryUUID"], want[ext]["dn"] = ids[ext], d.userDN(upn)
			memberDNs = append(memberDNs, d.userDN(upn))
		}
	}
	group = "/Groups/" + url.PathEscape(s.must(201, "POST", "/Groups", newGroup("grp-stream", "stream")).body["id"].(string))
	return ids, group, want, memberDNs
}

// write is one request of a client's stream.
type write struct {
	what, method, path string
	body               any
}

// streamPlan is what client c sends, in order: for each of its users a
// title change, a disable, an enable, a rename that disables again, and
// the user's addition to the group; then the creates of new users, each
// sent twice (Entra repeating a request that failed).
func streamPlan(t *testing.T, c, perClient int, ids map[string]string, group string) []write {
	disable, enable := fixture(t, "patch-disable-user"), fixture(t, "patch-enable-user-string")
	var out []write
	for i := range perClient {
		ext := fmt.Sprintf("pre-%d-%d", c, i)
		user := "/Users/" + url.PathEscape(ids[ext])
		out = append(out,
			write{ext + " title", "PATCH", user, replace("title", "T1-"+ext)},
			write{ext + " disable", "PATCH", user, disable},
			write{ext + " enable", "PATCH", user, enable},
			write{ext + " rename and disable", "PATCH", user, replace("displayName", "D-"+ext, "title", "T2-"+ext, "active", "False")},
			write{ext + " member add", "PATCH", group, addMembers(ids[ext])})
	}
	for i := range perClient {
		ext := fmt.Sprintf("new-%d-%d", c, i)
		body := newUser(ext, ext+"@contoso.com", "New", ext)
		out = append(out, write{ext + " create", "POST", "/Users", body}, write{ext + " create again", "POST", "/Users", body})
	}
	return out
}

// newUsersDone plays Entra's next repeat of each stream create, which must
// find it done (201, the entry's id), and adds the users to want.
func newUsersDone(t *testing.T, s *stack, d *directory, clients, perClient int, want map[string]dirUser) {
	t.Helper()
	for c := range clients {
		for i := range perClient {
			ext := fmt.Sprintf("new-%d-%d", c, i)
			upn := ext + "@contoso.com"
			want[ext] = newUserAttrs(upn, "New", ext)
			want[ext]["entryUUID"] = s.must(201, "POST", "/Users", newUser(ext, upn, "New", ext)).body["id"].(string)
			want[ext]["dn"] = d.userDN(upn)
		}
	}
}

// The directory goes away for a while under a stream of Entra's writes from
// a few concurrent clients (creates, PATCHes with disable and enable, group
// member adds): every write is answered 503 with Retry-After within the
// request deadline and kept in the retry queue, once (Entra's repeat of a
// queued request is not queued again). When the directory is back the queue
// drains by itself, in order per resource, and the directory holds exactly
// what the writes say: nothing lost, nothing duplicated, nothing reordered.
func TestDirectoryStoppedUnderAStream(t *testing.T) {
	// Its servers are its own and it mostly waits for them: it runs beside
	// the other fault tests.
	t.Parallel()
	srv := ownSlapd(t)
	d := newDirectory(t, srv)
	s := newBridge(t, d.backend(time.Second), "configs/mappings/entra-to-openldap.yaml")
	const clients, perClient = 3, 2
	ids, group, want, memberDNs := streamUsers(t, s, d, clients, perClient)
	plans := make([][]write, clients)
	for c := range clients {
		plans[c] = streamPlan(t, c, perClient, ids, group)
	}

	srv.stop(t)
	outage := time.Now()
	results := make([][]sent, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, w := range plans[c] {
				results[c] = append(results[c], s.send(w.what, w.method, w.path, w.body))
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	for _, rs := range results {
		for _, r := range rs {
			require.NoError(t, r.err, r.what)
			require.Equal(t, 503, r.status, "%s: %s", r.what, r.rawBody)
			require.NotEmpty(t, r.retry, "%s: Retry-After", r.what)
			require.Less(t, r.took, 20*time.Second, "%s answered within the request deadline", r.what)
		}
	}
	st, err := s.app.state.Stats(t.Context(), "default")
	require.NoError(t, err)
	require.Equal(t, clients*perClient*6, st.Depth(), "every write queued once, repeats not again: %+v", st)

	// Down for a while: the worker keeps failing without burying anything.
	time.Sleep(time.Until(outage.Add(3 * time.Second)))
	srv.start(t)
	waitDrained(t, s.app.state, 60*time.Second)

	newUsersDone(t, s, d, clients, perClient, want)
	require.Empty(t, cmp.Diff(want, d.users(t)), "directory (-want +got)")
	require.Empty(t, cmp.Diff(sortedStrings(memberDNs), d.members(t, "stream")), "group members (-want +got)")
}

// Redis, the state store, is killed (SIGKILL) under a stream of creates and
// PATCHes and comes back later on its AOF. Meanwhile the bridge keeps
// serving Entra: the Test Connection probe answers 200, every write is
// applied, and Entra's repeats of creates find the entries by their natural
// keys (one entry each, same id); a write that would need the queue (the
// directory down too) answers 503. When Redis is back the bridge uses it
// again by itself: a write to a directory that is down is queued, and
// applied once the directory returns.
func TestRedisKilledUnderAStream(t *testing.T) {
	// Its servers are its own and it mostly waits for them: it runs beside
	// the other fault tests.
	t.Parallel()
	rds := ownRedis(t)
	srv := ownSlapd(t)
	d := newDirectory(t, srv)
	block, q := rds.stateBlock(t)
	s := newBridgeWith(t, d.backend(time.Second), "configs/mappings/entra-to-openldap.yaml", bridgeOptions{state: block})
	probe := "/Users" + filterQ(`userName eq "`+probeGUID+`"`)
	s.must(200, "GET", probe, nil)

	// The stream: each client creates users and PATCHes each one; a prober
	// plays Entra's Test Connection. It runs until stop is closed.
	const clients = 3
	stop := make(chan struct{})
	type created struct{ ext, id string }
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results []sent
		made    []created
	)
	// The stream stops by itself even when the test fails half-way.
	stopStream := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopStream)
	record := func(r sent) {
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
	}
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				ext := fmt.Sprintf("r-%d-%d", c, i)
				r := s.send(ext+" create", "POST", "/Users", newUser(ext, ext+"@contoso.com", "Red", ext))
				record(r)
				if r.status != 201 {
					continue
				}
				mu.Lock()
				made = append(made, created{ext, r.id})
				mu.Unlock()
				record(s.send(ext+" title", "PATCH", "/Users/"+url.PathEscape(r.id), replace("title", "T-"+ext)))
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			record(s.send("probe", "GET", probe, nil))
		}
	}()
	time.Sleep(500 * time.Millisecond)
	rds.kill(t)
	// Longer than the bridge caches token hashes (5 s): Entra's token is
	// then checked against the last hashes it read.
	time.Sleep(6 * time.Second)
	stopStream()

	_, err := q.Stats(t.Context(), "default")
	require.Error(t, err, "redis is down")
	probes := 0
	for _, r := range results {
		require.NoError(t, r.err, r.what)
		switch r.what {
		case "probe":
			probes++
			require.Equal(t, 200, r.status, "the probe: %s", r.rawBody)
		default:
			want := 200
			if strings.HasSuffix(r.what, "create") {
				want = 201
			}
			require.Equal(t, want, r.status, "%s: %s", r.what, r.rawBody)
		}
	}
	require.Greater(t, probes, 10)
	require.Greater(t, len(made), 2*clients)

	// Entra repeats creates whose answers it lost, two at once: without
	// the fast path, the directory's natural keys still find them.
	want := map[string]dirUser{}
	repeats := make([]sent, 2*len(made))
	for i, m := range made {
		upn := m.ext + "@contoso.com"
		want[m.ext] = newUserAttrs(upn, "Red", m.ext)
		want[m.ext]["title"], want[m.ext]["entryUUID"], want[m.ext]["dn"] = "T-"+m.ext, m.id, d.userDN(upn)
		for j := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				repeats[2*i+j] = s.send(m.ext+" repeat", "POST", "/Users", newUser(m.ext, upn, "Red", m.ext))
			}()
		}
		if i%16 == 15 {
			wg.Wait()
		}
	}
	wg.Wait()
	for i, r := range repeats {
		require.NoError(t, r.err, r.what)
		require.Equal(t, 201, r.status, "%s: %s", r.what, r.rawBody)
		require.Equal(t, made[i/2].id, r.id, r.what)
	}
	require.Empty(t, cmp.Diff(want, d.users(t)), "directory (-want +got)")

	// Redis and the directory both down: a write cannot be kept, so Entra
	// is told to retry (503), and its retry lands once the directory is back.
	first := made[0]
	srv.stop(t)
	a := s.do("PATCH", "/Users/"+url.PathEscape(first.id), replace("title", "lost-and-retried"))
	require.Equal(t, 503, a.status, a.raw)
	require.NotEmpty(t, a.header.Get("Retry-After"))
	srv.start(t)
	s.must(200, "PATCH", "/Users/"+url.PathEscape(first.id), replace("title", "lost-and-retried"))
	want[first.ext]["title"] = "lost-and-retried"

	// Redis returns: the bridge uses it again without a restart. A write
	// while the directory is down is queued there, and applied later.
	rds.restart(t)
	s.must(200, "GET", probe, nil)
	srv.stop(t)
	a = s.do("PATCH", "/Users/"+url.PathEscape(first.id), replace("title", "queued-after-redis-returned"))
	require.Equal(t, 503, a.status, a.raw)
	st, err := q.Stats(t.Context(), "default")
	require.NoError(t, err)
	require.Equal(t, 1, st.Depth(), "the write is in the queue again")
	srv.start(t)
	waitDrained(t, q, 30*time.Second)
	want[first.ext]["title"] = "queued-after-redis-returned"
	s.must(200, "GET", probe, nil)
	require.Empty(t, cmp.Diff(want, d.users(t)), "directory (-want +got)")
}

// The bridge process itself is killed (SIGKILL) in the middle of a stream,
// while the directory hangs (SIGSTOP) so that its worker holds queued jobs
// under lease. A new process on the same Redis takes those jobs again once
// their lease runs out and applies them, in order per resource; Entra's
// clients, whose answers died with the process, send their writes again
// (and keep repeating a 503, as Entra does) and find them done. The
// directory ends as the writes say.
func TestBridgeKilledMidStream(t *testing.T) {
	// Its servers are its own and it mostly waits for them: it runs beside
	// the other fault tests.
	t.Parallel()
	srv := ownSlapd(t)
	d := newDirectory(t, srv)
	block, q := sharedRedis(t).stateBlock(t)
	bin := buildBinary(t)
	listen := freeAddr(t)
	// A short request deadline keeps the lease (deadline + 30 s) short.
	cfg := serveConfig(t, listen, block, d.backend(500*time.Millisecond),
		"limits: { request_timeout: 5s, write_retries: 1 }\nqueue: { max_attempts: 500, base_delay: 50ms, max_delay: 500ms }")
	first := startServe(t, bin, cfg)
	s := processStack(t, listen, cfg)
	const clients, perClient = 3, 2
	ids, group, want, memberDNs := streamUsers(t, s, d, clients, perClient)
	plans := make([][]write, clients)
	for c := range clients {
		plans[c] = streamPlan(t, c, perClient, ids, group)
	}

	srv.signal(t, syscall.SIGSTOP)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		answered int
	)
	results := make([][]sent, clients)
	t.Cleanup(wg.Wait)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, w := range plans[c] {
				r := s.send(w.what, w.method, w.path, w.body)
				if r.err != nil {
					return // the answer died with the process: sent again below
				}
				results[c] = append(results[c], r)
				mu.Lock()
				answered++
				mu.Unlock()
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	var leased []state.Job
	require.Eventually(t, func() bool {
		mu.Lock()
		n := answered
		mu.Unlock()
		js, err := q.List(t.Context(), state.JobFilter{Tenant: "default", State: state.JobLeased}, 100)
		leased = js
		return err == nil && len(js) > 0 && n >= clients
	}, 30*time.Second, 20*time.Millisecond, "the worker holds a job while the clients are still sending")
	first.kill(t)
	killed := time.Now()
	wg.Wait()
	for _, rs := range results {
		for _, r := range rs {
			require.Equal(t, 503, r.status, "%s: %s", r.what, r.rawBody)
			require.NotEmpty(t, r.retry, "%s: Retry-After", r.what)
		}
	}
	require.Less(t, len(results[0])+len(results[1])+len(results[2]), 3*len(plans[0]), "killed mid-stream")

	srv.signal(t, syscall.SIGCONT)
	second := startServe(t, bin, cfg)
	// Every client sends what it had no answer for, and the rest of its
	// plan, each write until it is done.
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, w := range plans[c][len(results[c]):] {
				results[c] = append(results[c], s.untilDone(w.what, w.method, w.path, w.body, 2*time.Minute))
			}
		}()
	}
	wg.Wait()
	for _, rs := range results {
		for _, r := range rs[len(rs)-1:] {
			require.NoError(t, r.err, r.what)
		}
		for _, r := range rs {
			require.Contains(t, []int{200, 201, 204, 503}, r.status, "%s: %s", r.what, r.rawBody)
		}
	}
	waitDrained(t, q, 2*time.Minute)
	t.Logf("killed with %d jobs leased; the new process drained the queue %s after the kill", len(leased), time.Since(killed).Round(time.Second))

	// The jobs the dead process held were taken again and applied by the
	// new one.
	applied := map[string]bool{}
	for _, line := range strings.Split(second.log.String(), "\n") {
		var l struct {
			Message string `json:"@message"`
			Job     string `json:"job"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Message == "queued write applied" {
			applied[l.Job] = true
		}
	}
	for _, j := range leased {
		require.True(t, applied[j.ID], "job %s (%s %s), leased by the killed process, applied by the new one", j.ID, j.Op, j.Resource)
		_, err := q.Get(t.Context(), j.ID)
		require.ErrorIs(t, err, state.ErrNotFound)
	}

	newUsersDone(t, s, d, clients, perClient, want)
	require.Empty(t, cmp.Diff(want, d.users(t)), "directory (-want +got)")
	require.Empty(t, cmp.Diff(sortedStrings(memberDNs), d.members(t, "stream")), "group members (-want +got)")
}
