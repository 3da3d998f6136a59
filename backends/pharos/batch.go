package pharos

import (
	"context"
	"database/sql"
	"errors"

	"github.com/scimbridge/scimbridge/backends"
)

var _ backends.BatchModifier = (*Backend)(nil)

// ModifyBatch applies the changes of many records in one transaction, each
// record inside a savepoint of its own: a record the database refuses (a
// card another user holds trips the unique index) is rolled back to its
// savepoint and reported, and the rest of the batch goes on. Both engines
// keep a transaction usable after ROLLBACK TO SAVEPOINT, PostgreSQL
// included, whose failed statement would otherwise abort the whole
// transaction. A failure that is not the record's own (the database is
// unavailable, ctx ended) fails the batch, and nothing of it is kept.
func (b *Backend) ModifyBatch(ctx context.Context, kind backends.Kind, batch []backends.RecordChanges, dryRun bool) ([]error, error) {
	t, err := b.table(kind)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(batch))
	type item struct {
		key     any
		changes []change
	}
	items := make([]*item, len(batch))
	for i, rc := range batch {
		key, ok := t.key.keyToDB(rc.ID)
		if !ok {
			errs[i] = notFound(kind, rc.ID)
			continue
		}
		it := &item{key: key}
		for _, c := range rc.Changes {
			pc, err := t.prepare(c.Op, c.Attr, c.Values)
			if err != nil {
				errs[i], it = err, nil
				break
			}
			it.changes = append(it.changes, pc)
		}
		items[i] = it
	}
	const op = "modify batch"
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, b.fail(ctx, op, err)
	}
	defer func() { _ = tx.Rollback() }()
	exec := func(q string) error {
		_, err := tx.ExecContext(ctx, q)
		return err
	}
	for i, it := range items {
		if it == nil {
			continue
		}
		if err := exec("SAVEPOINT record"); err != nil {
			return nil, b.fail(ctx, op, err)
		}
		werr := b.modifyIn(ctx, tx, t, batch[i].ID, it.key, it.changes)
		if werr == nil {
			if err := exec("RELEASE SAVEPOINT record"); err != nil {
				return nil, b.fail(ctx, op, err)
			}
			continue
		}
		if err := exec("ROLLBACK TO SAVEPOINT record"); err != nil {
			return nil, b.fail(ctx, op, errors.Join(werr, err))
		}
		if err := exec("RELEASE SAVEPOINT record"); err != nil {
			return nil, b.fail(ctx, op, err)
		}
		if werr = b.recordError(ctx, tx, werr); !recordOwn(werr) {
			return nil, werr
		}
		errs[i] = werr
	}
	if dryRun {
		return errs, nil
	}
	if err := tx.Commit(); err != nil {
		return nil, b.fail(ctx, op, err)
	}
	return errs, nil
}

// recordError classifies the failure of one record of a batch, as inTx
// does for a single Modify, looking the holder of a taken value up inside
// the batch's transaction (it may be a record written earlier in it).
func (b *Backend) recordError(ctx context.Context, tx *sql.Tx, err error) error {
	var se *stepError
	if errors.As(err, &se) && !isOurs(se.err) {
		return b.resolve(ctx, tx, "modify", se)
	}
	return b.fail(ctx, "modify", err)
}

// recordOwn reports whether err concerns only the record that failed, so
// that the rest of its batch can go on.
func recordOwn(err error) bool {
	return !errors.Is(err, backends.ErrUnavailable) &&
		(errors.Is(err, backends.ErrNotFound) || errors.Is(err, backends.ErrConflict) || errors.Is(err, backends.ErrInvalid))
}
