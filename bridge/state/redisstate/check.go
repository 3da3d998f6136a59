package redisstate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// CheckServer reads the settings that decide whether this Redis can be
// trusted with the retry queue, and returns one reason a person can act on
// per problem (none: the settings are safe). The bridge refuses to start
// on a problem unless its configuration accepts the risk.
//
// It wants maxmemory-policy noeviction (any other policy deletes keys when
// memory runs out, queued jobs and leases included) and persistence:
// appendonly yes, or RDB snapshots (save) configured. On a Cluster every
// master is checked. Managed services often forbid CONFIG: then the
// settings are read from INFO, which shows the eviction policy and whether
// AOF is on but not the snapshot schedule, and the reasons say so.
//
// err is for Redis not answering (state.ErrUnavailable) or a reply that
// cannot be read; problems are the settings themselves.
func (s *Store) CheckServer(ctx context.Context) (problems []string, err error) {
	const op = "check server"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	cc, ok := s.c.(*redis.ClusterClient)
	if !ok {
		problems, err = checkNode(ctx, s.c, "")
		return problems, s.wrap(ctx, op, err)
	}
	var mu sync.Mutex
	err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		p, err := checkNode(ctx, c, "node "+c.Options().Addr+": ")
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, p...)
		return err
	})
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	sort.Strings(problems) // masters answer in any order
	return problems, nil
}

// checkNode checks one server; node prefixes its reasons.
func checkNode(ctx context.Context, c redis.Cmdable, node string) ([]string, error) {
	conf := map[string]string{}
	for _, name := range []string{"maxmemory-policy", "appendonly", "save"} {
		m, err := c.ConfigGet(ctx, name).Result()
		if err != nil {
			var re redis.Error
			if errors.As(err, &re) && !unavailable(err) {
				// CONFIG is renamed away or not granted (managed Redis).
				return checkInfo(ctx, c, node, err)
			}
			return nil, err
		}
		v, ok := m[name]
		if !ok {
			return nil, fmt.Errorf("CONFIG GET %s returned no value", name)
		}
		conf[name] = v
	}
	var problems []string
	if p := conf["maxmemory-policy"]; p != "noeviction" {
		problems = append(problems, fmt.Sprintf("%smaxmemory-policy is %s, not noeviction: when memory runs out Redis "+
			"deletes keys, and with them queued jobs, leases, locks and idempotency records "+
			"(set maxmemory-policy noeviction, on a Redis or database of its own)", node, p))
	}
	if conf["appendonly"] != "yes" && strings.TrimSpace(conf["save"]) == "" {
		problems = append(problems, fmt.Sprintf("%spersistence is off (appendonly %s, save \"\"): a restart of Redis "+
			"loses the retry queue, whose jobs Entra was told were kept "+
			"(set appendonly yes with appendfsync everysec)", node, conf["appendonly"]))
	}
	return problems, nil
}

// checkInfo checks what INFO shows when CONFIG GET was refused with
// refused.
func checkInfo(ctx context.Context, c redis.Cmdable, node string, refused error) ([]string, error) {
	info, err := c.Info(ctx, "memory", "persistence").Result()
	if err != nil {
		return nil, err
	}
	fields := map[string]string{}
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok {
			fields[k] = v
		}
	}
	why := fmt.Sprintf("CONFIG GET was refused (%v), so this was read from INFO", refused)
	var problems []string
	switch p, ok := fields["maxmemory_policy"]; {
	case !ok:
		problems = append(problems, fmt.Sprintf("%sthe eviction policy cannot be read: %s, which does not show "+
			"maxmemory_policy; make sure the provider sets maxmemory-policy noeviction", node, why))
	case p != "noeviction":
		problems = append(problems, fmt.Sprintf("%smaxmemory-policy is %s, not noeviction (%s): when memory runs out "+
			"Redis deletes keys, and with them queued jobs, leases, locks and idempotency records "+
			"(set maxmemory-policy noeviction, on a Redis or database of its own)", node, p, why))
	}
	if fields["aof_enabled"] != "1" {
		problems = append(problems, fmt.Sprintf("%sAOF is off (aof_enabled:%s) and whether RDB snapshots are "+
			"scheduled cannot be seen (%s): unless the provider persists this Redis, a restart loses the "+
			"retry queue (turn on AOF, appendonly yes)", node, fields["aof_enabled"], why))
	}
	return problems, nil
}
