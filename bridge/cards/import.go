package cards

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/mapping"
)

// Key says which user attribute the file's user column holds.
type Key string

// The keys a row may name its user by.
const (
	KeyUserName       Key = "userName"
	KeyExternalID     Key = "externalId"
	KeyEmail          Key = "email"
	KeyEmployeeNumber Key = "employeeNumber"
)

// Keys lists the keys in the order the help texts name them.
var Keys = []Key{KeyUserName, KeyExternalID, KeyEmail, KeyEmployeeNumber}

// scimPath is the SCIM attribute the mapping stores the key's values in.
func (k Key) scimPath() string {
	switch k {
	case KeyEmail:
		return `emails[type eq "work"].value`
	case KeyEmployeeNumber:
		return "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"
	}
	return string(k)
}

// ParseKey reads a key as a flag or parameter gives it (case-insensitive).
func ParseKey(s string) (Key, error) {
	for _, k := range Keys {
		if strings.EqualFold(s, string(k)) {
			return k, nil
		}
	}
	names := make([]string, len(Keys))
	for i, k := range Keys {
		names[i] = string(k)
	}
	return "", fmt.Errorf("cards: key %q is not one of %s", s, strings.Join(names, ", "))
}

// Reason is why a row was rejected.
type Reason string

// Every reason a row can be rejected for.
const (
	NoSuchUser    Reason = "no-such-user"
	Deprovisioned Reason = "deprovisioned"
	TwoUsers      Reason = "matches-two-users"
	CardTaken     Reason = "card-held-by-another-user"
	BadRow        Reason = "bad-row"
)

// Rejection is one rejected row.
type Rejection struct {
	Line   int    `json:"line"`
	Reason Reason `json:"reason"`
	User   string `json:"user,omitempty"`
	Card   string `json:"card,omitempty"`
	Detail string `json:"detail"`
}

// Options say how to read the file and what to do with it.
type Options struct {
	// Key is what the user column holds; default userName.
	Key Key
	// UserColumn and CardColumn name the header's columns (compared
	// case-insensitively); defaults: the key's name, and "card".
	UserColumn, CardColumn string
	// Delimiter is ',' or ';'; 0 detects it from the header.
	Delimiter rune
	// Replace makes each user named in the file hold exactly its cards.
	Replace bool
	// DryRun decides every row as a real run would and writes nothing.
	DryRun bool
	// ResumeAt skips the rows that start before this line (the header is
	// line 1): what an interrupted import's Result.ResumeAt says.
	ResumeAt int
	// BatchSize is how many rows go to the store per transaction;
	// default 500.
	BatchSize int
	// OnReject is told every rejected row, in file order.
	OnReject func(Rejection)
	// OnProgress is told the progress after every batch.
	OnProgress func(Progress)
}

// DefaultBatchSize is Options.BatchSize when unset.
const DefaultBatchSize = 500

// writeTimeout bounds one batch's write, which an interruption does not
// cancel (importer.modify).
const writeTimeout = 2 * time.Minute

// Progress is how far an import has come.
type Progress struct {
	Line      int           `json:"line"` // last line read
	Rows      int           `json:"rows"`
	Added     int           `json:"added"`
	Unchanged int           `json:"unchanged"`
	Removed   int           `json:"removed"`
	Rejected  int           `json:"rejected"`
	Bytes     int64         `json:"bytes"` // of the file consumed
	Elapsed   time.Duration `json:"elapsed_ns"`
}

// Result is what an import did.
type Result struct {
	Tenant  string `json:"tenant"`
	DryRun  bool   `json:"dry_run"`
	Replace bool   `json:"replace"`
	// Rows counts the data rows read, not those skipped by ResumeAt.
	Rows      int            `json:"rows"`
	Skipped   int            `json:"skipped"`
	Added     int            `json:"added"`
	Unchanged int            `json:"unchanged"`
	Removed   int            `json:"removed"`
	Rejected  map[Reason]int `json:"rejected"`
	// Stopped is set when the import ended early (cancelled, or the store
	// failed): every batch before ResumeAt is committed, none after.
	Stopped  bool          `json:"stopped"`
	ResumeAt int           `json:"resume_at,omitempty"`
	Error    string        `json:"error,omitempty"`
	Elapsed  time.Duration `json:"elapsed_ns"`
}

// RejectedRows is the number of rejected rows.
func (r Result) RejectedRows() int {
	n := 0
	for _, c := range r.Rejected {
		n += c
	}
	return n
}

// Summary says in a few lines what the import did, for people.
func (r Result) Summary() string {
	var b strings.Builder
	verb := func(done, would string) string {
		if r.DryRun {
			return would
		}
		return done
	}
	fmt.Fprintf(&b, "%d rows read", r.Rows)
	if r.Skipped > 0 {
		fmt.Fprintf(&b, " (%d before the resume line skipped)", r.Skipped)
	}
	fmt.Fprintf(&b, ": %d cards %s, %d unchanged", r.Added, verb("added", "would be added"), r.Unchanged)
	if r.Replace {
		fmt.Fprintf(&b, ", %d %s", r.Removed, verb("removed", "would be removed"))
	}
	fmt.Fprintf(&b, ", %d rejected", r.RejectedRows())
	if n := r.RejectedRows(); n > 0 {
		var parts []string
		for _, reason := range []Reason{NoSuchUser, Deprovisioned, TwoUsers, CardTaken, BadRow} {
			if c := r.Rejected[reason]; c > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", c, reason))
			}
		}
		b.WriteString(" (" + strings.Join(parts, ", ") + ")")
	}
	b.WriteString(".\n")
	switch {
	case r.DryRun:
		b.WriteString("Dry run: nothing was written.\n")
	case r.Added+r.Removed == 0 && !r.Stopped && r.Unchanged > 0 && r.RejectedRows() == 0:
		b.WriteString("Nothing changed: every card of the file was already held by its user.\n")
	case r.Added+r.Removed == 0 && !r.Stopped:
		b.WriteString("Nothing changed.\n")
	}
	if r.Stopped {
		fmt.Fprintf(&b, "Stopped early (%s): every batch before line %d is committed, nothing after it. Resume with --resume-at %d.\n",
			r.Error, r.ResumeAt, r.ResumeAt)
	}
	return b.String()
}

// Target is the tenant an import writes into.
type Target struct {
	Tenant  string
	Backend backends.Backend
	Mapping *mapping.Mapping
	// Audit receives one record per card added or removed.
	Audit hclog.Logger
}

// ErrNoCardAttribute is wrapped when the tenant's mapping stores no cards.
var ErrNoCardAttribute = errors.New("cards: the tenant has no card attribute")

// ErrNoKey is wrapped when the mapping does not store the chosen key.
var ErrNoKey = errors.New("cards: the mapping does not store the key")

// Check says whether the tenant can take cards matched by key, before any
// file is read.
func (t Target) Check(key Key) error {
	if _, ok := t.Mapping.CardsTarget(); !ok {
		return fmt.Errorf("%w: tenant %s's mapping maps no badgeCards attribute of a User extension (such as urn:ietf:params:scim:schemas:extension:pharos:2.0:User:badgeCards) to a multi-valued directory attribute; add one to import cards",
			ErrNoCardAttribute, t.Tenant)
	}
	if key == "" {
		key = KeyUserName
	}
	if _, ok := t.Mapping.Target(scim.User, key.scimPath()); !ok {
		return fmt.Errorf("%w: tenant %s's mapping does not store %s (%s), so rows cannot name users by it", ErrNoKey, t.Tenant, key, key.scimPath())
	}
	return nil
}

// Import reads the card file r into the tenant. The error is set when the
// file is unusable (ErrFile), the tenant cannot take cards, or the import
// stopped early; then the Result says where to resume (Stopped, ResumeAt).
func Import(ctx context.Context, t Target, r io.Reader, o Options) (Result, error) {
	start := time.Now()
	if o.Key == "" {
		o.Key = KeyUserName
	}
	if o.UserColumn == "" {
		o.UserColumn = string(o.Key)
	}
	if o.CardColumn == "" {
		o.CardColumn = "card"
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if t.Audit == nil {
		t.Audit = hclog.NewNullLogger()
	}
	res := Result{Tenant: t.Tenant, DryRun: o.DryRun, Replace: o.Replace, Rejected: map[Reason]int{}}
	if err := t.Check(o.Key); err != nil {
		return res, err
	}
	if o.Delimiter != 0 && o.Delimiter != ',' && o.Delimiter != ';' {
		return res, fmt.Errorf("cards: the delimiter %q is not , or ;", string(o.Delimiter))
	}
	rd, err := newReader(r, o.Delimiter, o.UserColumn, o.CardColumn)
	if err != nil {
		return res, err
	}
	cardAttr, _ := t.Mapping.CardsTarget()
	keyAttr, _ := t.Mapping.Target(scim.User, o.Key.scimPath())
	im := &importer{t: t, o: o, cardAttr: cardAttr, keyAttr: keyAttr, res: &res, start: start}
	im.batcher, _ = t.Backend.(backends.BatchModifier)
	if o.Replace {
		im.keep = map[string]map[string]bool{}
	}
	err = im.run(ctx, rd)
	if err == nil && o.Replace {
		err = im.removeOthers(ctx)
	}
	res.Elapsed = time.Since(start)
	if err != nil && res.Stopped {
		res.Error = err.Error()
		if ctx.Err() != nil {
			res.Error = "interrupted"
		}
	}
	return res, err
}

// importer is one run of Import.
type importer struct {
	t        Target
	o        Options
	cardAttr string
	keyAttr  string
	batcher  backends.BatchModifier // nil: one Modify per row
	res      *Result
	start    time.Time
	line     int // where the last row read starts
	// keep holds, with Replace, the folded cards the file gives each user
	// (by id): after the last row, every other card of theirs is removed.
	keep map[string]map[string]bool
}

// fold is how the import compares card numbers itself (a user already
// holding a card): case-insensitively, as every shipped store does. The
// store's own comparison stays the arbiter of what is written.
func fold(card string) string { return strings.ToLower(card) }

func (im *importer) run(ctx context.Context, rd *reader) error {
	batch := make([]row, 0, im.o.BatchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		first := batch[0].line
		if err := im.batch(ctx, batch); err != nil {
			im.res.Stopped, im.res.ResumeAt = true, first
			return err
		}
		batch = batch[:0]
		im.progress(rd)
		return nil
	}
	// stop marks where the import ended early: at the batch in hand, which
	// is not written, or after the last row read, which is.
	stop := func(err error) error {
		im.res.Stopped, im.res.ResumeAt = true, im.line+1
		if len(batch) > 0 {
			im.res.ResumeAt = batch[0].line
		}
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return stop(fmt.Errorf("cards: import interrupted: %w", err))
		}
		r, err := rd.next()
		if errors.Is(err, io.EOF) {
			return flush()
		}
		if err != nil {
			return stop(err) // the file breaks off here: what came before is in
		}
		im.line = r.line
		if r.line < im.o.ResumeAt {
			im.res.Skipped++
			if im.keep != nil && r.bad == "" {
				if err := im.remember(ctx, r); err != nil {
					im.res.Stopped, im.res.ResumeAt = true, max(im.o.ResumeAt, 1)
					return err
				}
			}
			continue
		}
		batch = append(batch, r)
		if len(batch) == im.o.BatchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

func (im *importer) progress(rd *reader) {
	if im.o.OnProgress == nil {
		return
	}
	im.o.OnProgress(Progress{
		Line: im.line, Rows: im.res.Rows, Added: im.res.Added, Unchanged: im.res.Unchanged,
		Removed: im.res.Removed, Rejected: im.res.RejectedRows(), Bytes: rd.offset(), Elapsed: time.Since(im.start),
	})
}

// remember records, for Replace, the card of a row before the resume line:
// that part of the file was imported by an earlier run, and its cards are
// the users' cards too.
func (im *importer) remember(ctx context.Context, r row) error {
	u, _, err := im.user(ctx, r.user, map[string]lookup{})
	if err != nil || u == nil {
		return err
	}
	im.keepCard(u.ID, r.card)
	return nil
}

func (im *importer) keepCard(id, card string) {
	if im.keep == nil {
		return
	}
	set := im.keep[id]
	if set == nil {
		set = map[string]bool{}
		im.keep[id] = set
	}
	set[fold(card)] = true
}

// lookup is a user key's resolution: the user, or why there is none.
type lookup struct {
	rec    *backends.Record
	reason Reason
	detail string
}

// user finds the one user the key names, through the batch's cache.
func (im *importer) user(ctx context.Context, key string, cache map[string]lookup) (*backends.Record, lookup, error) {
	if l, ok := cache[key]; ok {
		return l.rec, l, nil
	}
	recs, _, err := im.t.Backend.Find(ctx, backends.Query{Kind: backends.User,
		Filter: backends.Cmp{Attr: im.keyAttr, Op: backends.Eq, Value: key}, Limit: 2})
	if err != nil {
		return nil, lookup{}, fmt.Errorf("cards: look up %s %q: %w", im.o.Key, key, err)
	}
	var l lookup
	switch {
	case len(recs) == 0:
		l = lookup{reason: NoSuchUser, detail: fmt.Sprintf("no user has %s %q", im.o.Key, key)}
	case len(recs) > 1:
		l = lookup{reason: TwoUsers, detail: fmt.Sprintf("%s %q matches users %s and %s; name the user by a unique key", im.o.Key, key, recs[0].ID, recs[1].ID)}
	case im.t.Mapping.Deprovisioned(scim.User, recs[0]):
		l = lookup{reason: Deprovisioned, detail: fmt.Sprintf("user %s was deprovisioned (deleted in Entra, kept in the directory)", recs[0].ID)}
	default:
		l = lookup{rec: &recs[0]}
	}
	cache[key] = l
	return l.rec, l, nil
}

// prefetch resolves the batch's user keys in one query instead of one per
// row. Only a key that exactly one record holds byte for byte, and no
// other record holds in another case, is settled here: every other key
// (no record, a case variant, two candidates) is left to user's own query,
// so that the store's comparison decides it as it decides a single key.
func (im *importer) prefetch(ctx context.Context, rows []row, cache map[string]lookup) error {
	var keys []string
	seen := map[string]bool{}
	for _, r := range rows {
		if r.bad == "" && !seen[r.user] {
			seen[r.user] = true
			keys = append(keys, r.user)
		}
	}
	if len(keys) < 2 {
		return nil
	}
	limit := 2*len(keys) + 1
	recs, _, err := im.t.Backend.Find(ctx, backends.Query{Kind: backends.User, Filter: anyOf(im.keyAttr, keys), Limit: limit})
	if err != nil {
		return fmt.Errorf("cards: look up a batch of users: %w", err)
	}
	if len(recs) == limit {
		return nil // keys held many times over: one query per key
	}
	byFold := map[string][]int{}
	for i, rec := range recs {
		for _, v := range rec.Attrs[im.keyAttr] {
			byFold[strings.ToLower(v)] = append(byFold[strings.ToLower(v)], i)
		}
	}
	for _, k := range keys {
		cand := byFold[strings.ToLower(k)]
		if len(cand) != 1 || !slices.Contains(recs[cand[0]].Attrs[im.keyAttr], k) {
			continue
		}
		rec := recs[cand[0]]
		if im.t.Mapping.Deprovisioned(scim.User, rec) {
			continue // user's own query words the rejection
		}
		cache[k] = lookup{rec: &rec}
	}
	return nil
}

// anyOf is attr equal to any of vals, as a balanced tree of Or, so that
// its depth (which the SQL store bounds) grows with the log of the batch.
func anyOf(attr string, vals []string) backends.Expr {
	if len(vals) == 1 {
		return backends.Cmp{Attr: attr, Op: backends.Eq, Value: vals[0]}
	}
	mid := len(vals) / 2
	return backends.Or{Left: anyOf(attr, vals[:mid]), Right: anyOf(attr, vals[mid:])}
}

// write is one card to add, for one row.
type write struct {
	r    row
	user *backends.Record
}

// batchCounts is what one batch did, merged into the Result only once the
// batch is committed.
type batchCounts struct {
	added, unchanged int
	rejections       []Rejection
	keep             []write
}

func (c *batchCounts) reject(r row, reason Reason, detail string) {
	c.rejections = append(c.rejections, Rejection{Line: r.line, Reason: reason, User: r.user, Card: r.card, Detail: detail})
}

// batch decides every row of the batch and writes its new cards.
func (im *importer) batch(ctx context.Context, rows []row) error {
	var c batchCounts
	cache := map[string]lookup{}
	if err := im.prefetch(ctx, rows, cache); err != nil {
		return err
	}
	// held maps, within the batch, folded cards to the user they go to.
	held := map[string]string{}
	var writes []write
	for _, r := range rows {
		if r.bad != "" {
			c.reject(r, BadRow, r.bad)
			continue
		}
		u, l, err := im.user(ctx, r.user, cache)
		if err != nil {
			return err
		}
		if u == nil {
			c.reject(r, l.reason, l.detail)
			continue
		}
		f := fold(r.card)
		if owner, ok := held[f]; ok {
			if owner == u.ID {
				c.unchanged++
				c.keep = append(c.keep, write{r, u})
			} else {
				c.reject(r, CardTaken, fmt.Sprintf("an earlier row of the file gives card %q to user %s", r.card, owner))
			}
			continue
		}
		if holds(u, im.cardAttr, f) {
			held[f] = u.ID
			c.unchanged++
			c.keep = append(c.keep, write{r, u})
			continue
		}
		if im.batcher == nil {
			// No transaction and, in a directory, no unique index: ask the
			// directory who holds the card, with its own matching rule.
			holder, err := im.holder(ctx, r.card)
			if err != nil {
				return err
			}
			if holder == u.ID {
				held[f] = u.ID
				c.unchanged++
				c.keep = append(c.keep, write{r, u})
				continue
			}
			if holder != "" {
				c.reject(r, CardTaken, fmt.Sprintf("card %q is held by user %s", r.card, holder))
				continue
			}
		}
		held[f] = u.ID
		writes = append(writes, write{r, u})
	}
	if err := im.write(ctx, writes, &c); err != nil {
		return err
	}
	im.res.Rows += len(rows)
	im.res.Added += c.added
	im.res.Unchanged += c.unchanged
	for _, rj := range c.rejections {
		im.res.Rejected[rj.Reason]++
	}
	sort.SliceStable(c.rejections, func(i, j int) bool { return c.rejections[i].Line < c.rejections[j].Line })
	if im.o.OnReject != nil {
		for _, rj := range c.rejections {
			im.o.OnReject(rj)
		}
	}
	for _, w := range c.keep {
		im.keepCard(w.user.ID, w.r.card)
	}
	return nil
}

// holds reports whether the user holds the (folded) card already.
func holds(u *backends.Record, attr, folded string) bool {
	for _, v := range u.Attrs[attr] {
		if fold(v) == folded {
			return true
		}
	}
	return false
}

// holder is the id of a user holding card, "" when none does.
func (im *importer) holder(ctx context.Context, card string) (string, error) {
	recs, _, err := im.t.Backend.Find(ctx, backends.Query{Kind: backends.User,
		Filter: backends.Cmp{Attr: im.cardAttr, Op: backends.Eq, Value: card}, Limit: 1})
	if err != nil {
		return "", fmt.Errorf("cards: look up who holds a card: %w", err)
	}
	if len(recs) == 0 {
		return "", nil
	}
	return recs[0].ID, nil
}

// write adds the batch's new cards: in one transaction where the store has
// them, else one Modify per card. Each row's outcome is the store's.
func (im *importer) write(ctx context.Context, writes []write, c *batchCounts) error {
	if len(writes) == 0 {
		return nil
	}
	batch := make([]backends.RecordChanges, len(writes))
	for i, w := range writes {
		batch[i] = backends.RecordChanges{ID: w.user.ID, Changes: []backends.Change{{Op: backends.Add, Attr: im.cardAttr, Values: []string{w.r.card}}}}
	}
	errs, err := im.modify(ctx, batch)
	if err != nil {
		return fmt.Errorf("cards: write the batch from line %d: %w", writes[0].r.line, err)
	}
	for i, w := range writes {
		err := errs[i]
		var conflict *backends.ConflictError
		var invalid *backends.InvalidError
		switch {
		case err == nil:
			c.added++
			c.keep = append(c.keep, w)
			if !im.o.DryRun {
				im.audit("card-add", w.user.ID, w.r.line, w.r.card)
			}
		case errors.As(err, &conflict):
			detail := fmt.Sprintf("card %q is held by another user", w.r.card)
			if conflict.ID != "" {
				detail = fmt.Sprintf("card %q is held by user %s", w.r.card, conflict.ID)
			}
			c.reject(w.r, CardTaken, detail)
		case errors.Is(err, backends.ErrConflict):
			c.reject(w.r, CardTaken, fmt.Sprintf("card %q is held by another user", w.r.card))
		case errors.Is(err, backends.ErrNotFound):
			c.reject(w.r, NoSuchUser, fmt.Sprintf("user %s was deleted during the import", w.user.ID))
		case errors.As(err, &invalid):
			c.reject(w.r, BadRow, "the store refused the card number: "+invalid.Reason)
		default:
			c.reject(w.r, BadRow, "the store refused the card number")
		}
	}
	return nil
}

// modify applies a batch's changes: in one transaction where the store
// has them (a dry run rolls it back, so the store still decides each
// record), else one Modify per record (none in a dry run). errs[i] is
// record i's own failure; err fails the batch.
func (im *importer) modify(ctx context.Context, batch []backends.RecordChanges) ([]error, error) {
	if len(batch) == 0 {
		return nil, nil
	}
	// An interruption (Ctrl-C, the client gone) does not reach the write:
	// cancelled in the middle of its COMMIT, a transaction may be
	// committed by the store while the client sees an error, and the
	// import would then name a resume line before rows it wrote. The batch
	// runs to its end, bounded by writeTimeout; the interruption is seen
	// before the next batch.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	if im.batcher != nil {
		return im.batcher.ModifyBatch(ctx, backends.User, batch, im.o.DryRun)
	}
	errs := make([]error, len(batch))
	if im.o.DryRun {
		return errs, nil
	}
	for i, rc := range batch {
		err := im.t.Backend.Modify(ctx, backends.Record{Kind: backends.User, ID: rc.ID}, rc.Changes)
		if err != nil && !rowError(err) {
			return nil, fmt.Errorf("user %s: %w", rc.ID, err)
		}
		errs[i] = err
	}
	return errs, nil
}

// rowError reports whether a write's error is the row's own, so that the
// import goes on with the next row.
func rowError(err error) bool {
	return !errors.Is(err, backends.ErrUnavailable) &&
		(errors.Is(err, backends.ErrConflict) || errors.Is(err, backends.ErrNotFound) || errors.Is(err, backends.ErrInvalid))
}

// removeOthers is Replace's second step: every user the file named loses
// the cards the file did not give them.
func (im *importer) removeOthers(ctx context.Context) error {
	ids := make([]string, 0, len(im.keep))
	for id := range im.keep {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	stop := func(err error) error {
		im.res.Stopped, im.res.ResumeAt = true, im.line+1
		return err
	}
	for start := 0; start < len(ids); start += im.o.BatchSize {
		if err := ctx.Err(); err != nil {
			return stop(fmt.Errorf("cards: import interrupted: %w", err))
		}
		type removal struct {
			id    string
			cards []string
		}
		var rms []removal
		for _, id := range ids[start:min(start+im.o.BatchSize, len(ids))] {
			rec, err := im.t.Backend.Get(ctx, backends.User, id, backends.Read{})
			if errors.Is(err, backends.ErrNotFound) {
				continue
			}
			if err != nil {
				return stop(fmt.Errorf("cards: read user %s: %w", id, err))
			}
			var drop []string
			for _, v := range rec.Attrs[im.cardAttr] {
				if !im.keep[id][fold(v)] {
					drop = append(drop, v)
				}
			}
			if len(drop) > 0 {
				rms = append(rms, removal{id, drop})
			}
		}
		batch := make([]backends.RecordChanges, len(rms))
		for i, rm := range rms {
			batch[i] = backends.RecordChanges{ID: rm.id, Changes: []backends.Change{{Op: backends.Remove, Attr: im.cardAttr, Values: rm.cards}}}
		}
		errs, err := im.modify(ctx, batch)
		if err != nil {
			return stop(fmt.Errorf("cards: remove cards: %w", err))
		}
		for i, rm := range rms {
			if errs[i] != nil {
				continue // deleted meanwhile: nothing left to remove
			}
			im.res.Removed += len(rm.cards)
			if !im.o.DryRun {
				for _, card := range rm.cards {
					im.audit("card-remove", rm.id, 0, card)
				}
			}
		}
	}
	return nil
}

// audit records one card change. A card number releases print jobs, so
// only its last four characters are logged.
func (im *importer) audit(op, id string, line int, card string) {
	args := []any{"op", op, "kind", string(scim.User), "id", id, "attributes", im.cardAttr,
		"card", mask(card), "source", "cards import"}
	if line > 0 {
		args = append(args, "line", line)
	}
	im.t.Audit.Info("applied", args...)
}

func mask(card string) string {
	r := []rune(card)
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	return "…" + string(r[len(r)-4:])
}
