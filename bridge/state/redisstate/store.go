package redisstate

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// storedToken is a token's hash field value, JSON so that redis-cli shows
// it readably. Times are unix ms.
type storedToken struct {
	Hash    string `json:"hash"`
	Created int64  `json:"created"`
	Expires int64  `json:"expires"`
	// Used is FirstUsedAt, absent while 0.
	Used int64 `json:"used,omitempty"`
}

// PutToken stores t, replacing the tenant's token with the same ID.
func (s *Store) PutToken(ctx context.Context, t state.Token) error {
	const op = "put token"
	if t.Tenant == "" || t.ID == "" {
		return errors.New("redisstate: put token: tenant and id are required")
	}
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	v, err := json.Marshal(storedToken{Hash: t.Hash, Created: t.CreatedAt.UnixMilli(), Expires: t.ExpiresAt.UnixMilli(), Used: optMs(t.FirstUsedAt)})
	if err != nil {
		return fmt.Errorf("redisstate: put token: %w", err)
	}
	return s.wrap(ctx, op, s.retried(ctx, func() error {
		return s.c.HSet(ctx, s.k.tokens(t.Tenant), t.ID, v).Err()
	}))
}

// Tokens lists the tenant's tokens, oldest first (ties by ID).
func (s *Store) Tokens(ctx context.Context, tenant string) ([]state.Token, error) {
	const op = "list tokens"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	var m map[string]string
	err := s.retried(ctx, func() (err error) {
		m, err = s.c.HGetAll(ctx, s.k.tokens(tenant)).Result()
		return err
	})
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	ts := make([]state.Token, 0, len(m))
	for id, v := range m {
		var st storedToken
		if err := json.Unmarshal([]byte(v), &st); err != nil {
			return nil, fmt.Errorf("redisstate: list tokens: token %q of tenant %q is corrupt: %w", id, tenant, err)
		}
		ts = append(ts, state.Token{
			Tenant: tenant, ID: id, Hash: st.Hash,
			CreatedAt: time.UnixMilli(st.Created).UTC(), ExpiresAt: time.UnixMilli(st.Expires).UTC(),
			FirstUsedAt: fromOptMs(st.Used),
		})
	}
	slices.SortFunc(ts, func(a, b state.Token) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	if len(ts) == 0 {
		return nil, nil
	}
	return ts, nil
}

// DeleteToken removes one token; an unknown one gives state.ErrNotFound.
// Not retried: a replay after a lost reply would say "not found".
func (s *Store) DeleteToken(ctx context.Context, tenant, id string) error {
	const op = "delete token"
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	n, err := s.c.HDel(ctx, s.k.tokens(tenant), id).Result()
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	if n == 0 {
		return fmt.Errorf("redisstate: delete token %q of tenant %q: %w", id, tenant, state.ErrNotFound)
	}
	return nil
}

// answerFormat is the first byte of a stored answer, so that a later
// encoding can be told apart.
const answerFormat = 1

// encodeAnswer packs an answer into one string value, so that it is stored
// and expires with one SET: format byte, status and version (varints), the
// resource id (length-prefixed), then the body.
func encodeAnswer(a state.Answer) []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(a.ResourceID)+len(a.Body))
	b = append(b, answerFormat)
	b = binary.AppendVarint(b, int64(a.Status))
	b = binary.AppendVarint(b, a.Version)
	b = binary.AppendUvarint(b, uint64(len(a.ResourceID)))
	b = append(b, a.ResourceID...)
	return append(b, a.Body...)
}

func decodeAnswer(b []byte) (state.Answer, error) {
	if len(b) == 0 || b[0] != answerFormat {
		return state.Answer{}, errors.New("unknown answer format")
	}
	b = b[1:]
	status, n := binary.Varint(b)
	if n <= 0 {
		return state.Answer{}, errors.New("bad status")
	}
	b = b[n:]
	version, n := binary.Varint(b)
	if n <= 0 {
		return state.Answer{}, errors.New("bad version")
	}
	b = b[n:]
	idLen, n := binary.Uvarint(b)
	if n <= 0 || idLen > uint64(len(b)-n) {
		return state.Answer{}, errors.New("bad resource id")
	}
	b = b[n:]
	a := state.Answer{Status: int(status), Version: version, ResourceID: string(b[:idLen])}
	a.Body = append([]byte{}, b[idLen:]...)
	return a, nil
}

// Answer returns the stored answer for key, or state.ErrNotFound.
func (s *Store) Answer(ctx context.Context, key string) (state.Answer, error) {
	const op = "answer"
	if err := s.begin(ctx, op); err != nil {
		return state.Answer{}, err
	}
	var b []byte
	err := s.retried(ctx, func() (err error) {
		b, err = s.c.Get(ctx, s.k.answer(key)).Bytes()
		return err
	})
	if err != nil {
		return state.Answer{}, s.wrap(ctx, op, err)
	}
	a, err := decodeAnswer(b)
	if err != nil {
		return state.Answer{}, fmt.Errorf("redisstate: answer: stored answer is corrupt: %w", err)
	}
	return a, nil
}

// PutAnswer stores a for key for ttl (Redis expires it).
func (s *Store) PutAnswer(ctx context.Context, key string, a state.Answer, ttl time.Duration) error {
	const op = "put answer"
	if key == "" {
		return errors.New("redisstate: put answer: key is empty")
	}
	if ttl <= 0 {
		return fmt.Errorf("redisstate: put answer: ttl %s is not positive", ttl)
	}
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	v := encodeAnswer(a)
	ttl = ceilMillis(ttl) // SET rounds PX down to milliseconds; never to 0
	return s.wrap(ctx, op, s.retried(ctx, func() error {
		return s.c.Set(ctx, s.k.answer(key), v, ttl).Err()
	}))
}

// Version returns the resource's current version (0 if never written).
func (s *Store) Version(ctx context.Context, resource string) (int64, error) {
	const op = "version"
	if err := s.begin(ctx, op); err != nil {
		return 0, err
	}
	var v int64
	err := s.retried(ctx, func() (err error) {
		v, err = s.c.Get(ctx, s.k.version(resource)).Int64()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, s.wrap(ctx, op, err)
	}
	return v, nil
}

// BumpVersion increments the resource's version (INCR) and returns it. Not
// retried: a replay would count one write twice.
func (s *Store) BumpVersion(ctx context.Context, resource string) (int64, error) {
	const op = "bump version"
	if resource == "" {
		return 0, errors.New("redisstate: bump version: resource is empty")
	}
	if err := s.begin(ctx, op); err != nil {
		return 0, err
	}
	v, err := s.c.Incr(ctx, s.k.version(resource)).Result()
	if err != nil {
		return 0, s.wrap(ctx, op, err)
	}
	return v, nil
}

// lockScript takes the lock for ARGV[1] for ARGV[2] ms if it is free or
// already ARGV[1]'s (a renewal); 1 if taken. Running it twice for one owner
// changes nothing, so it may be retried.
var lockScript = redis.NewScript(`
local holder = redis.call('GET', KEYS[1])
if holder == false then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
	return 1
end
if holder == ARGV[1] then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	return 1
end
return 0
`)

// unlockScript deletes the lock only if ARGV[1] holds it.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// TryLock takes or renews the lease on key for owner.
func (s *Store) TryLock(ctx context.Context, key, owner string, lease time.Duration) (bool, error) {
	const op = "lock"
	if key == "" || owner == "" {
		return false, errors.New("redisstate: lock: key and owner are required")
	}
	if lease <= 0 {
		return false, fmt.Errorf("redisstate: lock: lease %s is not positive", lease)
	}
	if err := s.begin(ctx, op); err != nil {
		return false, err
	}
	var got int64
	err := s.retried(ctx, func() (err error) {
		got, err = lockScript.Run(ctx, s.c, []string{s.k.lock(key)}, owner, ceilMillis(lease).Milliseconds()).Int64()
		return err
	})
	if err != nil {
		return false, s.wrap(ctx, op, err)
	}
	return got == 1, nil
}

// Unlock releases the lock if owner holds it; otherwise it does nothing.
func (s *Store) Unlock(ctx context.Context, key, owner string) error {
	const op = "unlock"
	if key == "" || owner == "" {
		return errors.New("redisstate: unlock: key and owner are required")
	}
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	return s.wrap(ctx, op, s.retried(ctx, func() error {
		return unlockScript.Run(ctx, s.c, []string{s.k.lock(key)}, owner).Err()
	}))
}

// ceilMillis rounds d up to whole milliseconds, so that a sub-millisecond
// ttl or lease does not become 0 (which Redis refuses).
func ceilMillis(d time.Duration) time.Duration {
	if r := d % time.Millisecond; r != 0 {
		d += time.Millisecond - r
	}
	return d
}

// ms is a time as unix milliseconds, the zero time as 0.
func ms(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// fromMS reads what ms wrote.
func fromMS(v string) (time.Time, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	if n == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(n).UTC(), nil
}
