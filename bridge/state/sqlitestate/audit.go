package sqlitestate

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// MarkTokenUsed sets first_used_at once; a later call changes nothing.
func (s *Store) MarkTokenUsed(ctx context.Context, tenant, id string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `
		UPDATE tokens SET first_used_at = ? WHERE tenant = ? AND id = ? AND first_used_at = 0`,
		toMillis(at), tenant, id)
	if err != nil {
		return s.wrap("mark token used", err)
	}
	return nil
}

// auditTrimEvery is how many appends pass between two trims of a tenant's
// records: trimming on each append would double the cost of every write,
// and the bound may be overshot by this many.
const auditTrimEvery = 100

// AppendAudit stores r and, every auditTrimEvery records, removes the
// tenant's records beyond state.AuditLimit.
func (s *Store) AppendAudit(ctx context.Context, r state.AuditRecord) error {
	if err := state.CheckAuditRecord(r); err != nil {
		return fmt.Errorf("sqlitestate: append audit: %w", err)
	}
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO audit (tenant, at, op, kind, id, name, attrs, outcome, request_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Tenant, toMillis(r.Time), r.Op, r.Kind, r.ID, r.Name, strings.Join(r.Attrs, ","), r.Outcome, r.RequestID)
	if err != nil {
		return s.wrap("append audit", err)
	}
	n, _ := s.auditAppends.LoadOrStore(r.Tenant, new(atomic.Int64))
	// The first append of a process trims too, so a lower limit or a
	// crash between trims is caught up at once.
	if c := n.(*atomic.Int64).Add(1); c != 1 && c%auditTrimEvery != 0 {
		return nil
	}
	_, err = s.w.ExecContext(ctx, `
		DELETE FROM audit WHERE tenant = ? AND seq <= (
			SELECT seq FROM audit WHERE tenant = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
		r.Tenant, r.Tenant, state.AuditLimit)
	if err != nil {
		return s.wrap("trim audit", err)
	}
	return nil
}

// AuditRecords returns the tenant's newest records first.
func (s *Store) AuditRecords(ctx context.Context, tenant, user string, limit int) ([]state.AuditRecord, error) {
	if err := state.CheckAuditQuery(tenant, limit); err != nil {
		return nil, fmt.Errorf("sqlitestate: audit records: %w", err)
	}
	// The search is a substring, case-insensitive; LIKE's wildcards in it
	// are escaped so that "a_b" finds only "a_b".
	pat := "%" + likeEscaper.Replace(strings.ToLower(user)) + "%"
	rows, err := s.r.QueryContext(ctx, `
		SELECT at, op, kind, id, name, attrs, outcome, request_id FROM audit
		WHERE tenant = ? AND (? = '' OR lower(name) LIKE ? ESCAPE '\' OR lower(id) LIKE ? ESCAPE '\')
		ORDER BY seq DESC LIMIT ?`, tenant, user, pat, pat, limit)
	if err != nil {
		return nil, s.wrap("audit records", err)
	}
	defer rows.Close()
	var out []state.AuditRecord
	for rows.Next() {
		r := state.AuditRecord{Tenant: tenant}
		var at int64
		var attrs string
		if err := rows.Scan(&at, &r.Op, &r.Kind, &r.ID, &r.Name, &attrs, &r.Outcome, &r.RequestID); err != nil {
			return nil, s.wrap("audit records", err)
		}
		r.Time = optMillis(at)
		if attrs != "" {
			r.Attrs = strings.Split(attrs, ",")
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("audit records", err)
	}
	return out, nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
