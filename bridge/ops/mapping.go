package ops

import (
	"context"
	"fmt"
	"maps"
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
	// The checks and the mapping of a POST, exactly as serve runs them.
	req, err := m.NewRequest(kind, res)
	if err != nil {
		return out, err
	}
	bk := backends.User
	if kind == scim.Group {
		bk = backends.Group
	}
	for _, k := range m.MatchKeys(kind) {
		v := req.Value(k.Attr)
		if v == "" {
			continue
		}
		recs, _, err := be.Find(ctx, backends.Query{Kind: bk, Filter: backends.Cmp{Attr: k.Attr, Op: backends.Eq, Value: v}, Limit: 1})
		if err != nil {
			return out, err
		}
		if len(recs) == 0 {
			line("match %s (%s eq %q): no entry", k.Path.String(), k.Attr, v)
			continue
		}
		cur := recs[0]
		line("match %s (%s eq %q): entry %s", k.Path.String(), k.Attr, v, cur.ID)
		// What the bridge does with a POST naming an existing entry: a
		// kept (deprovisioned) one is restored, any other brought up to
		// the request (a create whose answer was lost).
		verb, changes := "would modify", mapping.Changes{}
		if m.Deprovisioned(kind, cur) {
			verb = "would restore"
			changes, err = m.RestoreChanges(cur, req)
		} else {
			changes, err = m.RetriedCreateChanges(cur, req)
		}
		if err != nil {
			return out, err
		}
		if len(changes.List) == 0 {
			line("%s %s %s: nothing (already up to date)", verb, kind, cur.ID)
		}
		for _, c := range changes.List {
			line("%s %s %s: %s %s = %s", verb, kind, cur.ID, c.Op, attrName(c.Attr), quoteAll(c.Values))
		}
		return out, nil
	}
	line("would create %s with:", kind)
	for _, n := range slices.Sorted(maps.Keys(req.Attrs)) {
		line("  %s = %s", attrName(n), quoteAll(req.Attrs[n]))
	}
	return out, nil
}

// attrName is a target attribute as the dry run shows it: the members
// pseudo-attribute by its SCIM name.
func attrName(attr string) string {
	if attr == backends.AttrMembers {
		return "members"
	}
	return attr
}

func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
