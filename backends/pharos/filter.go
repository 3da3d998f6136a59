package pharos

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/scimbridge/scimbridge/backends"
)

// args collects placeholder values in order and spells the placeholders of
// the dialect: $n for PostgreSQL, ? for SQLite. Values are never spliced
// into SQL text.
type args struct {
	pg   bool
	vals []any
}

func (a *args) add(v any) string {
	a.vals = append(a.vals, v)
	if a.pg {
		return "$" + strconv.Itoa(len(a.vals))
	}
	return "?"
}

// text adds a string value typed as text, so that PostgreSQL never has to
// guess the type of a parameter inside lower() or LIKE.
func (a *args) text(v string) string { return "CAST(" + a.add(v) + " AS TEXT)" }

// maxExprDepth bounds the nesting of a filter: SQLite refuses expressions
// deeper than 1000, and no SCIM filter Entra sends comes close.
const maxExprDepth = 64

const (
	sqlFalse = "1 = 0"
	sqlTrue  = "1 = 1"
)

// where translates e into a condition on the row alias t0.
func (t *table) where(e backends.Expr, a *args, depth int) (string, error) {
	if depth > maxExprDepth {
		return "", unsupported("filter nested deeper than %d", maxExprDepth)
	}
	switch x := e.(type) {
	case backends.Cmp:
		return t.cmp(x, a)
	case *backends.Cmp:
		if x == nil {
			break
		}
		return t.cmp(*x, a)
	case backends.And:
		return t.binary("AND", x.Left, x.Right, a, depth)
	case backends.Or:
		return t.binary("OR", x.Left, x.Right, a, depth)
	case backends.Not:
		s, err := t.where(x.X, a, depth+1)
		if err != nil {
			return "", err
		}
		return "NOT (" + s + ")", nil
	case backends.None:
		return sqlFalse, nil
	}
	return "", unsupported("filter node %T", e)
}

func (t *table) binary(op string, l, r backends.Expr, a *args, depth int) (string, error) {
	ls, err := t.where(l, a, depth+1)
	if err != nil {
		return "", err
	}
	rs, err := t.where(r, a, depth+1)
	if err != nil {
		return "", err
	}
	return "(" + ls + ") " + op + " (" + rs + ")", nil
}

// cmp translates one comparison. Every translation is NULL-safe (an absent
// value compares false, never NULL), so NOT is the exact complement and
// "ne" matches records without the attribute, as LDAP's (!(a=v)) does.
func (t *table) cmp(c backends.Cmp, a *args) (string, error) {
	if c.Op < backends.Eq || c.Op > backends.Pr {
		return "", unsupported("comparison operator %d", int(c.Op))
	}
	if c.Op == backends.Ne {
		s, err := t.cmp(backends.Cmp{Attr: c.Attr, Op: backends.Eq, Value: c.Value}, a)
		if err != nil {
			return "", err
		}
		return "NOT (" + s + ")", nil
	}
	key := "t0." + quote(t.key.name)
	switch {
	case c.Attr == backends.AttrID:
		switch c.Op {
		case backends.Pr:
			return sqlTrue, nil
		case backends.Eq:
			v, ok := t.key.keyToDB(c.Value)
			if !ok {
				return sqlFalse, nil
			}
			return key + " = " + a.add(v), nil
		}
		return "", unsupported("%s on the id: ids are opaque", c.Op)
	case c.Attr == backends.AttrMembers:
		m := t.members
		if m == nil {
			return "", unsupported("%s has no members", strings.ToLower(string(t.kind)))
		}
		sub := "SELECT 1 FROM " + quote(m.name) + " m WHERE m." + quote(m.group.name) + " = " + key
		switch c.Op {
		case backends.Pr:
			return "EXISTS (" + sub + ")", nil
		case backends.Eq:
			v, ok := m.member.keyToDB(c.Value)
			if !ok {
				return sqlFalse, nil
			}
			return "EXISTS (" + sub + " AND m." + quote(m.member.name) + " = " + a.add(v) + ")", nil
		}
		return "", unsupported("%s on members", c.Op)
	}
	if col, ok := t.scalars[c.Attr]; ok {
		return valueCmp("t0."+quote(col.name), col, c, a)
	}
	if ch, ok := t.multi[c.Attr]; ok {
		cond, err := valueCmp("c."+quote(ch.value.name), ch.value, c, a)
		if err != nil {
			return "", err
		}
		return "EXISTS (SELECT 1 FROM " + quote(ch.name) + " c WHERE c." + quote(ch.key.name) + " = " + key +
			" AND " + cond + ")", nil
	}
	return "", unsupported("filter on attribute %q, which the mapping does not store", c.Attr)
}

// valueCmp compares the column expression ref with c.Value: text
// case-insensitively through lower() (the function the unique indexes
// use), other types after converting the value to the column's type.
func valueCmp(ref string, col column, c backends.Cmp, a *args) (string, error) {
	notNull := ref + " IS NOT NULL"
	if c.Op == backends.Pr {
		if col.cat == catText {
			return "(" + notNull + " AND " + ref + " <> '')", nil
		}
		return notNull, nil
	}
	// No stored value holds NUL or invalid UTF-8 (writes refuse them), and
	// PostgreSQL would refuse the parameter: such a value matches nothing.
	if checkText("", c.Value) != nil {
		return sqlFalse, nil
	}
	switch c.Op {
	case backends.Co, backends.Sw, backends.Ew:
		pat := likeEscape(c.Value)
		switch c.Op {
		case backends.Co:
			pat = "%" + pat + "%"
		case backends.Sw:
			pat += "%"
		case backends.Ew:
			pat = "%" + pat
		}
		subject := ref
		if col.cat != catText {
			subject = "CAST(" + ref + " AS TEXT)"
		}
		return "(" + notNull + " AND lower(" + subject + ") LIKE lower(" + a.text(pat) + `) ESCAPE '\')`, nil
	}
	op := map[backends.CmpOp]string{backends.Eq: "=", backends.Gt: ">", backends.Ge: ">=", backends.Lt: "<", backends.Le: "<="}[c.Op]
	if col.cat == catText {
		return "(" + notNull + " AND lower(" + ref + ") " + op + " lower(" + a.text(c.Value) + "))", nil
	}
	v, err := col.toDB(c.Attr, c.Value)
	if err != nil {
		if c.Op == backends.Eq {
			return sqlFalse, nil // a value the column cannot hold equals nothing
		}
		return "", fmt.Errorf("pharos: filter %s %s: %w", c.Attr, c.Op, err)
	}
	if col.cat == catBoolean && c.Op != backends.Eq {
		return "", unsupported("%s on a boolean", c.Op)
	}
	return "(" + notNull + " AND " + ref + " " + op + " " + a.add(v) + ")", nil
}

// likeEscape makes every character of v literal in a LIKE pattern with
// ESCAPE '\'.
func likeEscape(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(v)
}
