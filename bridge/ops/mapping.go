package ops

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/opsview"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/mapping"
)

// Mapping is the tenant's mapping as a table: users, then groups.
func (o *Operator) Mapping(tenant string) ([]opsview.MappingRow, error) {
	t, err := o.tenant(tenant)
	if err != nil {
		return nil, err
	}
	var rows []opsview.MappingRow
	for _, kind := range []scim.Kind{scim.User, scim.Group} {
		for _, a := range t.Mapping.Describe(kind) {
			rows = append(rows, opsview.MappingRow{Kind: string(kind), Attribute: a.SCIM, Target: a.Target,
				Match: a.Match, Required: a.Required, Multi: a.Multi, Transform: a.Transform})
		}
	}
	return rows, nil
}

// DryRun shows what the SCIM resource (JSON as Entra would POST it) would
// cause in the tenant's live target, through its running service's backend.
func (o *Operator) DryRun(ctx context.Context, tenant string, kind scim.Kind, body []byte) (opsview.DryRun, error) {
	t, err := o.tenant(tenant)
	if err != nil {
		return opsview.DryRun{}, err
	}
	s, ok := o.services.Service(tenant)
	if !ok {
		return opsview.DryRun{}, fmt.Errorf("ops: tenant %s has no service", tenant)
	}
	return DryRun(ctx, t.Mapping, s.Backend(), kind, body)
}

// DryRun maps a SCIM resource, looks it up in be by the mapping's match
// keys, and says what the bridge would write: a create with its
// attributes, or the changes to the existing entry. Nothing is written.
// Errors in the input are *scim.Error (400), as the SCIM endpoint answers
// them.
func DryRun(ctx context.Context, m *mapping.Mapping, be backends.Backend, kind scim.Kind, body []byte) (opsview.DryRun, error) {
	var out opsview.DryRun
	line := func(format string, args ...any) { out.Lines = append(out.Lines, fmt.Sprintf(format, args...)) }
	res, err := scim.Decode(kind, body)
	if err != nil {
		return out, err
	}
	if err := m.CheckRequired(kind, res); err != nil {
		return out, err
	}
	attrs, err := m.ToAttrs(kind, res)
	if err != nil {
		return out, err
	}
	bk := backends.User
	if kind == scim.Group {
		bk = backends.Group
	}
	for _, k := range m.MatchKeys(kind) {
		v := attrs[k.Attr]
		if len(v) == 0 {
			continue
		}
		recs, _, err := be.Find(ctx, backends.Query{Kind: bk, Filter: backends.Cmp{Attr: k.Attr, Op: backends.Eq, Value: v[0]}, Limit: 1})
		if err != nil {
			return out, err
		}
		if len(recs) == 0 {
			line("match %s (%s eq %q): no entry", k.Path.String(), k.Attr, v[0])
			continue
		}
		line("match %s (%s eq %q): entry %s", k.Path.String(), k.Attr, v[0], recs[0].ID)
		cur, err := m.ToResource(kind, recs[0])
		if err != nil {
			return out, err
		}
		old, err := m.ToAttrs(kind, cur)
		if err != nil {
			return out, err
		}
		delete(old, backends.AttrMembers)
		changes := mapping.Diff(old, attrs)
		if len(changes) == 0 {
			line("would modify %s %s: nothing (already up to date)", kind, recs[0].ID)
		}
		for _, c := range changes {
			line("would modify %s %s: %s %s = %s", kind, recs[0].ID, c.Op, c.Attr, quoteAll(c.Values))
		}
		return out, nil
	}
	line("would create %s with:", kind)
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, n := range names {
		line("  %s = %s", n, quoteAll(attrs[n]))
	}
	return out, nil
}

func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
