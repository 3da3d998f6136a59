package pharos

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/scimbridge/scimbridge/backends"
)

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// stepError remembers which write failed, so that a constraint violation
// can be told back in terms of the attribute (and the record holding the
// value) after the transaction is rolled back.
type stepError struct {
	err  error
	t    *table
	attr string            // attribute written ("" for a whole row)
	raw  map[string]string // attribute -> value written
	self any               // key of the record written, nil on create
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// scalarVal is one validated scalar value; val nil writes NULL.
type scalarVal struct {
	attr string
	col  column
	raw  string
	val  any
}

// multiVal is one validated value of a child table or of the members.
type multiVal struct {
	raw string
	val any
}

// change is a validated backends.Change.
type change struct {
	op     backends.ChangeOp
	attr   string
	scalar *column
	child  *child
	member bool
	vals   []multiVal // for scalars at most one, except for Remove
	// all is set when no values were given: Remove then removes every
	// value, whereas a Remove naming only values that cannot be stored
	// removes none.
	all bool
}

// prepare validates one attribute's values for writing, before any I/O.
func (t *table) prepare(op backends.ChangeOp, attr string, values []string) (change, error) {
	c := change{op: op, attr: attr, all: len(values) == 0}
	switch op {
	case backends.Replace, backends.Add, backends.Remove:
	default:
		return c, unsupported("change operation %d", int(op))
	}
	var conv func(string) (any, error)
	switch {
	case attr == backends.AttrMembers:
		if t.members == nil {
			return c, unsupported("%s has no members", strings.ToLower(string(t.kind)))
		}
		c.member = true
		conv = func(v string) (any, error) {
			if k, ok := t.members.member.keyToDB(v); ok {
				return k, nil
			}
			if op == backends.Remove {
				return nil, nil // names no record, so it is no member: nothing to remove
			}
			return nil, invalid(backends.AttrMembers, "no user or group has id %q", truncate(v, 64))
		}
	case t.multi[attr] != nil:
		c.child = t.multi[attr]
		conv = func(v string) (any, error) {
			x, err := c.child.value.toDB(attr, v)
			if err != nil && op == backends.Remove {
				return nil, nil // a value the column cannot hold is not there to remove
			}
			return x, err
		}
	default:
		col, ok := t.scalars[attr]
		if !ok {
			return c, invalid(attr, "the target stores no such attribute")
		}
		c.scalar = &col
		conv = func(v string) (any, error) {
			x, err := col.toDB(attr, v)
			if err != nil && op == backends.Remove {
				return nil, nil
			}
			return x, err
		}
	}
	for _, v := range values {
		if v == "" && !c.member {
			continue // an empty value is no value
		}
		x, err := conv(v)
		if err != nil {
			return c, err
		}
		if x == nil {
			continue
		}
		c.vals = append(c.vals, multiVal{raw: v, val: x})
	}
	if c.scalar != nil && len(c.vals) > 1 && op != backends.Remove {
		return c, invalid(attr, "single-valued, got %d values", len(c.vals))
	}
	return c, nil
}

// inTx runs fn in a transaction and classifies what went wrong.
func (b *Backend) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return b.fail(ctx, op, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		var se *stepError
		if errors.As(err, &se) && !isOurs(se.err) {
			return b.resolve(ctx, b.db, op, se)
		}
		return b.fail(ctx, op, err)
	}
	if err := tx.Commit(); err != nil {
		return b.fail(ctx, op, err)
	}
	return nil
}

// resolve explains a failed write in the attribute's terms: a unique
// violation becomes a ConflictError naming the attribute and the holder
// (looked up through q, which sees what the failed write's transaction
// wrote before it), a refused value an InvalidError naming the attribute.
func (b *Backend) resolve(ctx context.Context, q querier, op string, se *stepError) error {
	if ctx.Err() != nil {
		return b.fail(ctx, op, se.err)
	}
	d := classify(se.err)
	attr := se.attr
	if attr == "" {
		cols := d.columns
		if d.column != "" {
			cols = []string{d.column}
		}
		if c, ok := se.t.indexes[d.constraint]; ok {
			cols = c
		}
		attr = se.t.attrOfColumns(cols)
	}
	switch d.class {
	case classConflict:
		b.log.Debug("unique violation", "op", op, "attr", attr, "error", se.err)
		ce := &backends.ConflictError{Attr: attr}
		if raw, ok := se.raw[attr]; ok {
			ce.ID, _ = b.holder(ctx, q, se.t, attr, raw, se.self)
		}
		return ce
	case classInvalid:
		b.log.Debug("value rejected by the database", "op", op, "attr", attr, "error", se.err)
		return &backends.InvalidError{Attr: attr, Reason: d.reason}
	}
	return b.fail(ctx, op, se.err)
}

// fail turns a driver error into one of the backends sentinels, keeping
// the cause. A statement cut short by ctx reports ctx's error.
func (b *Backend) fail(ctx context.Context, op string, err error) error {
	if err == nil || isOurs(err) {
		return err
	}
	if ctx.Err() != nil {
		if !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return unavailable(op, err)
	}
	d := classify(err)
	switch d.class {
	case classUnavailable:
		return unavailable(op, err)
	case classInvalid:
		b.log.Debug("value rejected by the database", "op", op, "error", err)
		return &backends.InvalidError{Reason: d.reason}
	case classConflict:
		return &backends.ConflictError{}
	}
	return fmt.Errorf("pharos: %s: %w", op, err)
}

// holder finds the record (other than self) whose attribute equals raw the
// way the unique index compares, or "".
func (b *Backend) holder(ctx context.Context, q querier, t *table, attr, raw string, self any) (string, error) {
	a := &args{pg: b.pg}
	var from, keyRef, cond string
	var err error
	if col, ok := t.scalars[attr]; ok {
		from, keyRef = quote(t.name)+" t0", "t0."+quote(t.key.name)
		cond, err = valueCmp("t0."+quote(col.name), col, backends.Cmp{Attr: attr, Op: backends.Eq, Value: raw}, a)
	} else if ch, ok := t.multi[attr]; ok {
		from, keyRef = quote(ch.name)+" c", "c."+quote(ch.key.name)
		cond, err = valueCmp("c."+quote(ch.value.name), ch.value, backends.Cmp{Attr: attr, Op: backends.Eq, Value: raw}, a)
	} else {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if self != nil {
		cond += " AND " + keyRef + " <> " + a.add(self)
	}
	var id sql.NullString
	err = q.QueryRowContext(ctx, "SELECT "+keyRef+" FROM "+from+" WHERE "+cond+" LIMIT 1", a.vals...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id.String, err
}

// exists reports whether t has a record with id.
func (b *Backend) exists(ctx context.Context, q querier, t *table, id string) (bool, error) {
	if t == nil {
		return false, nil
	}
	v, ok := t.key.keyToDB(id)
	if !ok {
		return false, nil
	}
	a := &args{pg: b.pg}
	var one int
	err := q.QueryRowContext(ctx, "SELECT 1 FROM "+quote(t.name)+" WHERE "+quote(t.key.name)+" = "+a.add(v), a.vals...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// checkScalar enforces, inside the write transaction, what the mapping
// says about a scalar value: unique attributes are free (compared as the
// unique index compares), references name an existing record.
func (b *Backend) checkScalar(ctx context.Context, tx *sql.Tx, t *table, sv scalarVal, self any) error {
	if sv.val == nil {
		return nil
	}
	if t.unique[sv.attr] {
		id, err := b.holder(ctx, tx, t, sv.attr, sv.raw, self)
		if err != nil {
			return err
		}
		if id != "" {
			return &backends.ConflictError{Attr: sv.attr, ID: id}
		}
	}
	if ref, ok := t.refs[sv.attr]; ok {
		rt, _ := b.table(ref)
		ok, err := b.exists(ctx, tx, rt, sv.raw)
		if err != nil {
			return err
		}
		if !ok {
			return invalid(sv.attr, "no %s has id %q", strings.ToLower(string(ref)), truncate(sv.raw, 64))
		}
	}
	return nil
}

// Create inserts a record with its child rows and members in one
// transaction and returns it as stored.
func (b *Backend) Create(ctx context.Context, kind backends.Kind, attrs map[string][]string) (backends.Record, error) {
	t, err := b.table(kind)
	if err != nil {
		return backends.Record{}, err
	}
	var scalars []scalarVal
	var others []change
	_, withMembers := attrs[backends.AttrMembers]
	for _, attr := range slices.Sorted(maps.Keys(attrs)) {
		c, err := t.prepare(backends.Replace, attr, attrs[attr])
		if err != nil {
			return backends.Record{}, err
		}
		switch {
		case c.scalar != nil && len(c.vals) == 1:
			scalars = append(scalars, scalarVal{attr: attr, col: *c.scalar, raw: c.vals[0].raw, val: c.vals[0].val})
		case c.scalar == nil:
			c.op = backends.Add
			others = append(others, c)
		}
	}
	var rec backends.Record
	err = b.inTx(ctx, "create", func(tx *sql.Tx) error {
		for _, sv := range scalars {
			if err := b.checkScalar(ctx, tx, t, sv, nil); err != nil {
				return err
			}
		}
		id, err := b.insertRow(ctx, tx, t, scalars)
		if err != nil {
			return err
		}
		key, _ := t.key.keyToDB(id)
		for _, c := range others {
			if err := b.apply(ctx, tx, t, id, key, c); err != nil {
				return err
			}
		}
		recs, err := b.readByKey(ctx, tx, t, key, withMembers)
		if err != nil {
			return err
		}
		if len(recs) != 1 {
			return fmt.Errorf("pharos: created %s %q not found", strings.ToLower(string(kind)), id)
		}
		rec = recs[0]
		return nil
	})
	if err != nil {
		return backends.Record{}, err
	}
	b.log.Debug("created", "kind", kind, "id", rec.ID)
	return rec, nil
}

// insertRow inserts the record's row and returns its key as a string.
func (b *Backend) insertRow(ctx context.Context, tx *sql.Tx, t *table, scalars []scalarVal) (string, error) {
	a := &args{pg: b.pg}
	var cols, vals []string
	raw := map[string]string{}
	if !t.dbKey {
		cols = append(cols, quote(t.key.name))
		vals = append(vals, a.add(uuid.NewString()))
	}
	for _, sv := range scalars {
		cols = append(cols, quote(sv.col.name))
		vals = append(vals, a.add(sv.val))
		raw[sv.attr] = sv.raw
	}
	now := time.Now().UTC()
	for _, c := range []*column{t.created, t.modified} {
		if c != nil {
			cols = append(cols, quote(c.name))
			vals = append(vals, a.add(c.timeToDB(now)))
		}
	}
	q := "INSERT INTO " + quote(t.name)
	if len(cols) == 0 {
		q += " DEFAULT VALUES"
	} else {
		q += " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(vals, ", ") + ")"
	}
	q += " RETURNING " + quote(t.key.name)
	var id sql.NullString
	if err := tx.QueryRowContext(ctx, q, a.vals...).Scan(&id); err != nil {
		return "", &stepError{err: err, t: t, raw: raw}
	}
	return id.String, nil
}

// Get reads one record; members only when asked. It leaves no Handle:
// the id is the row's key, all a Modify needs.
func (b *Backend) Get(ctx context.Context, kind backends.Kind, id string, r backends.Read) (backends.Record, error) {
	t, err := b.table(kind)
	if err != nil {
		return backends.Record{}, err
	}
	key, ok := t.key.keyToDB(id)
	if !ok {
		return backends.Record{}, notFound(kind, id)
	}
	recs, err := b.readByKey(ctx, b.db, t, key, r.Members)
	if err != nil {
		return backends.Record{}, b.fail(ctx, "get", err)
	}
	if len(recs) == 0 {
		return backends.Record{}, notFound(kind, id)
	}
	return recs[0], nil
}

// readByKey reads the record with key (none or one) with its child rows,
// and its members when asked.
func (b *Backend) readByKey(ctx context.Context, q querier, t *table, key any, members bool) ([]backends.Record, error) {
	a := &args{pg: b.pg}
	query := "SELECT " + t.selectList() + " FROM " + quote(t.name) + " t0 WHERE t0." + quote(t.key.name) + " = " + a.add(key)
	recs, _, err := b.scan(ctx, q, t, query, a.vals, false)
	if err != nil {
		return nil, err
	}
	return recs, b.fill(ctx, q, t, recs, members)
}

// selectList is the key, the scalar columns in t.attrs order, then the
// timestamps.
func (t *table) selectList() string {
	cols := []string{"t0." + quote(t.key.name)}
	for _, a := range t.attrs {
		cols = append(cols, "t0."+quote(t.scalars[a].name))
	}
	for _, c := range []*column{t.created, t.modified} {
		if c != nil {
			cols = append(cols, "t0."+quote(c.name))
		}
	}
	return strings.Join(cols, ", ")
}

// scan runs a query over selectList (plus a window count when counted)
// and builds records.
func (b *Backend) scan(ctx context.Context, q querier, t *table, query string, vals []any, counted bool) ([]backends.Record, int, error) {
	rows, err := q.QueryContext(ctx, query, vals...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var recs []backends.Record
	total := 0
	for rows.Next() {
		var id sql.NullString
		strs := make([]sql.NullString, len(t.attrs))
		var created, modified any
		dest := []any{&id}
		for i := range strs {
			dest = append(dest, &strs[i])
		}
		if t.created != nil {
			dest = append(dest, &created)
		}
		if t.modified != nil {
			dest = append(dest, &modified)
		}
		var count int64
		if counted {
			dest = append(dest, &count)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, 0, err
		}
		rec := backends.Record{Kind: t.kind, ID: id.String, Attrs: map[string][]string{},
			Created: timeFromDB(created), Modified: timeFromDB(modified)}
		for i, a := range t.attrs {
			if strs[i].Valid && strs[i].String != "" {
				rec.Attrs[a] = []string{strs[i].String}
			}
		}
		recs = append(recs, rec)
		total = int(count)
	}
	return recs, total, rows.Err()
}

// batchSize bounds IN lists, well under both engines' parameter limits.
const batchSize = 500

// fill reads the child tables, and the members when asked, of recs in a
// few batched queries.
func (b *Backend) fill(ctx context.Context, q querier, t *table, recs []backends.Record, members bool) error {
	if len(recs) == 0 {
		return nil
	}
	byID := make(map[string]*backends.Record, len(recs))
	keys := make([]any, 0, len(recs))
	for i := range recs {
		byID[recs[i].ID] = &recs[i]
		k, _ := t.key.keyToDB(recs[i].ID)
		keys = append(keys, k)
	}
	load := func(attr, tbl, keyCol, valCol string) error {
		for start := 0; start < len(keys); start += batchSize {
			chunk := keys[start:min(start+batchSize, len(keys))]
			a := &args{pg: b.pg}
			ph := make([]string, len(chunk))
			for i, k := range chunk {
				ph[i] = a.add(k)
			}
			query := "SELECT " + quote(keyCol) + ", " + quote(valCol) + " FROM " + quote(tbl) +
				" WHERE " + quote(keyCol) + " IN (" + strings.Join(ph, ", ") + ") ORDER BY " + quote(valCol)
			rows, err := q.QueryContext(ctx, query, a.vals...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var k, v sql.NullString
				if err := rows.Scan(&k, &v); err != nil {
					rows.Close()
					return err
				}
				if r := byID[k.String]; r != nil && v.Valid && v.String != "" {
					r.Attrs[attr] = append(r.Attrs[attr], v.String)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	}
	for _, attr := range slices.Sorted(maps.Keys(t.multi)) {
		ch := t.multi[attr]
		if err := load(attr, ch.name, ch.key.name, ch.value.name); err != nil {
			return err
		}
	}
	if members && t.members != nil {
		for i := range recs {
			recs[i].Attrs[backends.AttrMembers] = []string{}
		}
		if err := load(backends.AttrMembers, t.members.name, t.members.group.name, t.members.member.name); err != nil {
			return err
		}
	}
	return nil
}

// Find returns one page of the records matching q, ordered by key, and
// the number of all matching records.
func (b *Backend) Find(ctx context.Context, q backends.Query) ([]backends.Record, int, error) {
	t, err := b.table(q.Kind)
	if err != nil {
		return nil, 0, err
	}
	if q.Offset < 0 || q.Limit < 0 {
		return nil, 0, fmt.Errorf("pharos: find: negative offset or limit: %w", backends.ErrInvalid)
	}
	a := &args{pg: b.pg}
	cond := sqlTrue
	if q.Filter != nil {
		if cond, err = t.where(q.Filter, a, 0); err != nil {
			return nil, 0, err
		}
	}
	from := " FROM " + quote(t.name) + " t0 WHERE " + cond
	count := func() (int, error) {
		var n int
		err := b.db.QueryRowContext(ctx, "SELECT COUNT(*)"+from, a.vals...).Scan(&n)
		return n, err
	}
	if q.Limit == 0 {
		n, err := count()
		if err != nil {
			return nil, 0, b.fail(ctx, "find", err)
		}
		return nil, n, nil
	}
	// One statement usually answers both: the page and, through a window
	// function, the total. Only a page past the end needs its own count.
	countArgs := len(a.vals)
	query := "SELECT " + t.selectList() + ", COUNT(*) OVER ()" + from + " ORDER BY t0." + quote(t.key.name) +
		" LIMIT " + a.add(q.Limit) + " OFFSET " + a.add(q.Offset)
	recs, total, err := b.scan(ctx, b.db, t, query, a.vals, true)
	if err != nil {
		return nil, 0, b.fail(ctx, "find", err)
	}
	if len(recs) == 0 && q.Offset > 0 {
		a.vals = a.vals[:countArgs]
		if total, err = count(); err != nil {
			return nil, 0, b.fail(ctx, "find", err)
		}
	}
	if err := b.fill(ctx, b.db, t, recs, q.Members); err != nil {
		return nil, 0, b.fail(ctx, "find", err)
	}
	return recs, total, nil
}

// Modify applies changes in order, in one transaction, and bumps the
// modification time. The row is cur's ID, its key: the transaction finds
// and locks it (touch), so cur's Handle is not needed.
func (b *Backend) Modify(ctx context.Context, cur backends.Record, changes []backends.Change) error {
	kind, id := cur.Kind, cur.ID
	t, err := b.table(kind)
	if err != nil {
		return err
	}
	key, ok := t.key.keyToDB(id)
	if !ok {
		return notFound(kind, id)
	}
	prepared := make([]change, 0, len(changes))
	for _, c := range changes {
		pc, err := t.prepare(c.Op, c.Attr, c.Values)
		if err != nil {
			return err
		}
		prepared = append(prepared, pc)
	}
	return b.inTx(ctx, "modify", func(tx *sql.Tx) error {
		return b.modifyIn(ctx, tx, t, id, key, prepared)
	})
}

// modifyIn is Modify's work inside the transaction tx.
func (b *Backend) modifyIn(ctx context.Context, tx *sql.Tx, t *table, id string, key any, prepared []change) error {
	if err := b.touch(ctx, tx, t, id, key); err != nil {
		return err
	}
	for _, c := range prepared {
		if err := b.apply(ctx, tx, t, id, key, c); err != nil {
			return err
		}
	}
	return nil
}

// touch bumps the modification time, which also locks the row against
// concurrent writers in PostgreSQL, and reports an unknown id.
func (b *Backend) touch(ctx context.Context, tx *sql.Tx, t *table, id string, key any) error {
	a := &args{pg: b.pg}
	var n int64
	if t.modified != nil {
		q := "UPDATE " + quote(t.name) + " SET " + quote(t.modified.name) + " = " + a.add(t.modified.timeToDB(time.Now().UTC())) +
			" WHERE " + quote(t.key.name) + " = " + a.add(key)
		res, err := tx.ExecContext(ctx, q, a.vals...)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
	} else {
		q := "SELECT 1 FROM " + quote(t.name) + " WHERE " + quote(t.key.name) + " = " + a.add(key)
		if b.pg {
			q += " FOR UPDATE"
		}
		var one int
		switch err := tx.QueryRowContext(ctx, q, a.vals...).Scan(&one); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			n = 1
		}
	}
	if n == 0 {
		return notFound(t.kind, id)
	}
	return nil
}

// apply performs one validated change on the record with key.
func (b *Backend) apply(ctx context.Context, tx *sql.Tx, t *table, id string, key any, c change) error {
	switch {
	case c.scalar != nil:
		return b.applyScalar(ctx, tx, t, key, c)
	case c.child != nil:
		return b.applyChild(ctx, tx, t, key, c)
	case c.member:
		return b.applyMembers(ctx, tx, t, id, key, c)
	}
	return nil
}

func (b *Backend) applyScalar(ctx context.Context, tx *sql.Tx, t *table, key any, c change) error {
	col := *c.scalar
	sv := scalarVal{attr: c.attr, col: col}
	switch {
	case c.op == backends.Remove && !c.all && len(c.vals) == 0:
		return nil // only values the column cannot hold were named
	case c.op == backends.Add && len(c.vals) == 0:
		return nil
	case c.op != backends.Remove && len(c.vals) == 1:
		sv.raw, sv.val = c.vals[0].raw, c.vals[0].val
		if err := b.checkScalar(ctx, tx, t, sv, key); err != nil {
			return err
		}
	}
	a := &args{pg: b.pg}
	q := "UPDATE " + quote(t.name) + " SET " + quote(col.name) + " = " + a.add(sv.val) +
		" WHERE " + quote(t.key.name) + " = " + a.add(key)
	if c.op == backends.Remove && len(c.vals) > 0 {
		// Clear the value only if it is one of those named, as an LDAP
		// delete of a value does.
		var ors []string
		for _, v := range c.vals {
			s, err := valueCmp(quote(col.name), col, backends.Cmp{Attr: c.attr, Op: backends.Eq, Value: v.raw}, a)
			if err != nil {
				return err
			}
			ors = append(ors, s)
		}
		q += " AND (" + strings.Join(ors, " OR ") + ")"
	}
	if _, err := tx.ExecContext(ctx, q, a.vals...); err != nil {
		return &stepError{err: err, t: t, attr: c.attr, raw: map[string]string{c.attr: sv.raw}, self: key}
	}
	return nil
}

func (b *Backend) applyChild(ctx context.Context, tx *sql.Tx, t *table, key any, c change) error {
	ch := c.child
	match := func(a *args, v multiVal) (string, error) {
		return valueCmp(quote(ch.value.name), ch.value, backends.Cmp{Attr: c.attr, Op: backends.Eq, Value: v.raw}, a)
	}
	del := func(v *multiVal) error {
		a := &args{pg: b.pg}
		q := "DELETE FROM " + quote(ch.name) + " WHERE " + quote(ch.key.name) + " = " + a.add(key)
		if v != nil {
			s, err := match(a, *v)
			if err != nil {
				return err
			}
			q += " AND " + s
		}
		_, err := tx.ExecContext(ctx, q, a.vals...)
		return err
	}
	if c.op == backends.Replace || (c.op == backends.Remove && c.all) {
		if err := del(nil); err != nil {
			return err
		}
	}
	for _, v := range c.vals {
		if c.op == backends.Remove {
			if err := del(&v); err != nil {
				return err
			}
			continue
		}
		// Add keeps present values: the record's own rows are locked by
		// touch, so checking first cannot race with another writer.
		a := &args{pg: b.pg}
		q := "SELECT 1 FROM " + quote(ch.name) + " WHERE " + quote(ch.key.name) + " = " + a.add(key)
		s, err := match(a, v) // placeholders are numbered in text order
		if err != nil {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, q+" AND "+s+" LIMIT 1", a.vals...).Scan(&one)
		if err == nil {
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		a = &args{pg: b.pg}
		q = "INSERT INTO " + quote(ch.name) + " (" + quote(ch.key.name) + ", " + quote(ch.value.name) + ") VALUES (" +
			a.add(key) + ", " + a.add(v.val) + ")"
		if _, err := tx.ExecContext(ctx, q, a.vals...); err != nil {
			return &stepError{err: err, t: t, attr: c.attr, raw: map[string]string{c.attr: v.raw}, self: key}
		}
	}
	return nil
}

func (b *Backend) applyMembers(ctx context.Context, tx *sql.Tx, t *table, id string, key any, c change) error {
	m := t.members
	del := func(member any) error {
		a := &args{pg: b.pg}
		q := "DELETE FROM " + quote(m.name) + " WHERE " + quote(m.group.name) + " = " + a.add(key)
		if member != nil {
			q += " AND " + quote(m.member.name) + " = " + a.add(member)
		}
		_, err := tx.ExecContext(ctx, q, a.vals...)
		return err
	}
	if c.op == backends.Replace || (c.op == backends.Remove && c.all) {
		if err := del(nil); err != nil {
			return err
		}
	}
	for _, v := range c.vals {
		if c.op == backends.Remove {
			if err := del(v.val); err != nil {
				return err
			}
			continue
		}
		if v.raw == id {
			return invalid(backends.AttrMembers, "a group cannot be a member of itself")
		}
		a := &args{pg: b.pg}
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM "+quote(m.name)+" WHERE "+quote(m.group.name)+" = "+a.add(key)+
			" AND "+quote(m.member.name)+" = "+a.add(v.val), a.vals...).Scan(&one)
		if err == nil {
			continue // already a member
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		isUser, err := b.exists(ctx, tx, b.users, v.raw)
		if err != nil {
			return err
		}
		isGroup := false
		if !isUser {
			if isGroup, err = b.exists(ctx, tx, b.groups, v.raw); err != nil {
				return err
			}
		}
		if !isUser && !isGroup {
			return invalid(backends.AttrMembers, "no user or group has id %q", truncate(v.raw, 64))
		}
		a = &args{pg: b.pg}
		q := "INSERT INTO " + quote(m.name) + " (" + quote(m.group.name) + ", " + quote(m.member.name) + ") VALUES (" +
			a.add(key) + ", " + a.add(v.val) + ")"
		if _, err := tx.ExecContext(ctx, q, a.vals...); err != nil {
			return &stepError{err: err, t: t, attr: backends.AttrMembers, self: key}
		}
	}
	return nil
}

// Delete removes the record, its child rows, its memberships (as a group
// and as a member) and references to it, in one transaction.
func (b *Backend) Delete(ctx context.Context, kind backends.Kind, id string) error {
	t, err := b.table(kind)
	if err != nil {
		return err
	}
	key, ok := t.key.keyToDB(id)
	if !ok {
		return notFound(kind, id)
	}
	return b.inTx(ctx, "delete", func(tx *sql.Tx) error {
		exec := func(q string, vals ...any) error {
			_, err := tx.ExecContext(ctx, q, vals...)
			return err
		}
		if g := b.groups; g != nil && g.members != nil {
			m := g.members
			if mv, ok := m.member.keyToDB(id); ok {
				a := &args{pg: b.pg}
				if err := exec("DELETE FROM "+quote(m.name)+" WHERE "+quote(m.member.name)+" = "+a.add(mv), a.vals...); err != nil {
					return err
				}
			}
			if t == g {
				a := &args{pg: b.pg}
				if err := exec("DELETE FROM "+quote(m.name)+" WHERE "+quote(m.group.name)+" = "+a.add(key), a.vals...); err != nil {
					return err
				}
			}
		}
		for _, attr := range slices.Sorted(maps.Keys(t.multi)) {
			ch := t.multi[attr]
			a := &args{pg: b.pg}
			if err := exec("DELETE FROM "+quote(ch.name)+" WHERE "+quote(ch.key.name)+" = "+a.add(key), a.vals...); err != nil {
				return err
			}
		}
		for _, other := range []*table{b.users, b.groups} {
			if other == nil {
				continue
			}
			for _, attr := range slices.Sorted(maps.Keys(other.refs)) {
				col := other.scalars[attr]
				rv, ok := col.keyToDB(id)
				if other.refs[attr] != kind || !ok {
					continue
				}
				a := &args{pg: b.pg}
				if err := exec("UPDATE "+quote(other.name)+" SET "+quote(col.name)+" = NULL WHERE "+quote(col.name)+" = "+a.add(rv), a.vals...); err != nil {
					return err
				}
			}
		}
		a := &args{pg: b.pg}
		res, err := tx.ExecContext(ctx, "DELETE FROM "+quote(t.name)+" WHERE "+quote(t.key.name)+" = "+a.add(key), a.vals...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound(kind, id)
		}
		return nil
	})
}
