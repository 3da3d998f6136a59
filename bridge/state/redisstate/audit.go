package redisstate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// markUsedScript sets a stored token's "used" field unless it is set,
// in one step on the server, so that a concurrent PutToken (a regenerate
// shortening the expiry) is never overwritten with an older copy.
// KEYS tokens hash; ARGV id, at (ms).
var markUsedScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local t = cjson.decode(v)
if t.used and t.used ~= 0 then return 0 end
t.used = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(t))
return 1
`)

// MarkTokenUsed sets the token's FirstUsedAt once. Replaying it changes
// nothing, so it is retried.
func (s *Store) MarkTokenUsed(ctx context.Context, tenant, id string, at time.Time) error {
	const op = "mark token used"
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	return s.wrap(ctx, op, s.retried(ctx, func() error {
		return markUsedScript.Run(ctx, s.c, []string{s.k.tokens(tenant)}, id, at.UnixMilli()).Err()
	}))
}

// storedAudit is an audit record as the list holds it (JSON, readable in
// redis-cli). Times are unix ms.
type storedAudit struct {
	At        int64    `json:"at"`
	Op        string   `json:"op"`
	Kind      string   `json:"kind"`
	ID        string   `json:"id"`
	Name      string   `json:"name,omitempty"`
	Attrs     []string `json:"attrs,omitempty"`
	Outcome   string   `json:"outcome"`
	RequestID string   `json:"rid,omitempty"`
}

// AppendAudit pushes r onto the tenant's list and trims it to
// state.AuditLimit in one transaction. Not retried: a replay after a lost
// reply would record the write twice.
func (s *Store) AppendAudit(ctx context.Context, r state.AuditRecord) error {
	const op = "append audit"
	if err := state.CheckAuditRecord(r); err != nil {
		return fmt.Errorf("redisstate: %s: %w", op, err)
	}
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	v, err := json.Marshal(storedAudit{At: r.Time.UnixMilli(), Op: r.Op, Kind: r.Kind, ID: r.ID, Name: r.Name,
		Attrs: r.Attrs, Outcome: r.Outcome, RequestID: r.RequestID})
	if err != nil {
		return fmt.Errorf("redisstate: %s: %w", op, err)
	}
	key := s.k.audit(r.Tenant)
	_, err = s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, key, v)
		p.LTrim(ctx, key, 0, state.AuditLimit-1)
		return nil
	})
	return s.wrap(ctx, op, err)
}

// AuditRecords reads the tenant's list, newest first, and filters it here:
// it holds at most state.AuditLimit small records.
func (s *Store) AuditRecords(ctx context.Context, tenant, user string, limit int) ([]state.AuditRecord, error) {
	const op = "audit records"
	if err := state.CheckAuditQuery(tenant, limit); err != nil {
		return nil, fmt.Errorf("redisstate: %s: %w", op, err)
	}
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	stop := int64(limit - 1)
	if user != "" {
		stop = state.AuditLimit - 1
	}
	var vs []string
	err := s.retried(ctx, func() (err error) {
		vs, err = s.c.LRange(ctx, s.k.audit(tenant), 0, stop).Result()
		return err
	})
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	user = strings.ToLower(user)
	var out []state.AuditRecord
	for _, v := range vs {
		var a storedAudit
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			return nil, fmt.Errorf("redisstate: %s: a record of tenant %q is corrupt: %w", op, tenant, err)
		}
		if user != "" && !strings.Contains(strings.ToLower(a.Name), user) && !strings.Contains(strings.ToLower(a.ID), user) {
			continue
		}
		out = append(out, state.AuditRecord{Time: time.UnixMilli(a.At).UTC(), Tenant: tenant, Op: a.Op, Kind: a.Kind,
			ID: a.ID, Name: a.Name, Attrs: a.Attrs, Outcome: a.Outcome, RequestID: a.RequestID})
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// optMs is a time as unix ms, the zero time as 0; fromOptMs reads it back.
func optMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromOptMs(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
