package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// storeRun is the run of every scenario against one bridge process with
// one state store, on one fresh directory subtree.
type storeRun struct {
	ctx   context.Context
	o     *Options
	store string
	dir   *directory
	br    *bridgeProc
	c     *scimClient
	body  *bodies
	probe *prober
	res   *StoreResult
	log   io.Writer

	seq, rawSeq atomic.Int64
	// stable users are read and patched, never deleted; disposable ones
	// (created by the throughput phase) are what the mix deletes when it
	// has not created enough itself.
	stable, disposable pool[user]
	raw                pool[rawUser]
	tmpl               *rawTemplate
	rawConns           []*goldap.Conn
}

type user struct{ id, tok string }

type rawUser struct{ dn, tok string }

// pool is a list shared by the workers of a phase.
type pool[T any] struct {
	mu    sync.Mutex
	items []T
}

func (p *pool[T]) add(v T) {
	p.mu.Lock()
	p.items = append(p.items, v)
	p.mu.Unlock()
}

func (p *pool[T]) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.items)
}

func (p *pool[T]) at(i int) T {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.items[i%len(p.items)]
}

func (p *pool[T]) random() T {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.items[rand.IntN(len(p.items))]
}

func (p *pool[T]) popFront() (T, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var zero T
	if len(p.items) == 0 {
		return zero, false
	}
	v := p.items[0]
	p.items = p.items[1:]
	return v, true
}

// partition picks the k-th user of worker w of n among l users, so that no
// two workers write to the same user (Entra does not either; a shared one
// would measure the per-resource lock, not the bridge).
func partition(w, n, k, l int) int {
	if l < n {
		return w % l
	}
	per := l / n
	return w*per + k%per
}

func (r *storeRun) nextTok() string    { return fmt.Sprintf("u%07d", r.seq.Add(1)) }
func (r *storeRun) nextRawTok() string { return fmt.Sprintf("r%07d", r.rawSeq.Add(1)) }

// createUser is one Entra-shaped POST /Users.
func (r *storeRun) createUser() (user, time.Duration, bool) {
	tok := r.nextTok()
	status, answer, d, err := r.c.timed(r.ctx, "POST", "/Users", r.body.createUser(tok))
	if !r.c.expect("POST /Users", status, answer, err, 201) {
		return user{}, d, false
	}
	id := resourceID(answer)
	if id == "" {
		r.c.fail("POST /Users answered 201 without an id", answer)
		return user{}, d, false
	}
	return user{id: id, tok: tok}, d, true
}

// rawAdd is the raw go-ldap Add of a user of the bridge's shape.
func (r *storeRun) rawAdd(conn *goldap.Conn) (rawUser, time.Duration, error) {
	tok := r.nextRawTok()
	add := r.tmpl.add(r.dir.rawPeople, tok)
	start := time.Now()
	err := conn.Add(add)
	d := time.Since(start)
	if err != nil {
		return rawUser{}, d, fmt.Errorf("raw Add %s: %w", add.DN, err)
	}
	return rawUser{dn: add.DN, tok: tok}, d, nil
}

// ensureTemplate reads back the first user the bridge creates and makes it
// the shape of every raw Add.
func (r *storeRun) ensureTemplate() error {
	if r.tmpl != nil {
		return nil
	}
	u, _, ok := r.createUser()
	if !ok {
		return fmt.Errorf("the first POST /Users failed; see above")
	}
	r.stable.add(u)
	e, err := r.dir.entry(r.dir.people, "uid", userName(u.tok))
	if err != nil {
		return fmt.Errorf("reading back the bridge's first user: %w", err)
	}
	r.tmpl = newRawTemplate(e, u.tok)
	r.res.RawAddShape = r.tmpl.describe()
	return nil
}

// ensurePools creates users until both the bridge's stable pool and the
// raw pool hold n (when earlier scenarios were skipped or small).
func (r *storeRun) ensurePools(n int) error {
	if err := r.ensureTemplate(); err != nil {
		return err
	}
	for r.stable.len() < n {
		u, _, ok := r.createUser()
		if !ok {
			return fmt.Errorf("POST /Users failed while filling the user pool; see above")
		}
		r.stable.add(u)
	}
	for r.raw.len() < n {
		ru, _, err := r.rawAdd(r.rawConns[0])
		if err != nil {
			return err
		}
		r.raw.add(ru)
	}
	return r.ctx.Err()
}

// phase runs one scenario step with the probe and the resource sampler
// attributing what they see to it.
func (r *storeRun) phase(name string, f func() error) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	if err := r.br.exited(); err != nil {
		return err
	}
	fmt.Fprintf(r.log, "bench: [%s] %s ...\n", r.store, name)
	r.probe.setPhase(name)
	r.br.res.begin(name)
	start := time.Now()
	err := f()
	pr := r.br.res.end()
	r.res.Resources = append(r.res.Resources, pr)
	fmt.Fprintf(r.log, "bench: [%s] %s done in %.1f s (bridge peak RSS %.1f MB, peak goroutines %d)\n",
		r.store, name, time.Since(start).Seconds(), pr.PeakRSSMB, pr.PeakGoroutines)
	if err == nil {
		err = r.ctx.Err()
	}
	if err == nil {
		err = r.br.exited()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// parallel runs f(0..n-1) on w workers.
func (r *storeRun) parallel(w, n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(w, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r.ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// --- initial cycle ---

// CycleResult is Entra's initial cycle: per user a GET by externalId, a
// GET by userName and a POST; then per group a GET by displayName and a
// POST; then the memberships, as member PATCHes.
type CycleResult struct {
	Users           int            `json:"users"`
	Groups          int            `json:"groups"`
	Memberships     int            `json:"memberships"`
	Workers         int            `json:"workers"`
	Requests        int64          `json:"requests"`
	Failed          int64          `json:"failed"`
	Seconds         float64        `json:"seconds"`
	RequestsPerSec  float64        `json:"requests_per_sec"`
	ByType          []NamedLatency `json:"by_type"`
	PeakRSSMB       float64        `json:"peak_rss_mb"`
	PeakGoroutines  int64          `json:"peak_goroutines"`
	RSSAt           []RSSPoint     `json:"rss_at"`
	StartRSSMB      float64        `json:"start_rss_mb"`
	MembersPerPatch int            `json:"members_per_patch"`
}

// RSSPoint is the bridge's memory when the cycle was Percent done.
type RSSPoint struct {
	Percent    int     `json:"percent"`
	Requests   int64   `json:"requests"`
	RSSMB      float64 `json:"rss_mb"`
	PeakMB     float64 `json:"peak_mb"`
	Goroutines int64   `json:"goroutines"`
}

const (
	cycleGetExt     = "GET /Users?filter=externalId eq"
	cycleGetUser    = "GET /Users?filter=userName eq"
	cyclePostUser   = "POST /Users"
	cycleGetGroup   = "GET /Groups?filter=displayName eq"
	cyclePostGroup  = "POST /Groups"
	cyclePatchGroup = "PATCH /Groups (add members)"
)

func (r *storeRun) cycle() error {
	n, w := r.o.Users, r.o.Workers
	groups := max(1, int(math.Ceil(float64(n)/float64(r.o.GroupSize))))
	per := r.o.MembersPerPatch
	// The planned requests, for the 25/50/75 % marks.
	patches := 0
	for g := range groups {
		m := n / groups
		if g < n%groups {
			m++
		}
		patches += (m + per - 1) / per
	}
	planned := int64(3*n + 2*groups + patches)
	res := &CycleResult{Users: n, Groups: groups, Workers: w, MembersPerPatch: per}
	r.res.Cycle = res
	if rss, _, err := procStatus(r.br.pid); err == nil {
		res.StartRSSMB = mb(rss)
	}

	var lat series
	for _, name := range []string{cycleGetExt, cycleGetUser, cyclePostUser, cycleGetGroup, cyclePostGroup, cyclePatchGroup} {
		lat.get(name)
	}
	var done, failed atomic.Int64
	var marksMu sync.Mutex
	marks := map[int]bool{}
	mark := func(pct int) {
		rss, hwm, _ := procStatus(r.br.pid)
		g, _ := r.br.goroutines()
		marksMu.Lock()
		defer marksMu.Unlock()
		if marks[pct] {
			return
		}
		marks[pct] = true
		p := RSSPoint{Percent: pct, Requests: done.Load(), RSSMB: mb(rss), PeakMB: mb(hwm), Goroutines: g}
		res.RSSAt = append(res.RSSAt, p)
		fmt.Fprintf(r.log, "bench: [%s]   cycle %3d %%: %d requests, bridge RSS %.1f MB (peak %.1f MB), %d goroutines\n",
			r.store, pct, p.Requests, p.RSSMB, p.PeakMB, p.Goroutines)
	}
	send := func(name, method, path string, body []byte, want ...int) ([]byte, bool) {
		status, answer, d, err := r.c.timed(r.ctx, method, path, body)
		lat.get(name).add(d)
		ok := r.c.expect(name, status, answer, err, want...)
		if !ok {
			failed.Add(1)
		}
		k := done.Add(1)
		for _, pct := range []int{25, 50, 75} {
			if k == planned*int64(pct)/100 {
				mark(pct)
			}
		}
		return answer, ok
	}

	start := time.Now()
	ids := make([]string, n)
	r.parallel(w, n, func(i int) {
		tok := r.nextTok()
		send(cycleGetExt, "GET", usersByExternalID(externalID(tok)), nil, 200)
		send(cycleGetUser, "GET", usersByUserName(userName(tok)), nil, 200)
		if answer, ok := send(cyclePostUser, "POST", "/Users", r.body.createUser(tok), 201); ok {
			ids[i] = resourceID(answer)
			r.stable.add(user{id: ids[i], tok: tok})
		}
	})
	gids := make([]string, groups)
	r.parallel(w, groups, func(g int) {
		name := fmt.Sprintf("Bench Group %05d", g)
		send(cycleGetGroup, "GET", groupsByDisplayName(name), nil, 200)
		if answer, ok := send(cyclePostGroup, "POST", "/Groups", r.body.createGroup(name, fmt.Sprintf("ext-group-%05d", g)), 201); ok {
			gids[g] = resourceID(answer)
		}
	})
	var memberships atomic.Int64
	r.parallel(w, groups, func(g int) {
		if gids[g] == "" {
			return
		}
		var members []string
		for i := g; i < n; i += groups {
			if ids[i] != "" {
				members = append(members, ids[i])
			}
		}
		for lo := 0; lo < len(members) && r.ctx.Err() == nil; lo += per {
			batch := members[lo:min(lo+per, len(members))]
			if _, ok := send(cyclePatchGroup, "PATCH", "/Groups/"+gids[g], patchAddMembers(batch), 204, 200); ok {
				memberships.Add(int64(len(batch)))
			}
		}
	})
	elapsed := time.Since(start)
	mark(100)
	res.Memberships = int(memberships.Load())
	res.Requests, res.Failed = done.Load(), failed.Load()
	res.Seconds = round3(elapsed.Seconds())
	res.RequestsPerSec = round1(float64(res.Requests) / elapsed.Seconds())
	res.ByType = lat.summaries()
	return nil
}

// --- serial create ---

// SerialResult compares one POST /Users at a time with one raw Add at a
// time, alternating, so that both see the same machine.
type SerialResult struct {
	N        int     `json:"n"`
	Bridge   Latency `json:"bridge"`
	Raw      Latency `json:"raw"`
	RatioP50 float64 `json:"ratio_p50"`
	RatioP99 float64 `json:"ratio_p99"`
}

func (r *storeRun) serial() error {
	if err := r.ensureTemplate(); err != nil {
		return err
	}
	conn := r.rawConns[0]
	// Warm-up (connections, caches); also times the profile window.
	var warm time.Duration
	const warmups = 10
	for range warmups {
		u, db, ok := r.createUser()
		if !ok {
			return fmt.Errorf("POST /Users failed; see above")
		}
		r.stable.add(u)
		ru, dr, err := r.rawAdd(conn)
		if err != nil {
			return err
		}
		r.raw.add(ru)
		warm += db + dr
	}
	wait := func() error { return nil }
	if r.o.ProfileDir != "" {
		est := time.Duration(r.o.Serial) * warm / warmups
		wait = r.br.profile(r.o.ProfileDir, r.store+"-serial-create", min(30, int(math.Ceil(est.Seconds()))))
	}
	bridge := make([]time.Duration, 0, r.o.Serial)
	raw := make([]time.Duration, 0, r.o.Serial)
	for range r.o.Serial {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		u, d, ok := r.createUser()
		if ok {
			bridge = append(bridge, d)
			r.stable.add(u)
		}
		ru, d, err := r.rawAdd(conn)
		if err != nil {
			return err
		}
		raw = append(raw, d)
		r.raw.add(ru)
	}
	if err := wait(); err != nil {
		fmt.Fprintf(r.log, "bench: profiles of serial create: %v\n", err)
	}
	res := &SerialResult{N: r.o.Serial, Bridge: summarize(bridge), Raw: summarize(raw)}
	res.RatioP50 = ratio(res.Bridge.P50Ms, res.Raw.P50Ms)
	res.RatioP99 = ratio(res.Bridge.P99Ms, res.Raw.P99Ms)
	r.res.Serial = res
	return nil
}

// --- throughput ---

// ThroughputResult is a closed loop of Clients clients for a fixed time,
// through the bridge and then raw.
type ThroughputResult struct {
	Op              string  `json:"op"`
	Clients         int     `json:"clients"`
	BridgeOpsPerSec float64 `json:"bridge_ops_per_sec"`
	RawOpsPerSec    float64 `json:"raw_ops_per_sec"`
	// Percent is bridge/raw ops/s in percent.
	Percent      float64 `json:"percent"`
	Bridge       Latency `json:"bridge"`
	Raw          Latency `json:"raw"`
	BridgeErrors int     `json:"bridge_errors"`
	RawErrors    int     `json:"raw_errors"`
}

type loopResult struct {
	ok, errs int
	lat      []time.Duration
	elapsed  time.Duration
}

func (l *loopResult) merge(o loopResult) {
	l.ok += o.ok
	l.errs += o.errs
	l.lat = append(l.lat, o.lat...)
	l.elapsed += o.elapsed
}

func (l loopResult) opsPerSec() float64 {
	if l.elapsed <= 0 {
		return 0
	}
	return round1(float64(l.ok) / l.elapsed.Seconds())
}

// closedLoop runs len(ks) workers, each sending its next request when the
// previous one is answered, for d. ks[w] numbers worker w's requests and
// goes on from one call to the next.
func (r *storeRun) closedLoop(d time.Duration, ks []int, op func(w, k int) (time.Duration, bool)) loopResult {
	clients := len(ks)
	start := time.Now()
	deadline := start.Add(d)
	lats := make([][]time.Duration, clients)
	oks, errs := make([]int, clients), make([]int, clients)
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ; time.Now().Before(deadline) && r.ctx.Err() == nil; ks[w]++ {
				dd, ok := op(w, ks[w])
				if ok {
					lats[w] = append(lats[w], dd)
					oks[w]++
				} else {
					errs[w]++
				}
			}
		}()
	}
	wg.Wait()
	out := loopResult{elapsed: time.Since(start)}
	for w := range clients {
		out.lat = append(out.lat, lats[w]...)
		out.ok += oks[w]
		out.errs += errs[w]
	}
	return out
}

func (r *storeRun) throughput() error {
	if err := r.ensurePools(1); err != nil {
		return err
	}
	logErr := logOnce(r.log)
	// The bridge and the raw loop alternate in slices of about a second,
	// so that a burst of a neighbour's load on a shared machine falls on
	// both rather than on one of them.
	rounds := max(1, int(math.Round(r.o.Duration.Seconds())))
	slice := r.o.Duration.D() / time.Duration(rounds)
	for _, clients := range r.o.Clients {
		for _, op := range []string{"create", "get", "patch"} {
			if op != "create" {
				if err := r.ensurePools(max(64, clients)); err != nil {
					return err
				}
			}
			bridgeOp, rawOp := r.throughputOps(op, clients, logErr)
			wait := func() error { return nil }
			if r.o.ProfileDir != "" {
				// The bridge is busy half of this window; idle time adds
				// no CPU samples.
				wait = r.br.profile(r.o.ProfileDir, fmt.Sprintf("%s-throughput-%s-c%d", r.store, op, clients),
					min(30, int(math.Ceil(2*r.o.Duration.Seconds()))))
			}
			var b, raw loopResult
			bk, rk := make([]int, clients), make([]int, clients)
			for range rounds {
				// The probe's latency per step: which load slows Entra's
				// Test Connection is what its target needs to know.
				r.probe.setPhase(fmt.Sprintf("throughput %s c%d bridge", op, clients))
				b.merge(r.closedLoop(slice, bk, bridgeOp))
				r.probe.setPhase(fmt.Sprintf("throughput %s c%d raw", op, clients))
				raw.merge(r.closedLoop(slice, rk, rawOp))
			}
			if err := wait(); err != nil {
				fmt.Fprintf(r.log, "bench: profiles of %s at %d clients: %v\n", op, clients, err)
			}
			t := ThroughputResult{Op: op, Clients: clients,
				BridgeOpsPerSec: b.opsPerSec(), RawOpsPerSec: raw.opsPerSec(),
				Bridge: summarize(b.lat), Raw: summarize(raw.lat), BridgeErrors: b.errs, RawErrors: raw.errs}
			t.Percent = round1(100 * ratio(t.BridgeOpsPerSec, t.RawOpsPerSec))
			r.res.Throughput = append(r.res.Throughput, t)
			fmt.Fprintf(r.log, "bench: [%s]   %-6s %2d clients: bridge %8.1f/s  raw %8.1f/s  %5.1f %%\n",
				r.store, op, clients, t.BridgeOpsPerSec, t.RawOpsPerSec, t.Percent)
			if err := r.ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// throughputOps are the bridge request and the raw operation of one kind.
func (r *storeRun) throughputOps(op string, clients int, logErr func(error)) (bridge, raw func(w, k int) (time.Duration, bool)) {
	switch op {
	case "create":
		bridge = func(w, k int) (time.Duration, bool) {
			u, d, ok := r.createUser()
			if ok {
				r.disposable.add(u)
			}
			return d, ok
		}
		raw = func(w, k int) (time.Duration, bool) {
			ru, d, err := r.rawAdd(r.rawConns[w])
			if err != nil {
				logErr(err)
				return d, false
			}
			r.raw.add(ru)
			return d, true
		}
	case "get":
		bridge = func(w, k int) (time.Duration, bool) {
			u := r.stable.random()
			status, answer, d, err := r.c.timed(r.ctx, "GET", usersByUserName(userName(u.tok)), nil)
			ok := r.c.expect("GET /Users?filter=userName eq", status, answer, err, 200)
			if ok && !bytes.Contains(answer, []byte(`"totalResults":1`)) {
				r.c.fail("GET /Users?filter=userName eq of an existing user did not find exactly one", answer)
				ok = false
			}
			return d, ok
		}
		raw = func(w, k int) (time.Duration, bool) {
			ru := r.raw.random()
			start := time.Now()
			res, err := r.rawConns[w].Search(userSearch(r.dir.rawPeople, userName(ru.tok)))
			d := time.Since(start)
			if err == nil && len(res.Entries) != 1 {
				err = fmt.Errorf("raw search for %s: %d entries", userName(ru.tok), len(res.Entries))
			}
			if err != nil {
				logErr(err)
				return d, false
			}
			return d, true
		}
	case "patch":
		bridge = func(w, k int) (time.Duration, bool) {
			u := r.stable.at(partition(w, clients, k, r.stable.len()))
			body := patchUser(displayName(u.tok)+" v"+strconv.Itoa(k), "Title "+strconv.Itoa(k))
			status, answer, d, err := r.c.timed(r.ctx, "PATCH", "/Users/"+u.id, body)
			return d, r.c.expect("PATCH /Users", status, answer, err, 200, 204)
		}
		raw = func(w, k int) (time.Duration, bool) {
			ru := r.raw.at(partition(w, clients, k, r.raw.len()))
			m := rawModify(ru.dn, displayName(ru.tok)+" v"+strconv.Itoa(k), "Title "+strconv.Itoa(k))
			start := time.Now()
			err := r.rawConns[w].Modify(m)
			d := time.Since(start)
			if err != nil {
				logErr(err)
				return d, false
			}
			return d, true
		}
	}
	return bridge, raw
}

// logOnce logs the first few raw errors of a phase.
func logOnce(log io.Writer) func(error) {
	var n atomic.Int64
	return func(err error) {
		if n.Add(1) <= 5 {
			fmt.Fprintf(log, "bench: %v\n", err)
		}
	}
}

// --- large group ---

// GroupResult is a group of Members members filled through Entra-shaped
// member PATCHes of PerPatch members each, against a raw group filled with
// one Modify per member.
type GroupResult struct {
	Members             int     `json:"members"`
	PerPatch            int     `json:"per_patch"`
	Patches             int     `json:"patches"`
	BridgeSeconds       float64 `json:"bridge_seconds"`
	BridgeMembersPerSec float64 `json:"bridge_members_per_sec"`
	RawSeconds          float64 `json:"raw_seconds"`
	RawMembersPerSec    float64 `json:"raw_members_per_sec"`
	Ratio               float64 `json:"ratio"`
	SlowestMs           float64 `json:"slowest_ms"`
	Patch               Latency `json:"patch"`
	// MembersInDirectory is what the directory holds afterwards (must be
	// Members).
	MembersInDirectory int `json:"members_in_directory"`
}

// groupSetup finds the group's members: first the users the bridge
// created in the cycle and the serial creates (never deleted), then, for
// the rest, plain inetOrgPerson entries added raw under the bridge's
// ou=people (slapd fsyncs every Add: reusing users saves minutes). The raw
// group gets the same members' DNs.
func (r *storeRun) groupSetup() (ids, dns []string, err error) {
	m := r.o.Members
	ids, dns = make([]string, m), make([]string, m)
	have := min(m, r.stable.len())
	for i := range have {
		u := r.stable.at(i)
		ids[i], dns[i] = u.id, "uid="+goldap.EscapeDN(userName(u.tok))+","+r.dir.people
	}
	if have == m {
		return ids, dns, nil
	}
	prefix := "gm-" + r.store + "-"
	conns := r.rawConns[:min(4, len(r.rawConns))]
	var first atomic.Value
	next := atomic.Int64{}
	next.Store(int64(have))
	var wg sync.WaitGroup
	for _, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r.ctx.Err() == nil && first.Load() == nil {
				i := int(next.Add(1)) - 1
				if i >= m {
					return
				}
				uid := fmt.Sprintf("%s%06d", prefix, i)
				add := goldap.NewAddRequest("uid="+uid+","+r.dir.people, nil)
				add.Attribute("objectClass", []string{"inetOrgPerson"})
				add.Attribute("uid", []string{uid})
				add.Attribute("cn", []string{"Member " + strconv.Itoa(i)})
				add.Attribute("sn", []string{"Member"})
				add.Attribute("mail", []string{uid + "@contoso.com"})
				if err := conn.Add(add); err != nil {
					first.CompareAndSwap(nil, fmt.Errorf("raw Add %s: %w", add.DN, err))
					return
				}
				dns[i] = add.DN
			}
		}()
	}
	wg.Wait()
	if e, _ := first.Load().(error); e != nil {
		return nil, nil, e
	}
	if err := r.ctx.Err(); err != nil {
		return nil, nil, err
	}
	res, err := r.rawConns[0].SearchWithPaging(goldap.NewSearchRequest(r.dir.people, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(uid="+goldap.EscapeFilter(prefix)+"*)", []string{"uid", "entryUUID"}, nil), 1000)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range res.Entries {
		i, err := strconv.Atoi(e.GetAttributeValue("uid")[len(prefix):])
		if err == nil && i >= have && i < m {
			ids[i] = e.GetAttributeValue("entryUUID")
		}
	}
	for i, id := range ids {
		if id == "" {
			return nil, nil, fmt.Errorf("member %d has no entryUUID", i)
		}
	}
	return ids, dns, nil
}

func (r *storeRun) group(ids, dns []string) error {
	m, per := len(ids), r.o.MembersPerPatch
	res := &GroupResult{Members: m, PerPatch: per}
	r.res.Group = res
	status, answer, err := r.c.do(r.ctx, "POST", "/Groups", r.body.createGroup("Bench Big Group", "ext-big-group"))
	if !r.c.expect("POST /Groups", status, answer, err, 201) {
		return fmt.Errorf("POST /Groups failed; see above")
	}
	gid := resourceID(answer)

	lat := make([]time.Duration, 0, m/per+1)
	start := time.Now()
	for lo := 0; lo < m; lo += per {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		status, answer, d, err := r.c.timed(r.ctx, "PATCH", "/Groups/"+gid, patchAddMembers(ids[lo:min(lo+per, m)]))
		lat = append(lat, d)
		r.c.expect("PATCH /Groups (add members)", status, answer, err, 204, 200)
	}
	bridge := time.Since(start)
	res.Patches = len(lat)
	res.Patch = summarize(lat)
	res.SlowestMs = res.Patch.MaxMs
	res.BridgeSeconds = round3(bridge.Seconds())
	res.BridgeMembersPerSec = round1(float64(m) / bridge.Seconds())

	if e, err := r.dir.entryByID(r.dir.groups, gid, "member"); err == nil {
		res.MembersInDirectory = len(e.GetAttributeValues("member"))
	} else {
		fmt.Fprintf(r.log, "bench: reading the big group back: %v\n", err)
	}

	// Raw: one Modify per member on a groupOfNames of the same size.
	conn := r.rawConns[0]
	add := goldap.NewAddRequest("cn=Raw Big Group,"+r.dir.rawGroups, nil)
	add.Attribute("objectClass", []string{"groupOfNames"})
	add.Attribute("cn", []string{"Raw Big Group"})
	add.Attribute("member", []string{dns[0]})
	if err := conn.Add(add); err != nil {
		return fmt.Errorf("raw group: %w", err)
	}
	start = time.Now()
	for _, dn := range dns[1:] {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		mod := goldap.NewModifyRequest(add.DN, nil)
		mod.Add("member", []string{dn})
		if err := conn.Modify(mod); err != nil {
			return fmt.Errorf("raw member Modify: %w", err)
		}
	}
	raw := time.Since(start)
	res.RawSeconds = round3(raw.Seconds())
	if m > 1 {
		res.RawMembersPerSec = round1(float64(m-1) / raw.Seconds())
	}
	res.Ratio = ratio(res.BridgeMembersPerSec, res.RawMembersPerSec)
	return nil
}

// --- steady mix ---

// MixResult is an open loop at Rate requests/s: requests leave on schedule
// whatever the latency, which is measured from the scheduled time.
type MixResult struct {
	Rate         int                       `json:"rate"`
	Seconds      float64                   `json:"seconds"`
	Sent         int                       `json:"sent"`
	AchievedRate float64                   `json:"achieved_rate"`
	Latency      Latency                   `json:"latency"`
	ByOp         []NamedLatency            `json:"by_op"`
	Statuses     map[string]map[string]int `json:"statuses"`
	N5xx         int                       `json:"n_5xx"`
	Unexpected   int                       `json:"unexpected"`
	// DeletesWithoutTarget were sent as GETs: no user created earlier in
	// the mix (or by the throughput phase) was left to delete.
	DeletesWithoutTarget int `json:"deletes_without_target"`
}

func (r *storeRun) mix(rate int) error {
	if err := r.ensurePools(64); err != nil {
		return err
	}
	d := r.o.MixDuration.D()
	total := max(1, int(float64(rate)*d.Seconds()))
	res := &MixResult{Rate: rate, Statuses: map[string]map[string]int{}}
	var all recorder
	var byOp series
	for _, op := range []string{"GET", "POST", "PATCH", "DELETE"} {
		byOp.get(op)
	}
	var mu sync.Mutex
	var created pool[user]
	want := map[string][]int{"GET": {200}, "POST": {201}, "PATCH": {200, 204}, "DELETE": {204}}
	record := func(op string, at time.Time, status int, answer []byte, err error) {
		lat := time.Since(at)
		all.add(lat)
		byOp.get(op).add(lat)
		ok := r.c.expect("mix "+op, status, answer, err, want[op]...)
		mu.Lock()
		defer mu.Unlock()
		if res.Statuses[op] == nil {
			res.Statuses[op] = map[string]int{}
		}
		key := strconv.Itoa(status)
		if status == 0 {
			key = "no answer"
		}
		res.Statuses[op][key]++
		if status >= 500 {
			res.N5xx++
		}
		if !ok {
			res.Unexpected++
		}
	}

	wait := func() error { return nil }
	if r.o.ProfileDir != "" {
		wait = r.br.profile(r.o.ProfileDir, fmt.Sprintf("%s-mix-%d", r.store, rate), min(30, int(math.Ceil(d.Seconds()))))
	}
	rng := rand.New(rand.NewPCG(uint64(rate), 5))
	var wg sync.WaitGroup
	start := time.Now().Add(10 * time.Millisecond)
	for k := range total {
		at := start.Add(time.Duration(k) * time.Second / time.Duration(rate))
		if wait := time.Until(at); wait > 0 {
			select {
			case <-r.ctx.Done():
			case <-time.After(wait):
			}
		}
		if r.ctx.Err() != nil {
			break
		}
		x := rng.IntN(100)
		var op string
		var target user
		switch {
		case x < 50:
			op, target = "GET", r.stable.at(rng.IntN(r.stable.len()))
		case x < 65:
			op = "POST"
		case x < 95:
			op, target = "PATCH", r.stable.at(rng.IntN(r.stable.len()))
		default:
			op = "DELETE"
			var ok bool
			if target, ok = created.popFront(); !ok {
				if target, ok = r.disposable.popFront(); !ok {
					op, target = "GET", r.stable.at(rng.IntN(r.stable.len()))
					res.DeletesWithoutTarget++
				}
			}
		}
		res.Sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch op {
			case "GET":
				status, answer, err := r.c.do(r.ctx, "GET", usersByUserName(userName(target.tok)), nil)
				record(op, at, status, answer, err)
			case "POST":
				tok := r.nextTok()
				status, answer, err := r.c.do(r.ctx, "POST", "/Users", r.body.createUser(tok))
				record(op, at, status, answer, err)
				if status == 201 {
					created.add(user{id: resourceID(answer), tok: tok})
				}
			case "PATCH":
				body := patchUser(displayName(target.tok)+" mix "+strconv.Itoa(k), "Mix "+strconv.Itoa(k))
				status, answer, err := r.c.do(r.ctx, "PATCH", "/Users/"+target.id, body)
				record(op, at, status, answer, err)
			case "DELETE":
				status, answer, err := r.c.do(r.ctx, "DELETE", "/Users/"+target.id, nil)
				record(op, at, status, answer, err)
			}
		}()
	}
	sent := time.Since(start)
	wg.Wait()
	if err := wait(); err != nil {
		fmt.Fprintf(r.log, "bench: profiles of the mix at %d/s: %v\n", rate, err)
	}
	res.Seconds = round3(time.Since(start).Seconds())
	if sent > 0 {
		res.AchievedRate = round1(float64(res.Sent) / sent.Seconds())
	}
	res.Latency = all.summary()
	res.ByOp = byOp.summaries()
	r.res.Mix = append(r.res.Mix, *res)
	return nil
}
