package ldap

import (
	"strconv"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"
)

// batch is how many values one OR filter carries when ids, DNs or member
// values are resolved: large enough that a 20,000-member group takes 100
// searches, small enough for any server's filter limits.
const batch = 200

// idFilter is the equality filter selecting id, or false when id cannot
// be one (not a UUID for entryUUID/objectGUID): such an id names nothing.
func (k *kindLayout) idFilter(id string) (string, bool) {
	switch k.idKind {
	case idUUID:
		u, err := parseUUID(id)
		if err != nil {
			return "", false
		}
		return "(" + k.idAttr + "=" + u.String() + ")", true
	case idGUID:
		u, err := parseUUID(id)
		if err != nil {
			return "", false
		}
		return "(" + k.idAttr + "=" + escapeBytes(guidBytes(u)) + ")", true
	}
	if id == "" {
		return "", false
	}
	return "(" + k.idAttr + "=" + goldap.EscapeFilter(id) + ")", true
}

// parseUUID accepts only the canonical 36-character form, which is what
// this backend hands out as ids.
func parseUUID(s string) (uuid.UUID, error) {
	if len(s) != 36 {
		return uuid.UUID{}, strconv.ErrSyntax
	}
	return uuid.Parse(s)
}

// entryID renders the id attribute of e, or "" when it has none.
func (k *kindLayout) entryID(e *goldap.Entry) string {
	switch k.idKind {
	case idGUID:
		raw := e.GetEqualFoldRawAttributeValue(k.idAttr)
		if len(raw) != 16 {
			return ""
		}
		return guidString(raw)
	case idUUID:
		return strings.ToLower(e.GetEqualFoldAttributeValue(k.idAttr))
	}
	return e.GetEqualFoldAttributeValue(k.idAttr)
}

// guidString renders objectGUID bytes the way Windows does: the first
// three fields are little-endian (MS-DTYP §2.3.4.2).
func guidString(b []byte) string {
	var u uuid.UUID
	copy(u[:], b)
	u[0], u[1], u[2], u[3] = b[3], b[2], b[1], b[0]
	u[4], u[5] = b[5], b[4]
	u[6], u[7] = b[7], b[6]
	return u.String()
}

// guidBytes is the inverse of guidString.
func guidBytes(u uuid.UUID) []byte {
	b := make([]byte, 16)
	copy(b, u[:])
	b[0], b[1], b[2], b[3] = u[3], u[2], u[1], u[0]
	b[4], b[5] = u[5], u[4]
	b[6], b[7] = u[7], u[6]
	return b
}

// escapeBytes writes every byte as \xx, the RFC 4515 form of a binary
// assertion value.
func escapeBytes(b []byte) string {
	const hex = "0123456789abcdef"
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte('\\')
		sb.WriteByte(hex[c>>4])
		sb.WriteByte(hex[c&0xf])
	}
	return sb.String()
}

// dnKey is the comparison key of a DN: parsed (so escaping and spacing do
// not matter), attribute types and values folded, as directories compare
// the naming attributes this backend writes. An unparsable DN keys as
// itself, folded.
func dnKey(dn string) string {
	d, err := goldap.ParseDN(dn)
	if err != nil {
		return "!" + strings.ToLower(dn)
	}
	return strings.ToLower(d.String())
}

// foldValue approximates caseIgnoreMatch: case folded, insignificant
// spaces removed (RFC 4518 §2.6.1).
func foldValue(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// parseGeneralizedTime reads createTimestamp/modifyTimestamp
// (RFC 4517 §3.3.13): 20261126184457Z, AD's 20261126184457.0Z, or an
// offset. The zero time when absent or unreadable.
func parseGeneralizedTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	frac := ""
	if i := strings.IndexAny(s, ".,"); i >= 0 {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		frac = "." + s[i+1:j]
		s = s[:i] + s[j:]
	}
	for _, layout := range []string{"20060102150405Z0700", "20060102150405Z07", "200601021504Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			if frac != "" && frac != "." {
				if d, err := time.ParseDuration(strings.TrimPrefix(frac, ".") + "ns"); err == nil && len(frac) <= 10 {
					scale := time.Duration(1)
					for range 9 - (len(frac) - 1) {
						scale *= 10
					}
					t = t.Add(d * scale)
				}
			}
			return t.UTC()
		}
	}
	return time.Time{}
}
