package ldap

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
)

// idKind says how the id attribute's value becomes a SCIM id.
type idKind int

const (
	idUUID idKind = iota + 1 // entryUUID: text, RFC 4122 form
	idGUID                   // objectGUID: 16 bytes, rendered as a GUID string
	idText                   // any other attribute: its text
)

// kindLayout is a compiled Layout: where one kind lives and how it is
// named, found and identified, and the codec of each of its attributes.
type kindLayout struct {
	kind               backends.Kind
	parent, searchBase string
	parentDN           *goldap.DN
	searchBaseDN       *goldap.DN
	rdn                string
	objectClasses      []string
	auxClasses         []string
	classFilter        string
	idAttr             string
	idKind             idKind
	defaults           map[string][]string
	attrs              map[string]backends.AttrSchema // by lower-case name
	attrNames          []string
	codecs             map[string]attrCodec // by lower-case name, one per attrNames
	longAttr           string
	longOver           int
	password           string // attribute given a random password on create; "" for none
	member             *memberLayout
}

// attr returns the mapping's schema of an attribute, by any case.
func (k *kindLayout) attr(name string) (backends.AttrSchema, bool) {
	a, ok := k.attrs[strings.ToLower(name)]
	return a, ok
}

// readAttrs lists the attributes a read asks for: the mapped ones, the id,
// objectClass (to add missing auxiliary classes), the timestamps, and the
// members only when asked for.
func (k *kindLayout) readAttrs(members bool) []string {
	out := make([]string, 0, len(k.attrNames)+6)
	out = append(out, k.attrNames...)
	out = append(out, k.idAttr, "objectClass", "createTimestamp", "modifyTimestamp")
	if !k.hasAttr(out, k.rdn) {
		out = append(out, k.rdn)
	}
	if members && k.member != nil {
		out = append(out, k.member.attr)
	}
	return out
}

// modifyAttrs lists the attributes Modify reads from the entry it changes:
// objectClass (auxiliary classes to add), the naming attribute, and what
// the codecs read (the active flags kept by read-modify-write). readAttrs
// asks for all of them, so an entry Get read will do (entryHandle).
func (k *kindLayout) modifyAttrs() []string {
	attrs := []string{"objectClass", k.rdn}
	for _, name := range k.attrNames {
		attrs = append(attrs, k.codec(name).reads()...)
	}
	return attrs
}

func (k *kindLayout) hasAttr(list []string, name string) bool {
	for _, a := range list {
		if strings.EqualFold(a, name) {
			return true
		}
	}
	return false
}

// naming returns the RDN attribute and value of an entry named value: the
// layout's RDN, or the long-name hash for a value too long for a DN.
func (k *kindLayout) naming(value string) (string, string) {
	if k.longAttr != "" && len(value) > k.longOver {
		sum := sha256.Sum256([]byte(foldValue(value)))
		return k.longAttr, hex.EncodeToString(sum[:])
	}
	return k.rdn, value
}

// rdnFor is the RDN of an entry named value, the value escaped as one RDN
// value (RFC 4514), never as a filter.
func (k *kindLayout) rdnFor(value string) string {
	attr, v := k.naming(value)
	return attr + "=" + escapeDN(v)
}

// escapeDN escapes one RDN value: goldap.EscapeDN (RFC 4514 §2.4), plus
// '=' (Samba's DN parser refuses some values holding a bare one, such as
// "a) OR (1=1"; RFC 4514 allows escaping it), plus every control character
// as \xx, which slapd needs: it takes a leading tab for insignificant
// space, which would leave a following '#' unescaped.
func escapeDN(v string) string {
	e := strings.ReplaceAll(goldap.EscapeDN(v), "=", `\=`)
	if !strings.ContainsFunc(e, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return e
	}
	const hexDigits = "0123456789abcdef"
	var sb strings.Builder
	for i := 0; i < len(e); i++ {
		c := e[i]
		if c < 0x20 || c == 0x7f {
			sb.WriteByte('\\')
			sb.WriteByte(hexDigits[c>>4])
			sb.WriteByte(hexDigits[c&0xf])
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// dnFor builds the DN of an entry named value under parent.
func (k *kindLayout) dnFor(value, parent string) string {
	return k.rdnFor(value) + "," + parent
}

// isMemberAttr reports whether name is the group's member attribute.
func (k *kindLayout) isMemberAttr(name string) bool {
	return k.member != nil && strings.EqualFold(name, k.member.attr)
}
