package ops

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/scimbridge/scimbridge/bridge/opsview"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/bridge/state"
)

// MaxActivity bounds one Activity answer.
const MaxActivity = 500

// Activity lists the newest applied writes, of one tenant or of all of
// them (merged, newest first), optionally only those of a user.
func (o *Operator) Activity(ctx context.Context, f opsview.ActivityFilter) ([]opsview.Activity, error) {
	if f.Limit < 1 || f.Limit > MaxActivity {
		return nil, scim.Errorf(http.StatusBadRequest, "", "limit %d is not from 1 to %d", f.Limit, MaxActivity)
	}
	tenants := o.Tenants()
	if f.Tenant != "" {
		if _, err := o.tenant(f.Tenant); err != nil {
			return nil, err
		}
		tenants = []string{f.Tenant}
	}
	var all []state.AuditRecord
	for _, t := range tenants {
		recs, err := o.st.AuditRecords(ctx, t, f.User, f.Limit)
		if err != nil {
			return nil, o.stateError("activity of "+t, err)
		}
		all = append(all, recs...)
	}
	slices.SortStableFunc(all, func(a, b state.AuditRecord) int { return b.Time.Compare(a.Time) })
	if len(all) > f.Limit {
		all = all[:f.Limit]
	}
	out := make([]opsview.Activity, len(all))
	for i, r := range all {
		out[i] = opsview.Activity{Time: r.Time.UTC(), Tenant: r.Tenant, Op: r.Op, Kind: r.Kind, ID: r.ID, Name: r.Name,
			Attrs: r.Attrs, Outcome: r.Outcome, RequestID: r.RequestID}
	}
	return out, nil
}

// lastWrite is the time of the tenant's newest activity record.
func (o *Operator) lastWrite(ctx context.Context, tenant string) *time.Time {
	recs, err := o.st.AuditRecords(ctx, tenant, "", 1)
	if err != nil || len(recs) == 0 {
		return nil
	}
	return timePtr(recs[0].Time)
}
