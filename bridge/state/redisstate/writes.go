package redisstate

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// The write bundles are pipelines of the primitives' own commands, not one
// script: the lock, answer, version and queue keys of a write live in
// different slots of a Cluster, and a pipeline reaches them all in one
// round trip (a ClusterClient sends each node its part at once). The lock
// script is sent with EVAL, not EVALSHA: inside a pipeline a NOSCRIPT
// (after a Redis restart) could not fall back to EVAL.

// BeginWrite takes b.Locks for b.Owner, all or none, and reads the stored
// answer and the resource's backlog, in one round trip. If a lock is held
// by another owner, a second round trip releases the ones taken.
func (s *Store) BeginWrite(ctx context.Context, b state.WriteBegin) (state.WriteStart, error) {
	const op = "begin write"
	if err := state.CheckWriteBegin(b); err != nil {
		return state.WriteStart{}, fmt.Errorf("redisstate: %s: %w", op, err)
	}
	if err := s.begin(ctx, op); err != nil {
		return state.WriteStart{}, err
	}
	var (
		locks  []*redis.Cmd
		answer *redis.StringCmd
		queued *redis.IntCmd
	)
	// Every command is safe to repeat (taking a lock one holds renews it).
	err := s.retried(ctx, func() error {
		pipe := s.c.Pipeline()
		locks = locks[:0]
		for _, k := range b.Locks {
			locks = append(locks, lockScript.Eval(ctx, pipe, []string{s.k.lock(k)}, b.Owner, ceilMillis(b.Lease).Milliseconds()))
		}
		answer, queued = nil, nil
		if b.Answer != "" {
			answer = pipe.Get(ctx, s.k.answer(b.Answer))
		}
		if b.Resource != "" {
			queued = pipe.ZCard(ctx, s.k.resource(b.Tenant, b.Resource))
		}
		_, err := pipe.Exec(ctx)
		if errors.Is(err, redis.Nil) {
			err = nil // no stored answer: each command's own error is read below
		}
		return err
	})
	if err != nil {
		return state.WriteStart{}, s.wrap(ctx, op, err)
	}
	var taken []string
	for i, c := range locks {
		if n, err := c.Int64(); err == nil && n == 1 {
			taken = append(taken, b.Locks[i])
		}
	}
	if len(taken) < len(b.Locks) {
		if err := s.unlock(ctx, taken, b.Owner); err != nil {
			return state.WriteStart{}, s.wrap(ctx, op, err)
		}
		return state.WriteStart{}, nil
	}
	start := state.WriteStart{Locked: true}
	if answer != nil {
		raw, err := answer.Bytes()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return state.WriteStart{}, s.wrap(ctx, op, err)
		default:
			// A corrupt record is no answer: the write is applied again,
			// which the natural keys make safe.
			if a, err := decodeAnswer(raw); err == nil {
				start.Answer = &a
			}
		}
	}
	if queued != nil {
		n, err := queued.Result()
		if err != nil {
			return state.WriteStart{}, s.wrap(ctx, op, err)
		}
		start.Pending = int(n)
	}
	return start, nil
}

// EndWrite bumps the version and stores the answer, then releases the
// locks: two round trips (the answer carries the version INCR returns).
func (s *Store) EndWrite(ctx context.Context, e state.WriteEnd) error {
	const op = "end write"
	if err := state.CheckWriteEnd(e); err != nil {
		return fmt.Errorf("redisstate: %s: %w", op, err)
	}
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	var answer []byte
	if e.Key != "" {
		// Not retried: a replay would count one write twice.
		v, err := s.c.Incr(ctx, s.k.version(e.Version)).Result()
		if err != nil {
			return s.wrap(ctx, op, err)
		}
		a := e.Answer
		a.Version = v
		answer = encodeAnswer(a)
	}
	return s.wrap(ctx, op, s.retried(ctx, func() error {
		pipe := s.c.Pipeline()
		if answer != nil {
			pipe.Set(ctx, s.k.answer(e.Key), answer, ceilMillis(e.TTL))
		}
		for _, k := range e.Locks {
			unlockScript.Eval(ctx, pipe, []string{s.k.lock(k)}, e.Owner)
		}
		if pipe.Len() == 0 {
			return nil
		}
		_, err := pipe.Exec(ctx)
		return err
	}))
}

// unlock releases keys held by owner in one round trip.
func (s *Store) unlock(ctx context.Context, keys []string, owner string) error {
	if len(keys) == 0 {
		return nil
	}
	return s.retried(ctx, func() error {
		pipe := s.c.Pipeline()
		for _, k := range keys {
			unlockScript.Eval(ctx, pipe, []string{s.k.lock(k)}, owner)
		}
		_, err := pipe.Exec(ctx)
		return err
	})
}
