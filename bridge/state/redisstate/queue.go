package redisstate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// The queue scripts (see the package doc for the keys). Each takes one key,
// KEYS[1], the tenant's queue prefix P{T}:q:, and builds the others from it,
// so all of them carry the tenant's hash tag and sit in one Cluster slot.
//
// Scripts answer {'ok', ...} or {'notfound'} or {'conflict', state, owner},
// which runScript turns into errors.

// luaPrelude holds what several scripts share.
const luaPrelude = `
local B = KEYS[1]
local function jk(id) return B .. 'job:' .. id end
local function rk(res) return B .. 'res:' .. res end

-- account adds sign * the job's attempts to its error class, for a live job
-- that has failed: the running sums Stats reports. Every change to a job's
-- attempts, class or liveness is bracketed by account(job, -1) and
-- account(job, 1).
local function account(job, sign)
	local v = redis.call('HMGET', job, 'attempts', 'class', 'state')
	local n = tonumber(v[1])
	-- n == 0 is skipped: Lua would write -1 * 0 as "-0", not an integer.
	if n and n ~= 0 and v[2] and v[2] ~= '' and v[3] ~= 'dead' then
		if redis.call('HINCRBY', B .. 'class', v[2], sign * n) == 0 then
			redis.call('HDEL', B .. 'class', v[2])
		end
	end
end

-- promote makes the resource's schedule right: when no job of it is
-- leased, its head (lowest seq) is in wait (by NotBefore) or ready, and no
-- other job of it is in either.
local function promote(res)
	local cur = redis.call('HGET', B .. 'sched', res)
	local want = false
	if redis.call('HEXISTS', B .. 'running', res) == 0 then
		want = redis.call('ZRANGE', rk(res), 0, 0)[1] or false
	end
	if cur and cur ~= want then
		redis.call('ZREM', B .. 'ready', cur)
		redis.call('ZREM', B .. 'wait', cur)
		redis.call('HDEL', B .. 'sched', res)
	end
	if want then
		if not redis.call('ZSCORE', B .. 'ready', want) then
			redis.call('ZADD', B .. 'wait', redis.call('HGET', jk(want), 'nb'), want)
		end
		redis.call('HSET', B .. 'sched', res, want)
	end
end

-- held returns the resource of a job ARGV[2] holds, or nil and the answer.
local function held(id, owner)
	local v = redis.call('HMGET', jk(id), 'state', 'owner', 'res')
	if not v[1] then return nil, {'notfound'} end
	if v[1] ~= 'leased' or v[2] ~= owner then return nil, {'conflict', v[1], v[2]} end
	return v[3]
end

-- release ends the resource's running job if it is id.
local function release(res, id)
	if redis.call('HGET', B .. 'running', res) == id then
		redis.call('HDEL', B .. 'running', res)
	end
end

-- unlease ends the lease of id, a job of res its holder is done with for
-- now (acked, retried later or buried), and lets res's next job be
-- scheduled. The job's own keys must already say where it went.
local function unlease(res, id)
	redis.call('ZREM', B .. 'leased', id)
	release(res, id)
	promote(res)
end
`

func script(body string) *redis.Script { return redis.NewScript(luaPrelude + body) }

// enqueueScript: ARGV id, tenant, res, op, payload, fp, attempts, nb,
// created, err, class. The enq:<id> marker makes a replay (the reply was
// lost and the call retried) return the job instead of adding it again,
// even after a worker has already acked it.
var enqueueScript = script(`
local id, res = ARGV[1], ARGV[3]
local job = jk(id)
if not redis.call('SET', B .. 'enq:' .. id, 1, 'NX', 'PX', 3600000) then
	return {'ok', redis.call('HGETALL', job)}
end
local seq = redis.call('INCR', B .. 'seq')
redis.call('HSET', job, 'id', id, 'tenant', ARGV[2], 'res', res, 'op', ARGV[4],
	'payload', ARGV[5], 'fp', ARGV[6], 'attempts', ARGV[7], 'nb', ARGV[8],
	'created', ARGV[9], 'err', ARGV[10], 'class', ARGV[11],
	'state', 'pending', 'owner', '', 'until', 0, 'seq', seq)
redis.call('ZADD', B .. 'live', seq, id)
redis.call('ZADD', rk(res), seq, id)
account(job, 1)
promote(res)
return {'ok', redis.call('HGETALL', job)}
`)

// leaseScript: ARGV owner, now, max, until, call, lease ms. It moves due
// jobs from wait to ready, takes expired leases over, then takes ready jobs
// in seq order. The ids it took are kept under lease:<call> for the lease,
// so that a replay of the same call returns them rather than taking more.
var leaseScript = script(`
local owner, now, max, untl, call = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], B .. 'lease:' .. ARGV[5]
local out = {}
local prev = redis.call('GET', call)
if prev then
	for _, id in ipairs(cjson.decode(prev)) do
		local v = redis.call('HMGET', jk(id), 'state', 'owner')
		if v[1] == 'leased' and v[2] == owner then
			out[#out + 1] = redis.call('HGETALL', jk(id))
		end
	end
	return {'ok', out}
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', B .. 'wait', '-inf', now, 'LIMIT', 0, 1000)) do
	redis.call('ZREM', B .. 'wait', id)
	redis.call('ZADD', B .. 'ready', redis.call('HGET', jk(id), 'seq'), id)
end
local taken = {}
local function take(id, fresh)
	local job = jk(id)
	account(job, -1)
	redis.call('HINCRBY', job, 'attempts', 1)
	redis.call('HSET', job, 'state', 'leased', 'owner', owner, 'until', untl)
	account(job, 1)
	redis.call('ZADD', B .. 'leased', untl, id)
	if fresh then
		local res = redis.call('HGET', job, 'res')
		redis.call('ZREM', B .. 'ready', id)
		redis.call('HDEL', B .. 'sched', res)
		redis.call('HSET', B .. 'running', res, id)
	end
	taken[#taken + 1] = id
	out[#out + 1] = redis.call('HGETALL', job)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', B .. 'leased', '-inf', now, 'LIMIT', 0, max)) do
	take(id, false)
end
if #out < max then
	for _, id in ipairs(redis.call('ZRANGE', B .. 'ready', 0, max - #out - 1)) do
		take(id, true)
	end
end
if #taken > 0 then
	redis.call('SET', call, cjson.encode(taken), 'PX', ARGV[6])
end
return {'ok', out}
`)

// extendScript: ARGV id, owner, until.
var extendScript = script(`
local res, e = held(ARGV[1], ARGV[2])
if not res then return e end
redis.call('HSET', jk(ARGV[1]), 'until', ARGV[3])
redis.call('ZADD', B .. 'leased', ARGV[3], ARGV[1])
return {'ok'}
`)

// ackScript: ARGV id, owner.
var ackScript = script(`
local id = ARGV[1]
local res, e = held(id, ARGV[2])
if not res then return e end
account(jk(id), -1)
redis.call('DEL', jk(id))
redis.call('ZREM', B .. 'live', id)
redis.call('ZREM', rk(res), id)
unlease(res, id)
return {'ok'}
`)

// retryScript: ARGV id, owner, nb, err, class.
var retryScript = script(`
local id = ARGV[1]
local res, e = held(id, ARGV[2])
if not res then return e end
local job = jk(id)
account(job, -1)
redis.call('HSET', job, 'state', 'pending', 'owner', '', 'until', 0,
	'nb', ARGV[3], 'err', ARGV[4], 'class', ARGV[5])
account(job, 1)
unlease(res, id)
return {'ok'}
`)

// buryScript: ARGV id, owner, err, class.
var buryScript = script(`
local id = ARGV[1]
local res, e = held(id, ARGV[2])
if not res then return e end
local job = jk(id)
account(job, -1)
redis.call('HSET', job, 'state', 'dead', 'owner', '', 'until', 0, 'err', ARGV[3], 'class', ARGV[4])
redis.call('ZREM', B .. 'live', id)
redis.call('ZREM', rk(res), id)
redis.call('ZADD', B .. 'dead', redis.call('HGET', job, 'seq'), id)
unlease(res, id)
return {'ok'}
`)

// requeueScript: ARGV id. A dead job goes back into its resource at its
// old seq, which is its old place.
var requeueScript = script(`
local id = ARGV[1]
local job = jk(id)
local v = redis.call('HMGET', job, 'state', 'owner', 'res', 'seq')
if not v[1] then return {'notfound'} end
if v[1] == 'leased' then return {'conflict', v[1], v[2]} end
account(job, -1)
if v[1] == 'dead' then
	redis.call('ZREM', B .. 'dead', id)
	redis.call('ZADD', B .. 'live', v[4], id)
	redis.call('ZADD', rk(v[3]), v[4], id)
end
redis.call('HSET', job, 'state', 'pending', 'attempts', 0, 'nb', 0)
account(job, 1)
promote(v[3])
return {'ok'}
`)

// dropScript: ARGV id.
var dropScript = script(`
local id = ARGV[1]
local job = jk(id)
local res = redis.call('HGET', job, 'res')
if not res then return {'notfound'} end
account(job, -1)
redis.call('DEL', job)
for _, k in ipairs({'live', 'dead', 'leased', 'ready', 'wait'}) do
	redis.call('ZREM', B .. k, id)
end
redis.call('ZREM', rk(res), id)
release(res, id)
if redis.call('HGET', B .. 'sched', res) == id then
	redis.call('HDEL', B .. 'sched', res)
end
promote(res)
return {'ok'}
`)

// listScript: ARGV state (” for any), resource (” for any), limit. It
// returns up to limit jobs in seq order. Read-only (run with EVAL_RO, which
// works when memory is full and on replicas).
var listScript = script(`
local want, res, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
-- scan walks a zset in score order, a page at a time, keeping {seq, id}
-- of the jobs whose state and resource match, up to most.
local function scan(key, st, r, most)
	local got, off = {}, 0
	while #got < most do
		local page = redis.call('ZRANGE', key, off, off + 199, 'WITHSCORES')
		if #page == 0 then break end
		for i = 1, #page, 2 do
			local id = page[i]
			local ok = true
			if st ~= '' or r ~= '' then
				local v = redis.call('HMGET', jk(id), 'state', 'res', 'seq')
				ok = (st == '' or v[1] == st) and (r == '' or v[2] == r)
			end
			if ok then
				got[#got + 1] = {tonumber(redis.call('HGET', jk(id), 'seq')), id}
				if #got >= most then break end
			end
		end
		off = off + 200
	end
	return got
end
local live = B .. 'live'
if res ~= '' then live = rk(res) end
local found = {}
if want == 'dead' then
	found = scan(B .. 'dead', '', res, limit)
elseif want == 'pending' then
	found = scan(live, 'pending', '', limit)
elseif want == 'leased' then
	-- Few jobs are leased (at most one per resource): take them all, as
	-- the leased zset is not in seq order, then order them.
	found = scan(B .. 'leased', '', res, math.huge)
	table.sort(found, function(a, b) return a[1] < b[1] end)
else
	-- Both sources are in seq order: the first limit of each hold the
	-- first limit of both.
	found = scan(live, '', '', limit)
	for _, d in ipairs(scan(B .. 'dead', '', res, limit)) do found[#found + 1] = d end
	table.sort(found, function(a, b) return a[1] < b[1] end)
end
local out = {}
for i = 1, math.min(limit, #found) do
	out[i] = redis.call('HGETALL', jk(found[i][2]))
end
return {'ok', out}
`)

// statsScript: no ARGV; read-only. Returns live, leased, dead, the created
// ms of the earliest-enqueued live job (” if none), the class sums.
var statsScript = script(`
local first = redis.call('ZRANGE', B .. 'live', 0, 0)[1]
local oldest = ''
if first then oldest = redis.call('HGET', jk(first), 'created') end
return {'ok', redis.call('ZCARD', B .. 'live'), redis.call('ZCARD', B .. 'leased'),
	redis.call('ZCARD', B .. 'dead'), oldest, redis.call('HGETALL', B .. 'class')}
`)

// jobID is a job's id: the escaped tenant, '.', a UUIDv7. The tenant part
// leads the store to the tenant's keys from the id alone.
func jobID(tenant string) (string, error) {
	u, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	return escape(tenant) + "." + u.String(), nil
}

// tenantOf is the tenant of a job id, or false for an id the store did not
// make.
func tenantOf(id string) (string, bool) {
	esc, rest, ok := strings.Cut(id, ".")
	if !ok || esc == "" || rest == "" {
		return "", false
	}
	return unescape(esc)
}

// runScript runs a queue script for tenant and turns its status answer
// into the rest of the reply or an error. retry says whether a replay of
// this script is harmless.
func (s *Store) runScript(ctx context.Context, op, tenant string, sc *redis.Script, ro, retry bool, args ...any) ([]any, error) {
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	keys := []string{s.k.queue(tenant)}
	var reply []any
	run := func() (err error) {
		var cmd *redis.Cmd
		if ro {
			cmd = sc.RunRO(ctx, s.c, keys, args...)
		} else {
			cmd = sc.Run(ctx, s.c, keys, args...)
		}
		reply, err = cmd.Slice()
		return err
	}
	var err error
	if retry {
		err = s.retried(ctx, run)
	} else {
		err = run()
	}
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	if len(reply) == 0 {
		return nil, fmt.Errorf("redisstate: %s: empty script reply", op)
	}
	switch status, _ := reply[0].(string); status {
	case "ok":
		return reply[1:], nil
	case "notfound":
		return nil, fmt.Errorf("redisstate: %s: no such job: %w", op, state.ErrNotFound)
	case "conflict":
		st, owner := "", ""
		if len(reply) == 3 {
			st, _ = reply[1].(string)
			owner, _ = reply[2].(string)
		}
		if st == string(state.JobLeased) {
			return nil, fmt.Errorf("redisstate: %s: the job is leased by %q: %w", op, owner, state.ErrConflict)
		}
		return nil, fmt.Errorf("redisstate: %s: the job is %s: %w", op, st, state.ErrConflict)
	default:
		return nil, fmt.Errorf("redisstate: %s: unexpected script reply %v", op, reply[0])
	}
}

// Enqueue stores a new pending job and returns it as stored.
func (s *Store) Enqueue(ctx context.Context, j state.Job) (state.Job, error) {
	const op = "enqueue"
	if err := state.CheckNewJob(j); err != nil {
		return state.Job{}, fmt.Errorf("redisstate: %s: %w", op, err)
	}
	if err := s.begin(ctx, op); err != nil {
		return state.Job{}, err
	}
	id, err := jobID(j.Tenant)
	if err != nil {
		return state.Job{}, fmt.Errorf("redisstate: enqueue: job id: %w", err)
	}
	if j.CreatedAt.IsZero() {
		j.CreatedAt = time.Now()
	}
	// The tenant is registered first: Lease, List and Stats find the
	// tenant's queue through it. A registration whose job then fails to be
	// stored costs nothing.
	err = s.retried(ctx, func() error { return s.c.SAdd(ctx, s.k.tenants(), j.Tenant).Err() })
	if err != nil {
		return state.Job{}, s.wrap(ctx, op, err)
	}
	reply, err := s.runScript(ctx, op, j.Tenant, enqueueScript, false, true,
		id, j.Tenant, j.Resource, j.Op, j.Payload, j.Fingerprint, j.Attempts,
		ms(j.NotBefore), ms(j.CreatedAt), j.LastError, j.ErrorClass)
	if err != nil {
		return state.Job{}, err
	}
	fields, _ := reply[0].([]any)
	if len(fields) == 0 {
		// A replay found the job already applied and acked: it was stored.
		j.ID, j.State, j.Owner, j.LeaseUntil = id, state.JobPending, "", time.Time{}
		j.CreatedAt = j.CreatedAt.Truncate(time.Millisecond)
		return j, nil
	}
	return parseJob(fields)
}

// tenants lists the tenants with a queue, in name order, or just tenant.
func (s *Store) tenants(ctx context.Context, op, tenant string) ([]string, error) {
	if tenant != "" {
		return []string{tenant}, nil
	}
	var ts []string
	err := s.retried(ctx, func() (err error) {
		ts, err = s.c.SMembers(ctx, s.k.tenants()).Result()
		return err
	})
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	slices.Sort(ts)
	return ts, nil
}

// Lease hands owner up to maxJobs jobs. Tenants take turns at going first.
// On an error, the jobs already leased from other tenants are not
// returned: their leases run out and they are leased again.
func (s *Store) Lease(ctx context.Context, owner string, now time.Time, maxJobs int, lease time.Duration) ([]state.Job, error) {
	const op = "lease"
	if err := state.CheckLease(owner, maxJobs, lease); err != nil {
		return nil, fmt.Errorf("redisstate: %s: %w", op, err)
	}
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	ts, err := s.tenants(ctx, op, "")
	if err != nil {
		return nil, err
	}
	lease = ceilMillis(lease)
	nowMS := now.UnixMilli()
	until := strconv.FormatInt(nowMS+lease.Milliseconds(), 10)
	var jobs []state.Job
	start := int(s.turn.Add(1) % uint64(max(len(ts), 1)))
	for i := range ts {
		if len(jobs) == maxJobs {
			break
		}
		t := ts[(start+i)%len(ts)]
		call, err := uuid.NewRandom()
		if err != nil {
			return nil, fmt.Errorf("redisstate: lease: call id: %w", err)
		}
		reply, err := s.runScript(ctx, op, t, leaseScript, false, true,
			owner, nowMS, maxJobs-len(jobs), until, call.String(), lease.Milliseconds())
		if err != nil {
			return nil, err
		}
		got, err := parseJobs(reply[0])
		if err != nil {
			return nil, fmt.Errorf("redisstate: lease: %w", err)
		}
		jobs = append(jobs, got...)
	}
	return jobs, nil
}

// holderCall runs one of the scripts that act on a job its owner holds.
// They are not retried: a replay after a lost reply would report a
// conflict or a missing job for a change that was made.
func (s *Store) holderCall(ctx context.Context, op string, sc *redis.Script, id, owner string, args ...any) error {
	if id == "" || owner == "" {
		return fmt.Errorf("redisstate: %s: id and owner are required", op)
	}
	tenant, ok := tenantOf(id)
	if !ok {
		if err := s.begin(ctx, op); err != nil {
			return err
		}
		return fmt.Errorf("redisstate: %s job %q: %w", op, id, state.ErrNotFound)
	}
	_, err := s.runScript(ctx, op+" job "+strconv.Quote(id), tenant, sc, false, false, append([]any{id, owner}, args...)...)
	return err
}

// Extend renews owner's lease on a job it holds.
func (s *Store) Extend(ctx context.Context, id, owner string, until time.Time) error {
	return s.holderCall(ctx, "extend", extendScript, id, owner, until.UnixMilli())
}

// Ack deletes a job owner holds.
func (s *Store) Ack(ctx context.Context, id, owner string) error {
	return s.holderCall(ctx, "ack", ackScript, id, owner)
}

// Retry puts a job owner holds back to pending, due at notBefore.
func (s *Store) Retry(ctx context.Context, id, owner string, notBefore time.Time, lastError, class string) error {
	return s.holderCall(ctx, "retry", retryScript, id, owner, ms(notBefore), lastError, class)
}

// Bury moves a job owner holds to the dead letter state.
func (s *Store) Bury(ctx context.Context, id, owner, lastError, class string) error {
	return s.holderCall(ctx, "bury", buryScript, id, owner, lastError, class)
}

// Pending counts the tenant's pending and leased jobs of resource.
func (s *Store) Pending(ctx context.Context, tenant, resource string) (int, error) {
	const op = "pending"
	if err := s.begin(ctx, op); err != nil {
		return 0, err
	}
	var n int64
	err := s.retried(ctx, func() (err error) {
		n, err = s.c.ZCard(ctx, s.k.resource(tenant, resource)).Result()
		return err
	})
	if err != nil {
		return 0, s.wrap(ctx, op, err)
	}
	return int(n), nil
}

// Get returns one job, or state.ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (state.Job, error) {
	op := "get job " + strconv.Quote(id)
	if err := s.begin(ctx, op); err != nil {
		return state.Job{}, err
	}
	tenant, ok := tenantOf(id)
	if !ok {
		return state.Job{}, fmt.Errorf("redisstate: %s: %w", op, state.ErrNotFound)
	}
	var m map[string]string
	err := s.retried(ctx, func() (err error) {
		m, err = s.c.HGetAll(ctx, s.k.job(tenant, id)).Result()
		return err
	})
	if err != nil {
		return state.Job{}, s.wrap(ctx, op, err)
	}
	if len(m) == 0 {
		return state.Job{}, fmt.Errorf("redisstate: %s: %w", op, state.ErrNotFound)
	}
	j, err := jobFromMap(m)
	if err != nil {
		return state.Job{}, fmt.Errorf("redisstate: %s: %w", op, err)
	}
	return j, nil
}

// List returns up to limit jobs matching f, by tenant, then enqueue order.
func (s *Store) List(ctx context.Context, f state.JobFilter, limit int) ([]state.Job, error) {
	const op = "list jobs"
	if err := state.CheckJobFilter(f, limit); err != nil {
		return nil, fmt.Errorf("redisstate: %s: %w", op, err)
	}
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	ts, err := s.tenants(ctx, op, f.Tenant)
	if err != nil {
		return nil, err
	}
	var jobs []state.Job
	for _, t := range ts {
		if len(jobs) == limit {
			break
		}
		reply, err := s.runScript(ctx, op, t, listScript, true, true, string(f.State), f.Resource, limit-len(jobs))
		if err != nil {
			return nil, err
		}
		got, err := parseJobs(reply[0])
		if err != nil {
			return nil, fmt.Errorf("redisstate: list jobs: %w", err)
		}
		jobs = append(jobs, got...)
	}
	return jobs, nil
}

// Requeue makes a dead or pending job pending and due at once, with a fresh
// attempt count, in its old place. Not retried: a replay could reset a job
// a worker has meanwhile leased and failed again.
func (s *Store) Requeue(ctx context.Context, id string) error {
	return s.operatorCall(ctx, "requeue", requeueScript, id)
}

// Drop deletes a job in any state. Not retried: a replay would say "not
// found" after dropping it.
func (s *Store) Drop(ctx context.Context, id string) error {
	return s.operatorCall(ctx, "drop", dropScript, id)
}

func (s *Store) operatorCall(ctx context.Context, op string, sc *redis.Script, id string) error {
	if id == "" {
		return fmt.Errorf("redisstate: %s: id is required", op)
	}
	op += " job " + strconv.Quote(id)
	tenant, ok := tenantOf(id)
	if !ok {
		if err := s.begin(ctx, op); err != nil {
			return err
		}
		return fmt.Errorf("redisstate: %s: %w", op, state.ErrNotFound)
	}
	_, err := s.runScript(ctx, op, tenant, sc, false, false, id)
	return err
}

// Stats counts the tenant's jobs, or every tenant's for "". Each tenant's
// numbers are one consistent snapshot; across tenants they are summed.
func (s *Store) Stats(ctx context.Context, tenant string) (state.QueueStats, error) {
	const op = "queue stats"
	if err := s.begin(ctx, op); err != nil {
		return state.QueueStats{}, err
	}
	ts, err := s.tenants(ctx, op, tenant)
	if err != nil {
		return state.QueueStats{}, err
	}
	st := state.QueueStats{AttemptsByClass: map[string]int{}}
	for _, t := range ts {
		reply, err := s.runScript(ctx, op, t, statsScript, true, true)
		if err != nil {
			return state.QueueStats{}, err
		}
		if len(reply) != 5 {
			return state.QueueStats{}, fmt.Errorf("redisstate: %s: unexpected reply %v", op, reply)
		}
		live, _ := reply[0].(int64)
		leased, _ := reply[1].(int64)
		dead, _ := reply[2].(int64)
		st.Pending += int(live - leased)
		st.Leased += int(leased)
		st.Dead += int(dead)
		if created, _ := reply[3].(string); created != "" {
			oldest, err := fromMS(created)
			if err != nil {
				return state.QueueStats{}, fmt.Errorf("redisstate: %s: tenant %q: bad created time: %w", op, t, err)
			}
			if !oldest.IsZero() && (st.Oldest.IsZero() || oldest.Before(st.Oldest)) {
				st.Oldest = oldest
			}
		}
		classes, _ := reply[4].([]any)
		for i := 0; i+1 < len(classes); i += 2 {
			class, _ := classes[i].(string)
			n, err := strconv.Atoi(fmt.Sprint(classes[i+1]))
			if err != nil {
				return state.QueueStats{}, fmt.Errorf("redisstate: %s: tenant %q: bad attempt count: %w", op, t, err)
			}
			st.AttemptsByClass[class] += n
		}
	}
	return st, nil
}

// parseJobs reads a list of HGETALL replies.
func parseJobs(v any) ([]state.Job, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("unexpected job list %T", v)
	}
	jobs := make([]state.Job, 0, len(list))
	for _, item := range list {
		fields, ok := item.([]any)
		if !ok {
			return nil, fmt.Errorf("unexpected job %T", item)
		}
		j, err := parseJob(fields)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// parseJob reads one HGETALL reply (field, value, ...) from a script.
func parseJob(fields []any) (state.Job, error) {
	m := make(map[string]string, len(fields)/2)
	for i := 0; i+1 < len(fields); i += 2 {
		k, _ := fields[i].(string)
		v, _ := fields[i+1].(string)
		m[k] = v
	}
	return jobFromMap(m)
}

// jobFromMap reads a job hash.
func jobFromMap(m map[string]string) (state.Job, error) {
	j := state.Job{
		ID: m["id"], Tenant: m["tenant"], Resource: m["res"], Op: m["op"],
		Payload: []byte(m["payload"]), Fingerprint: m["fp"],
		LastError: m["err"], ErrorClass: m["class"],
		State: state.JobState(m["state"]), Owner: m["owner"],
	}
	if j.ID == "" {
		return state.Job{}, errors.New("corrupt job: no id")
	}
	var err error
	if j.Attempts, err = strconv.Atoi(m["attempts"]); err != nil {
		return state.Job{}, fmt.Errorf("corrupt job %q: attempts: %w", j.ID, err)
	}
	for _, f := range []struct {
		name string
		to   *time.Time
	}{{"nb", &j.NotBefore}, {"created", &j.CreatedAt}, {"until", &j.LeaseUntil}} {
		if *f.to, err = fromMS(m[f.name]); err != nil {
			return state.Job{}, fmt.Errorf("corrupt job %q: %s: %w", j.ID, f.name, err)
		}
	}
	return j, nil
}
