package backends

// Expr is a filter over target attributes: the mapping translates a SCIM
// filter into one, and each backend translates it into its own query
// language (an escaped LDAP filter, SQL with placeholders). Nothing is ever
// evaluated by listing records in memory.
type Expr interface{ isExpr() }

// CmpOp is a comparison operator, as in RFC 7644 §3.4.2.2.
type CmpOp int

// Comparison operators.
const (
	Eq CmpOp = iota + 1
	Ne
	Co // contains
	Sw // starts with
	Ew // ends with
	Gt
	Ge
	Lt
	Le
	Pr // present: Value is ignored
)

// String gives the SCIM spelling, for logs and errors.
func (o CmpOp) String() string {
	return [...]string{"?", "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"}[o]
}

// Cmp compares one target attribute with a value. String comparisons are
// case-insensitive for every attribute except AttrID, the way SCIM's
// caseExact=false attributes and the directories' default matching rules
// behave. Attr may be AttrID or AttrMembers (a group having that member).
type Cmp struct {
	Attr  string
	Op    CmpOp
	Value string
}

// And matches records matching both sides.
type And struct{ Left, Right Expr }

// Or matches records matching either side.
type Or struct{ Left, Right Expr }

// Not matches records not matching X.
type Not struct{ X Expr }

// None matches no record. The mapping uses it when a filter names a SCIM
// attribute that has no target (it can never match), so that the answer is
// an empty list rather than a wider result.
type None struct{}

func (Cmp) isExpr()  {}
func (And) isExpr()  {}
func (Or) isExpr()   {}
func (Not) isExpr()  {}
func (None) isExpr() {}
