package ops

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/scimbridge/scimbridge/bridge/opsview"
	"github.com/scimbridge/scimbridge/bridge/state"
)

// IssueToken creates a Secret Token for tenant (or, with admin, the admin
// token) and returns it with the text of its token file. With regenerate
// the tenant's earlier tokens keep working only for the grace period.
// The token is in the answer and nowhere else: only its hash is stored,
// and it is never logged.
func (o *Operator) IssueToken(ctx context.Context, tenant string, admin, regenerate bool) (opsview.Credentials, error) {
	name := tenant
	if admin {
		name = AdminTenant
	} else if _, err := o.tenant(tenant); err != nil {
		return opsview.Credentials{}, err
	}
	issue := o.tokens.Generate
	if regenerate {
		issue = o.tokens.Regenerate
	}
	token, rec, err := issue(ctx, name)
	if err != nil {
		return opsview.Credentials{}, err
	}
	c := opsview.Credentials{Tenant: tenant, Token: token, TokenID: rec.ID, ExpiresAt: rec.ExpiresAt.UTC()}
	exp := rec.ExpiresAt.UTC().Format(time.RFC3339)
	if admin {
		c.Tenant, c.TenantURL = "", o.Config().PublicURL+"/admin"
		c.File = fmt.Sprintf("admin_url: %s/admin\nadmin_token: %s\nexpires_at: %s\ntry: curl -H 'Authorization: Bearer <the token>' %s/admin/status\n",
			o.Config().PublicURL, token, exp, o.Config().PublicURL)
	} else {
		c.TenantURL = o.Config().TenantURL(tenant)
		c.File = fmt.Sprintf("tenant: %s\ntenant_url: %s\nsecret_token: %s\nexpires_at: %s\n", tenant, c.TenantURL, token, exp)
	}
	if regenerate {
		until := rec.CreatedAt.Add(o.Config().Tokens.Grace).UTC()
		c.PreviousValidUntil = &until
		c.File += fmt.Sprintf("previous tokens keep working until: %s\n", until.Format(time.RFC3339))
	}
	o.log.Info("token issued by an operator", "tenant", name, "token_id", rec.ID, "regenerate", regenerate)
	return c, nil
}

// TokenRecords lists the tenant's (or, with admin, the admin) tokens,
// expired ones included, the newest (the longest-lived) last; never their
// values.
func (o *Operator) TokenRecords(ctx context.Context, tenant string, admin bool) ([]opsview.TokenRecord, error) {
	name := tenant
	if admin {
		name = AdminTenant
	} else if _, err := o.tenant(tenant); err != nil {
		return nil, err
	}
	toks, err := o.tokens.List(ctx, name)
	if err != nil {
		return nil, o.stateError("list tokens of "+name, err)
	}
	// The newest token is the one that lives longest: a regenerate
	// shortens every other one to the grace period, and creation times
	// (kept to the second) can tie.
	slices.SortStableFunc(toks, func(a, b state.Token) int {
		return cmp.Or(a.ExpiresAt.Compare(b.ExpiresAt), a.CreatedAt.Compare(b.CreatedAt))
	})
	now := o.now()
	out := make([]opsview.TokenRecord, len(toks))
	for i, t := range toks {
		out[i] = newTokenRecord(t, now)
		out[i].Replaced = i < len(toks)-1
	}
	return out, nil
}

func newTokenRecord(t state.Token, now time.Time) opsview.TokenRecord {
	status, days, _ := tokenStatus(t.ExpiresAt, now)
	return opsview.TokenRecord{
		ID: t.ID, CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(),
		FirstUsedAt: timePtr(t.FirstUsedAt), Status: status, DaysLeft: days,
	}
}
