package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/scimbridge/scimbridge/bridge/cards"
	"github.com/scimbridge/scimbridge/bridge/opsview"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// maxAnswerRejections bounds the rejected rows an answer lists; the counts
// by reason cover them all.
const maxAnswerRejections = 1000

// ImportCards is POST /admin/cards/import: the same import as the CLI's
// `cards import`, into the running tenant's backend. params are the query
// parameters (cards.ParseParams).
func (o *Operator) ImportCards(ctx context.Context, tenant string, params url.Values, body io.Reader) (cards.Answer, error) {
	svc, ok := o.services.Service(tenant)
	if !ok {
		return cards.Answer{}, fmt.Errorf("no tenant %q: %w", tenant, opsview.ErrNotFound)
	}
	opts, err := cards.ParseParams(params)
	if err != nil {
		return cards.Answer{}, scim.Errorf(http.StatusBadRequest, "", "%v", err)
	}
	var ans cards.Answer
	opts.OnReject = ans.Collect(maxAnswerRejections)
	target := cards.Target{Tenant: tenant, Backend: svc.Backend(), Mapping: svc.Mapping(), Audit: o.audit.With("tenant", tenant)}
	ans.Result, err = cards.Import(ctx, target, body, opts)
	var mb *http.MaxBytesError
	switch {
	case err == nil:
		o.log.Info("cards imported", "tenant", tenant, "rows", ans.Rows, "added", ans.Added, "removed", ans.Removed, "rejected", ans.RejectedRows(), "dry_run", ans.DryRun)
		return ans, nil
	case errors.As(err, &mb):
		return cards.Answer{}, err
	case errors.Is(err, cards.ErrFile), errors.Is(err, cards.ErrNoCardAttribute), errors.Is(err, cards.ErrNoKey):
		return cards.Answer{}, scim.Errorf(http.StatusBadRequest, "", "%v", err)
	case ans.Stopped:
		// The answer says where to resume; the cause stays in the log.
		o.log.Warn("cards import stopped", "tenant", tenant, "resume_at", ans.ResumeAt, "error", err)
		ans.Error = "the target failed or the request ended before the end of the file"
		return ans, nil
	}
	return cards.Answer{}, err
}
