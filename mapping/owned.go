package mapping

import (
	"maps"
	"strings"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// What a SCIM write may change. A write replaces what the mapping maps and
// the request can carry, never what SCIM does not own (docs/design.md §3,
// "What SCIM owns"):
//
//   - mutability: readOnly attributes belong to the directory (another tool
//     writes them, such as the badge-card import): SCIM reads them and what
//     a client sends for them is ignored, on create too;
//   - mutability: immutable attributes are set on create, and later only
//     while the target holds no value (RFC 7643 §7): a change is ignored
//     rather than refused, since Entra would repeat a refused PATCH every
//     cycle;
//   - a PUT leaves an extension's attributes alone when its body does not
//     carry that extension at all: a client that does not know the Pharos
//     extension cannot wipe the badge cards by replacing the user. A PUT
//     that carries the extension (even as an empty object) replaces them.

// keepUnowned returns next with what the write may not change put back
// from old (nil for a create). carried, when not nil (PUT), says whether
// the request carries an extension URN. next is not modified.
func (km *kindMap) keepUnowned(old, next map[string][]string, carried func(urn string) bool) map[string][]string {
	out, copied := next, false
	keep := func(target string) {
		if sameValues(nonEmpty(old[target]), nonEmpty(next[target])) {
			return
		}
		if !copied {
			out, copied = maps.Clone(next), true
			if out == nil {
				out = map[string][]string{}
			}
		}
		if vals := nonEmpty(old[target]); len(vals) > 0 {
			out[target] = vals
		} else {
			delete(out, target)
		}
	}
	for _, a := range km.attrs {
		switch {
		case a.mutability == scim.ReadOnly:
			keep(a.target)
		case a.mutability == scim.Immutable && len(nonEmpty(old[a.target])) > 0:
			keep(a.target)
		case carried != nil && !a.computed && a.scimPath.URN != "" && !carried(a.scimPath.URN):
			keep(a.target)
		}
	}
	return out
}

// carriesExtension reports whether a request body carries the extension
// urn: its object, where Normalize puts the enterprise attributes and
// keeps a custom extension's, even empty.
func carriesExtension(res scim.Resource) func(urn string) bool {
	return func(urn string) bool {
		for k := range res {
			if strings.EqualFold(k, urn) {
				return true
			}
		}
		return false
	}
}

// removedRequired is the 400 of a write that takes the value of a required
// attribute away (a PATCH remove, or a replace with nothing): the same
// answer as a create without it. An entry that never had the value (made
// outside SCIM) is not refused for writes that leave it so.
func (km *kindMap) removedRequired(old, next map[string][]string) error {
	var missing []*attribute
	for _, a := range km.attrs {
		if a.required && len(nonEmpty(old[a.target])) > 0 && len(nonEmpty(next[a.target])) == 0 {
			missing = append(missing, a)
		}
	}
	return requiredError(missing)
}
