package mapping

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/expr-lang/expr/vm/runtime"
)

// Limits that keep a hostile or careless expression from taking the
// service down. Entra's own expressions are a handful of nodes; these are
// generous for real use and small for abuse.
const (
	// maxNodes bounds the size of one expression (expr.MaxNodes).
	maxNodes = 300
	// memoryBudget bounds what one run may allocate in ranges, arrays
	// and maps (vm.VM.MemoryBudget counts elements, not bytes).
	memoryBudget = 100_000
	// maxStringLen bounds every string a transform function or `+`
	// produces, so that repeated doubling fails fast instead of eating
	// memory; no directory value comes near it.
	maxStringLen = 1 << 20
	// maxElems bounds how many values a function flattens or returns.
	maxElems = 10_000
)

// safeBuiltins are the expr built-ins left enabled. The rest are off:
// now/date/duration/timezone break determinism, and repeat, join,
// replace, string, toJSON, concat, flatten, reduce and friends can build
// values far larger than their input without passing through a length
// check. The Entra-style functions below cover their legitimate uses.
var safeBuiltins = []string{
	"all", "none", "any", "one", "filter", "map", "find", "findIndex", "findLast", "findLastIndex", "count",
	"len", "type", "abs", "ceil", "floor", "round", "int", "float",
	"trim", "trimPrefix", "trimSuffix", "upper", "lower", "split", "indexOf", "lastIndexOf", "hasPrefix", "hasSuffix",
	"max", "min", "first", "last", "get", "keys", "values", "reverse", "uniq", "sort",
}

// toEnv is what a toTarget expression sees.
type toEnv struct {
	// Value is the SCIM value at the attribute's path: string, bool,
	// float64, []any or nil. A complex value with a "value" member (the
	// manager, multi-valued elements) is reduced to that member.
	Value any `expr:"value"`
	// Attr returns the value at another path of the resource being
	// written, in the same form as Value: attr(path). It takes ...any
	// because expr calls a func(...any) any directly and any other
	// signature through reflection (several allocations per call); the
	// guard admits exactly one quoted path.
	Attr func(args ...any) any `expr:"attr"`
}

// uniqueEnv is what a selectUniqueValue candidate sees: attr() as in
// toTarget; value, the first candidate's result (nil in the first); and n,
// the number of the try of the last candidate (1, 2, …), so that it can
// count until the directory accepts a value: Join(" ", value, n + 1).
type uniqueEnv struct {
	Value any                   `expr:"value"`
	Attr  func(args ...any) any `expr:"attr"`
	N     int                   `expr:"n"`
}

// fromEnv is what a fromTarget expression sees.
type fromEnv struct {
	// Value is the target value: a string for a single-valued attribute,
	// []string for a multi-valued one, nil when the target has none.
	Value any `expr:"value"`
	// Attrs holds every target attribute of the record.
	Attrs map[string][]string `expr:"attrs"`
}

// program is one compiled transform. A *vm.Program is safe for concurrent
// use; each run gets its own VM.
type program struct {
	src  string
	prog *vm.Program
	// attrs are the paths passed to attr(), as written; each was parsed
	// at load time into kindMap.attrPaths.
	attrs []string
	// usesN is set when the expression reads n (selectUniqueValue).
	usesN bool
}

// vms holds VMs between runs: a fresh one allocates its stack and
// buffers on every run, several times per request. VM.Run resets what
// it needs; run clears the rest so no request's values stay reachable.
var vms = sync.Pool{New: func() any { return &vm.VM{MemoryBudget: memoryBudget} }}

func (p *program) run(env any) (any, error) {
	v := vms.Get().(*vm.VM)
	out, err := v.Run(p.prog, env)
	clear(v.Stack[:cap(v.Stack)])
	clear(v.Variables)
	vms.Put(v)
	if err != nil {
		return nil, exprError(err)
	}
	return out, nil
}

// exprError reduces expr's multi-line error (message, source line, caret)
// to its message, which is what fits into a SCIM detail or a log line.
func exprError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		msg := fe.Message
		if fe.Prev != nil && !strings.Contains(msg, fe.Prev.Error()) {
			msg += ": " + fe.Prev.Error()
		}
		return errors.New(msg)
	}
	return errors.New(firstLine(err.Error()))
}

// compileExpr compiles src against env (toEnv{} or fromEnv{}) with the
// function library, the limits and the guard.
func compileExpr(src string, env any) (*program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("the expression is empty")
	}
	g := &guard{}
	opts := []expr.Option{
		expr.Env(env),
		expr.DisableAllBuiltins(),
		expr.MaxNodes(maxNodes),
		expr.Patch(g),
	}
	for _, name := range safeBuiltins {
		opts = append(opts, expr.EnableBuiltin(name))
	}
	for _, f := range functions {
		opts = append(opts, expr.Function(f.name, f.fn, f.types...))
	}
	opts = append(opts, expr.Function(addFunc, add, new(func(any, any) any)))
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("%s (at column %d of the expression)", fe.Message, fe.Column+1)
		}
		return nil, errors.New(firstLine(err.Error()))
	}
	if len(g.errs) > 0 {
		return nil, errors.Join(g.errs...)
	}
	return &program{src: src, prog: prog, attrs: g.attrs, usesN: g.usesN}, nil
}

// addFunc replaces the `+` operator, see guard.
const addFunc = "__add"

// guard is an expr AST visitor, run before type checking. It
//   - routes every `+` through add, which bounds string length: expr
//     itself only limits allocations of arrays and maps, so
//     `let a = value + value; let b = a + a; …` would otherwise double a
//     string a few dozen times;
//   - records the paths given to attr(), which must be quoted literals so
//     they can be parsed once at load time, never per request;
//   - checks Switch's key/value pairs;
//   - refuses the built-ins left out of safeBuiltins that expr parses
//     anyway (its predicates: reduce, groupBy, sortBy, sum).
type guard struct {
	attrs []string
	usesN bool
	errs  []error
}

func (g *guard) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if n.Value == "n" {
			g.usesN = true
		}
	case *ast.BinaryNode:
		if n.Operator == "+" {
			ast.Patch(node, &ast.CallNode{
				Callee:    &ast.IdentifierNode{Value: addFunc},
				Arguments: []ast.Node{n.Left, n.Right},
			})
		}
	case *ast.BuiltinNode:
		// Predicate built-ins (reduce, groupBy, sum, …) are parsed
		// whatever the configuration says; refuse the ones not listed.
		if !contains(safeBuiltins, n.Name) {
			g.errs = append(g.errs, fmt.Errorf("%s is not available in mapping expressions", n.Name))
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		switch id.Value {
		case "attr":
			if len(n.Arguments) != 1 {
				g.errs = append(g.errs, errors.New("attr takes one path, e.g. attr(\"name.givenName\")"))
				return
			}
			s, ok := n.Arguments[0].(*ast.StringNode)
			if !ok {
				g.errs = append(g.errs, errors.New("attr takes a path in quotes, e.g. attr(\"name.givenName\"), so that it is checked when the mapping loads"))
				return
			}
			g.attrs = append(g.attrs, s.Value)
		case "Switch":
			if len(n.Arguments) < 2 || len(n.Arguments)%2 != 0 {
				g.errs = append(g.errs, errors.New("Switch takes a source, a default and then key, value pairs: Switch(value, \"default\", \"key1\", \"value1\", …)"))
			}
		}
	}
}

// add is `+`: numbers add as expr adds them, strings concatenate within
// maxStringLen, nil next to a string counts as "" (and nil + nil is nil).
func add(params ...any) (any, error) {
	a, b := params[0], params[1]
	if a == nil && b == nil {
		return nil, nil
	}
	// A missing attribute is nil; joining it to a string gives the
	// string, so `attr("a") + " " + attr("b")` does not fail on users
	// without "a".
	if a == nil {
		if _, ok := b.(string); ok {
			a = ""
		}
	}
	if b == nil {
		if _, ok := a.(string); ok {
			b = ""
		}
	}
	if as, ok := a.(string); ok {
		if bs, ok := b.(string); ok {
			if len(as)+len(bs) > maxStringLen {
				return nil, fmt.Errorf("a string would exceed %d bytes", maxStringLen)
			}
			return as + bs, nil
		}
	}
	return runtime.Add(a, b), nil
}
