package ldap

import (
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
)

// The bridge writes a PATCH as Get, diff, Modify, under the resource's
// lock. Modify needs the entry's DN, objectClass, naming attribute and
// active flags, which the Get has just read: recentEntries keeps those
// few attributes of each entry Get read, for a short time, and the next
// Modify of that id takes them instead of searching again.
//
// Why that adds no staleness: the bridge's diff (what Modify writes) is
// already based on that same read, so the Modify is exactly as fresh as it
// was. What the entry itself is used for (its DN, the flags kept by
// read-modify-write, the auxiliary classes it has) is checked by the
// directory, atomically with the write: the first write carries an
// assertion (RFC 4528) that the entry at that DN has this id, these flags
// and these classes. A renamed or deleted entry (noSuchObject), another
// entry now at the DN, flags or classes changed by someone else
// (assertionFailed) send Modify back to the lookup, once. Where the
// directory does not support the assertion control (389 DS and Samba do
// not list it), the entries are not used.
//
// The cache has a fixed number of slots, so memory does not grow with the
// directory; an entry is taken by the Modify (or Delete) that uses it,
// and is ignored after recentTTL.
const (
	recentSlots = 512
	recentTTL   = 2 * time.Second
)

type recentKey struct {
	kind backends.Kind
	id   string
}

type recentSlot struct {
	key recentKey
	e   *goldap.Entry
	at  time.Time
}

type recentEntries struct {
	mu    sync.Mutex
	slots []recentSlot
	index map[recentKey]int
	next  int // the slot the next new key takes (the oldest)
	ttl   time.Duration
	now   func() time.Time
}

func newRecentEntries(n int, ttl time.Duration) *recentEntries {
	return &recentEntries{slots: make([]recentSlot, n), index: make(map[recentKey]int, n), ttl: ttl, now: time.Now}
}

// put remembers e (only the attributes Modify reads, see modifyAttrs) as
// the entry of kind k with id.
func (r *recentEntries) put(k *kindLayout, id string, e *goldap.Entry) {
	if id == "" {
		return
	}
	keep := &goldap.Entry{DN: e.DN}
	want := k.modifyAttrs()
	for _, a := range e.Attributes {
		if k.hasAttr(want, a.Name) {
			keep.Attributes = append(keep.Attributes, a)
		}
	}
	key := recentKey{k.kind, k.canonicalID(id)}
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.index[key]
	if !ok {
		i = r.next
		r.next = (r.next + 1) % len(r.slots)
		if old := r.slots[i]; old.e != nil {
			delete(r.index, old.key)
		}
		r.index[key] = i
	}
	r.slots[i] = recentSlot{key: key, e: keep, at: r.now()}
}

// take returns the entry of kind k with id Get read less than ttl ago, or
// nil, and forgets it: the write that uses it changes the entry.
func (r *recentEntries) take(k *kindLayout, id string) *goldap.Entry {
	key := recentKey{k.kind, k.canonicalID(id)}
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.index[key]
	if !ok {
		return nil
	}
	s := r.slots[i]
	delete(r.index, key)
	r.slots[i] = recentSlot{}
	if r.now().Sub(s.at) > r.ttl {
		return nil
	}
	return s.e
}

// canonicalID is the form of id that entryID renders, so that the id a
// client sent and the one a record carries find the same slot.
func (k *kindLayout) canonicalID(id string) string {
	if k.idKind == idUUID || k.idKind == idGUID {
		if u, err := parseUUID(id); err == nil {
			return u.String()
		}
	}
	return id
}
