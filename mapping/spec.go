package mapping

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// SpecError is one problem in a mapping file, with where it is. Parse
// returns every SpecError it finds, joined with errors.Join, so that an
// integrator fixes a file in one round instead of one error per run.
type SpecError struct {
	File         string // the name given to Parse (the path for Load)
	Line, Column int    // 1-based; 0 when the problem has no position
	Path         string // YAML path, e.g. users.attributes[2].scim; "" for the whole file
	Msg          string
}

func (e *SpecError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Column))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// field is one decoded scalar with the node it came from, so that semantic
// checks long after decoding can still point at the right line.
type field[T any] struct {
	v    T
	set  bool
	node ast.Node
	path string
}

// fileSpec is the mapping file as written, before any semantic check.
type fileSpec struct {
	users, groups *kindSpec
	// deprovision: the users' policy and marker at the top of the block,
	// the groups' in its groups block.
	deprovUsers, deprovGroups deprovisionSpec
}

// deprovisionSpec is what a SCIM DELETE does to one kind.
type deprovisionSpec struct {
	path     string
	node     ast.Node
	onDelete field[string]
	marker   markerSpec
}

// markerSpec names the target attribute and value that mark an entry kept
// after a SCIM DELETE.
type markerSpec struct {
	set    bool
	node   ast.Node
	path   string
	target field[string]
	value  field[string]
}

type kindSpec struct {
	path    string
	node    ast.Node
	target  field[map[string]any]
	members field[bool] // groups only
	attrs   []*attrSpec
	attrsOK bool // attributes is present and a list
}

type attrSpec struct {
	path       string
	node       ast.Node
	scim       field[string]
	target     field[string]
	match      field[int]
	required   field[bool]
	multi      field[bool]
	reference  field[string]
	toTarget   field[string]
	fromTarget field[string]
	// mutability is readWrite (the default), readOnly (owned by the
	// directory) or immutable (set on create only).
	mutability field[string]
	// selectUnique holds the candidate expressions of selectUniqueValue.
	selectUnique field[[]field[string]]
}

// The keys each block accepts. Key spelling is exact (YAML keys are case
// sensitive); a near miss gets a did-you-mean.
var (
	topKeys         = []string{"users", "groups", "deprovision"}
	userKeys        = []string{"target", "attributes"}
	groupKeys       = []string{"target", "members", "attributes"}
	attrKeys        = []string{"scim", "target", "match", "required", "multiValued", "reference", "toTarget", "fromTarget", "selectUniqueValue", "mutability"}
	deprovisionKeys = []string{"onDelete", "marker", "groups"}
	groupDeprovKeys = []string{"onDelete", "marker"}
	markerKeys      = []string{"target", "value"}
)

// decoder walks the YAML AST by hand instead of decoding into structs:
// goccy's strict decoder stops at the first unknown key or type error,
// while integrators need every problem of the file in one run, each with
// its line and column.
type decoder struct {
	name    string
	errs    []error
	anchors map[string]ast.Node
	// aliases counts alias expansions: a self-referencing anchor or a
	// "billion laughs" file must end in an error, not a hang.
	aliases int
}

// Bounds on what a mapping file may make the decoder do.
const (
	maxAliases = 1000
	maxDepth   = 50
)

func (d *decoder) errorAt(n ast.Node, path, format string, args ...any) {
	line, col := position(n)
	d.errs = append(d.errs, &SpecError{File: d.name, Line: line, Column: col, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// position finds the line and column where a node starts.
func position(n ast.Node) (int, int) {
	if n == nil {
		return 0, 0
	}
	var tk *token.Token
	switch n := n.(type) {
	case *ast.MappingNode:
		if len(n.Values) > 0 && !n.IsFlowStyle {
			return position(n.Values[0])
		}
		tk = n.Start
	case *ast.MappingValueNode:
		return position(n.Key)
	case *ast.SequenceNode:
		tk = n.Start
	case *ast.AnchorNode:
		tk = n.Start
	case *ast.TagNode:
		tk = n.Start
	case *ast.AliasNode:
		tk = n.Start
	default:
		tk = n.GetToken()
	}
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

func lineOf(n ast.Node) int {
	l, _ := position(n)
	return l
}

// parseSpec reads src into a fileSpec. Syntax errors (including duplicate
// keys, which goccy's parser rejects) end the walk: there is no tree to
// walk. Every other problem is collected.
func parseSpec(name string, src []byte) (*fileSpec, []error) {
	d := &decoder{name: name, anchors: map[string]ast.Node{}}
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, []error{d.syntaxError(err)}
	}
	var docs []*ast.DocumentNode
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			docs = append(docs, doc)
		}
	}
	switch {
	case len(docs) == 0:
		return nil, []error{&SpecError{File: name, Msg: "the mapping file is empty; it needs users and groups sections"}}
	case len(docs) > 1:
		d.errorAt(docs[1].Body, "", "a mapping file holds one YAML document; remove the second one (after ---)")
		return nil, d.errs
	}
	ast.Walk(anchorCollector(d.anchors), docs[0].Body)

	body := docs[0].Body
	switch d.resolve(body).(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
	default:
		d.errorAt(body, "", "a mapping file is a mapping with the keys users, groups and deprovision, not %s", describe(d.resolve(body)))
		return nil, d.errs
	}
	spec := &fileSpec{}
	seen := map[string]bool{}
	for _, e := range d.entries(body, "", topKeys) {
		seen[e.key] = true
		switch e.key {
		case "users":
			spec.users = d.kind(e.keyPos, e.val, "users", userKeys)
		case "groups":
			spec.groups = d.kind(e.keyPos, e.val, "groups", groupKeys)
		case "deprovision":
			spec.deprovUsers = d.deprovision(e.keyPos, e.val, "deprovision", deprovisionKeys, &spec.deprovGroups)
		}
	}
	for _, k := range []string{"users", "groups"} {
		if !seen[k] {
			d.errorAt(body, "", "the %s section is missing; every mapping maps both users and groups", k)
		}
	}
	return spec, d.errs
}

func (d *decoder) hasErrorFor(path string) bool {
	for _, err := range d.errs {
		var se *SpecError
		if errors.As(err, &se) && (se.Path == path || strings.HasPrefix(se.Path, path+".")) {
			return true
		}
	}
	return false
}

// syntaxError turns a goccy parse error into a SpecError with position.
func (d *decoder) syntaxError(err error) error {
	var se *yaml.SyntaxError
	if errors.As(err, &se) {
		line, col := 0, 0
		if se.Token != nil && se.Token.Position != nil {
			line, col = se.Token.Position.Line, se.Token.Position.Column
		}
		return &SpecError{File: d.name, Line: line, Column: col, Msg: "YAML syntax: " + se.Message}
	}
	return &SpecError{File: d.name, Msg: "YAML syntax: " + firstLine(err.Error())}
}

type anchorCollector map[string]ast.Node

func (a anchorCollector) Visit(n ast.Node) ast.Visitor {
	if an, ok := n.(*ast.AnchorNode); ok && an.Name != nil {
		a[an.Name.GetToken().Value] = an.Value
	}
	return a
}

// resolve looks through anchors, aliases and tags to the node that holds
// the value.
func (d *decoder) resolve(n ast.Node) ast.Node {
	for i := 0; i < 100 && n != nil; i++ {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.AliasNode:
			if x.Value == nil {
				return nil
			}
			d.aliases++
			if d.aliases == maxAliases+1 {
				d.errorAt(x, "", "more than %d alias expansions; is an anchor referring to itself?", maxAliases)
			}
			if d.aliases > maxAliases {
				return nil
			}
			target, ok := d.anchors[x.Value.GetToken().Value]
			if !ok {
				return nil
			}
			n = target
		case *ast.TagNode:
			n = x.Value
		default:
			return n
		}
	}
	return n
}

type entry struct {
	key    string
	keyPos ast.Node
	val    ast.Node
}

// entries returns the key/value pairs of a mapping node, with merge keys
// (<<: *anchor) applied and unknown keys reported. known == nil accepts
// any key.
func (d *decoder) entries(n ast.Node, path string, known []string) []entry {
	n = d.resolve(n)
	var values []*ast.MappingValueNode
	switch x := n.(type) {
	case *ast.MappingNode:
		values = x.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{x}
	default:
		if d.aliases > maxAliases {
			return nil // reported once already
		}
		d.errorAt(n, path, "must be a mapping of keys (%s), not %s", strings.Join(known, ", "), describe(n))
		return nil
	}
	var out, merged []entry
	explicit := map[string]bool{}
	for _, mv := range values {
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
			merged = append(merged, d.mergeEntries(mv.Value, path, known)...)
			continue
		}
		key, ok := d.resolve(mv.Key).(ast.ScalarNode)
		if !ok {
			d.errorAt(mv.Key, path, "keys must be plain names")
			continue
		}
		name := fmt.Sprint(key.GetValue())
		if known != nil && !contains(known, name) {
			d.errorAt(mv.Key, joinPath(path, name), "unknown key %q%s", name, suggest(name, known))
			continue
		}
		explicit[name] = true
		out = append(out, entry{key: name, keyPos: mv.Key, val: mv.Value})
	}
	for _, e := range merged {
		if !explicit[e.key] {
			explicit[e.key] = true
			out = append(out, e)
		}
	}
	return out
}

func (d *decoder) mergeEntries(n ast.Node, path string, known []string) []entry {
	n = d.resolve(n)
	if seq, ok := n.(*ast.SequenceNode); ok {
		var out []entry
		for _, v := range seq.Values {
			out = append(out, d.entries(v, path, known)...)
		}
		return out
	}
	return d.entries(n, path, known)
}

// kind decodes a users or groups section; key is the section's key node,
// where errors about the section as a whole point.
func (d *decoder) kind(key, n ast.Node, path string, known []string) *kindSpec {
	switch d.resolve(n).(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
	default:
		// Reported once; checks of its contents would only repeat it.
		d.entries(n, path, known)
		return nil
	}
	k := &kindSpec{path: path, node: key}
	sawAttrs := false
	for _, e := range d.entries(n, path, known) {
		p := joinPath(path, e.key)
		switch e.key {
		case "target":
			v, ok := d.toAny(e.val, p, p, 0).(map[string]any)
			if !ok {
				d.errorAt(e.val, p, "must be a mapping (the backend's layout, e.g. {table: users, key: id})")
				continue
			}
			k.target = field[map[string]any]{v: v, set: true, node: e.val, path: p}
		case "members":
			k.members = d.boolean(e.val, p)
		case "attributes":
			sawAttrs = true
			seq, ok := d.resolve(e.val).(*ast.SequenceNode)
			if !ok {
				d.errorAt(e.val, p, "must be a list of attribute mappings, not %s", describe(d.resolve(e.val)))
				continue
			}
			k.attrsOK = true
			for i, item := range seq.Values {
				k.attrs = append(k.attrs, d.attribute(item, fmt.Sprintf("%s[%d]", p, i)))
			}
		}
	}
	if !k.target.set && !d.hasErrorFor(path+".target") {
		d.errorAt(key, path, "target is missing: say where %s live in the backend (e.g. target: {table: %s, key: id})", path, path)
	}
	if !sawAttrs {
		d.errorAt(key, path, "attributes is missing: list the SCIM attributes to provision")
	}
	return k
}

// deprovision decodes the deprovision block (the users' policy; its groups
// block, decoded into groups when groups is not nil, is the groups').
func (d *decoder) deprovision(key, n ast.Node, path string, known []string, groups *deprovisionSpec) deprovisionSpec {
	ds := deprovisionSpec{path: path, node: key}
	for _, e := range d.entries(n, path, known) {
		p := joinPath(path, e.key)
		switch e.key {
		case "onDelete":
			ds.onDelete = d.str(e.val, p)
		case "marker":
			ds.marker = markerSpec{set: true, node: e.keyPos, path: p}
			for _, me := range d.entries(e.val, p, markerKeys) {
				switch me.key {
				case "target":
					ds.marker.target = d.str(me.val, joinPath(p, me.key))
				case "value":
					ds.marker.value = d.str(me.val, joinPath(p, me.key))
				}
			}
		case "groups":
			if groups != nil {
				*groups = d.deprovision(e.keyPos, e.val, p, groupDeprovKeys, nil)
			}
		}
	}
	return ds
}

func (d *decoder) attribute(n ast.Node, path string) *attrSpec {
	a := &attrSpec{path: path, node: n}
	for _, e := range d.entries(n, path, attrKeys) {
		p := joinPath(path, e.key)
		switch e.key {
		case "scim":
			a.scim = d.str(e.val, p)
		case "target":
			a.target = d.str(e.val, p)
		case "match":
			a.match = d.integer(e.val, p)
		case "required":
			a.required = d.boolean(e.val, p)
		case "multiValued":
			a.multi = d.boolean(e.val, p)
		case "reference":
			a.reference = d.str(e.val, p)
		case "toTarget":
			a.toTarget = d.str(e.val, p)
		case "fromTarget":
			a.fromTarget = d.str(e.val, p)
		case "mutability":
			a.mutability = d.str(e.val, p)
		case "selectUniqueValue":
			seq, ok := d.resolve(e.val).(*ast.SequenceNode)
			if !ok {
				d.errorAt(e.val, p, "must be a list of candidate expressions, tried in order, not %s", describe(d.resolve(e.val)))
				continue
			}
			a.selectUnique = field[[]field[string]]{set: true, node: e.keyPos, path: p}
			for i, item := range seq.Values {
				a.selectUnique.v = append(a.selectUnique.v, d.str(item, fmt.Sprintf("%s[%d]", p, i)))
			}
		}
	}
	return a
}

func (d *decoder) str(n ast.Node, path string) field[string] {
	switch x := d.resolve(n).(type) {
	case *ast.StringNode:
		return field[string]{v: x.Value, set: true, node: n, path: path}
	case *ast.LiteralNode:
		return field[string]{v: x.Value.Value, set: true, node: n, path: path}
	default:
		d.errorAt(n, path, "must be a string, not %s", describe(x))
		return field[string]{}
	}
}

func (d *decoder) boolean(n ast.Node, path string) field[bool] {
	if b, ok := d.resolve(n).(*ast.BoolNode); ok {
		return field[bool]{v: b.Value, set: true, node: n, path: path}
	}
	d.errorAt(n, path, "must be true or false, not %s", describe(d.resolve(n)))
	return field[bool]{}
}

func (d *decoder) integer(n ast.Node, path string) field[int] {
	if in, ok := d.resolve(n).(*ast.IntegerNode); ok {
		switch v := in.Value.(type) {
		case int64:
			if v >= -1<<31 && v < 1<<31 {
				return field[int]{v: int(v), set: true, node: n, path: path}
			}
		case uint64:
			if v < 1<<31 {
				return field[int]{v: int(v), set: true, node: n, path: path}
			}
		}
		d.errorAt(n, path, "%s is out of range", in.Token.Value)
		return field[int]{}
	}
	d.errorAt(n, path, "must be a whole number, not %s", describe(d.resolve(n)))
	return field[int]{}
}

// toAny converts a subtree into plain Go values (map[string]any, []any,
// string, int64/uint64, float64, bool, nil) for the backend layout, which
// this package passes through without interpreting it.
func (d *decoder) toAny(n ast.Node, root, path string, depth int) any {
	if depth > maxDepth {
		if !hasErrorAt(d.errs, root) {
			d.errorAt(n, root, "nested more than %d levels deep; is an anchor referring to itself?", maxDepth)
		}
		return nil
	}
	n = d.resolve(n)
	switch x := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		m := map[string]any{}
		for _, e := range d.entries(x, path, nil) {
			m[e.key] = d.toAny(e.val, root, joinPath(path, e.key), depth+1)
		}
		return m
	case *ast.SequenceNode:
		out := make([]any, 0, len(x.Values))
		for i, v := range x.Values {
			out = append(out, d.toAny(v, root, fmt.Sprintf("%s[%d]", path, i), depth+1))
		}
		return out
	case *ast.LiteralNode:
		return x.Value.Value
	case *ast.NullNode, nil:
		return nil
	case ast.ScalarNode:
		return x.GetValue()
	}
	d.errorAt(n, path, "unsupported YAML value %s", describe(n))
	return nil
}

func describe(n ast.Node) string {
	switch x := n.(type) {
	case nil, *ast.NullNode:
		return "an empty value"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number (" + x.GetToken().Value + ")"
	}
	return "a " + n.Type().String()
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest names the known key a misspelt one probably meant: same letters
// ignoring case, or at most two edits away.
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return fmt.Sprintf("; did you mean %q?", k)
		}
		if dist := editDistance(strings.ToLower(name), strings.ToLower(k)); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	return " (known keys: " + strings.Join(sorted, ", ") + ")"
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
