package scimbridge

import (
	"bufio"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The import rules of the module (no cycles, each heavy dependency in one
// package, the service reached through interfaces its consumers declare),
// checked on every .go file under the module root, tests included.
//
// The files are parsed rather than listed with `go list`: go list sees
// only the files of this GOOS and these build tags, and a rule must hold
// for every file there is.

// anything stands for every project package, in the one rule that needs it.
const anything = "*"

// packageRule says which project packages one package may import. Package
// names here are paths inside the module ("." is its root).
type packageRule struct {
	// code is what the package's own files may import.
	code []string
	// tests is what its _test.go files may import besides code.
	tests []string
}

var packageRules = map[string]packageRule{
	// The two vocabularies and the state contract import no project
	// package, tests included, so that every other package can import
	// them without a cycle.
	"bridge/scim":  {},
	"backends":     {},
	"bridge/state": {},
	// What the binary knows about its own build.
	"bridge/buildinfo": {},
	// TLS from files that change; its tests make certificates with
	// tlstest, which the end-to-end tests use too.
	"bridge/tlsreload":         {tests: []string{"bridge/tlsreload/tlstest"}},
	"bridge/tlsreload/tlstest": {},
	// Request rates and concurrency caps; the HTTP layer reaches them
	// through an interface of its own.
	"bridge/limits": {},

	// mapping translates between the two vocabularies and knows nothing
	// else.
	"mapping": {code: []string{"bridge/scim", "backends"}},

	// Each implementation imports its parent (and its one driver, below).
	// Its tests run its parent's contract suite; the LDAP backend's tests
	// also apply the shipped LDAP mappings to a real directory, which
	// takes mapping and the SCIM resources it maps.
	"backends/ldap":            {code: []string{"backends"}, tests: []string{"backends/backendtest", "mapping", "bridge/scim"}},
	"backends/pharos":          {code: []string{"backends"}, tests: []string{"backends/backendtest"}},
	"bridge/state/redisstate":  {code: []string{"bridge/state"}, tests: []string{"bridge/state/statetest"}},
	"bridge/state/sqlitestate": {code: []string{"bridge/state"}, tests: []string{"bridge/state/statetest"}},

	// A contract suite knows only the interface it checks: it runs
	// against every implementation, so it may import none of them (nor,
	// below, any driver).
	"backends/backendtest":   {code: []string{"backends"}},
	"bridge/state/statetest": {code: []string{"bridge/state"}},

	// The service. Its tests run it on the embedded stores (a real
	// Pharos SQLite file and a real SQLite state store), never on mocks.
	"bridge": {
		code:  []string{"bridge/scim", "mapping", "backends", "bridge/state"},
		tests: []string{"backends/pharos", "bridge/state/sqlitestate"},
	},

	// The badge-card import writes through the mapping into a backend,
	// beside the service (no SCIM request is involved). Its tests read
	// files; the imports into real stores run in main's end-to-end tests,
	// on the whole bridge.
	"bridge/cards": {code: []string{"bridge/scim", "mapping", "backends"}},

	// The HTTP layer reaches the service through an interface of its own,
	// so it never imports bridge. Its tests give it a service of their own
	// built from mapping and backends, and the real metrics handler.
	"bridge/httpapi": {
		code:  []string{"bridge/scim", "bridge/opsview", "bridge/cards"},
		tests: []string{"backends", "mapping", "bridge/metrics"},
	},

	// The operators' vocabulary (typed views and sentinels) imports
	// nothing, so that the HTTP layers speak it without the service.
	"bridge/opsview": {},

	// The operations layer shared by the CLI, the admin API and the
	// console: it reads the configuration, the state store, the tokens and
	// the services, and answers in opsview. Its tests run it on the
	// embedded stores.
	"bridge/ops": {
		code:  []string{"bridge", "bridge/cards", "bridge/config", "bridge/opsview", "bridge/scim", "bridge/state", "backends", "mapping"},
		tests: []string{"backends/pharos", "bridge/state/sqlitestate"},
	},

	// The console is web pages over the operations layer, which it
	// reaches through an interface of its own, in opsview's types.
	"bridge/console": {code: []string{"bridge/opsview", "bridge/scim"}},

	// Authentication beyond the Secret Token: OAuth clients and signing
	// keys in the state store, SCIM errors for rejected bearer tokens. Its
	// tests run on a real SQLite state store.
	"bridge/auth": {
		code:  []string{"bridge/scim", "bridge/state"},
		tests: []string{"bridge/state/sqlitestate", "bridge/auth/authtest"},
	},
	// The loopback OpenID issuer that auth's and the end-to-end tests
	// verify tokens against; it knows nothing of the bridge.
	"bridge/auth/authtest": {},

	// The configuration validates backend settings and compiles mappings.
	"bridge/config": {code: []string{"backends", "mapping"}},

	// The metrics read queue statistics through the state contract; their
	// tests read them from a real SQLite store.
	"bridge/metrics": {code: []string{"bridge/state"}, tests: []string{"bridge/state/sqlitestate"}},

	// main is the one place that wires implementations together.
	"bridge/cmd/scimbridge": {code: []string{anything}},

	// The benchmark measures the built bridge from the outside (a process
	// of its own, over HTTP), so it links none of it.
	"scripts/bench": {},

	// This package.
	".": {},
}

// driverRule keeps one heavy dependency in the package that wraps it.
type driverRule struct {
	// paths are import paths; each covers its subpackages too.
	paths []string
	// owners wrap the driver: their files, tests included, may import it.
	owners []string
	// tests are packages whose tests may import it too, to see with their
	// own eyes what the bridge wrote.
	tests []string
	// code are packages whose own files may import it without wrapping it.
	code []string
}

var driverRules = []driverRule{
	// Gin serves the two HTTP surfaces: the SCIM and operator endpoints,
	// and the console's pages.
	{paths: []string{"github.com/gin-gonic/gin"}, owners: []string{"bridge/httpapi", "bridge/console"}},
	// OpenID Connect sign-in is the console's.
	{paths: []string{"github.com/coreos/go-oidc/v3", "golang.org/x/oauth2"}, owners: []string{"bridge/console"}},
	// The console's browser tests run against the whole bridge: a real
	// Chromium, and a real OpenID Connect provider (mockoidc).
	{
		paths: []string{"github.com/chromedp/chromedp", "github.com/chromedp/cdproto", "github.com/oauth2-proxy/mockoidc"},
		tests: []string{"bridge/cmd/scimbridge"},
	},
	{
		// asn1-ber is go-ldap's wire encoding: the LDAP backend's tests
		// build raw packets with it.
		paths:  []string{"github.com/go-ldap/ldap/v3", "github.com/go-asn1-ber/asn1-ber"},
		owners: []string{"backends/ldap"},
		// The end-to-end tests read the entries the bridge wrote straight
		// from the directory, and cut its connections.
		tests: []string{"bridge/cmd/scimbridge"},
		// The benchmark's baseline is raw go-ldap on the same directory.
		code: []string{"scripts/bench"},
	},
	{
		paths:  []string{"github.com/redis/go-redis/v9"},
		owners: []string{"bridge/state/redisstate"},
		// The end-to-end tests look at the keys the bridge left in Redis.
		tests: []string{"bridge/cmd/scimbridge"},
		// The benchmark removes its run's keys from a Redis it shares.
		code: []string{"scripts/bench"},
	},
	{paths: []string{"github.com/jackc/pgx/v5"}, owners: []string{"backends/pharos"}},
	{paths: []string{"github.com/expr-lang/expr"}, owners: []string{"mapping"}},
	// SQLite is two drivers' engine: the embedded state store and the
	// embedded Pharos store.
	{paths: []string{"modernc.org/sqlite"}, owners: []string{"bridge/state/sqlitestate", "backends/pharos"}},
	{paths: []string{"github.com/prometheus/client_golang"}, owners: []string{"bridge/metrics"}},
	// JWTs are signed, parsed and verified in one place; the end-to-end
	// tests sign tokens as Entra would.
	{
		paths:  []string{"github.com/golang-jwt/jwt/v5", "github.com/MicahParks/keyfunc/v3", "github.com/MicahParks/jwkset"},
		owners: []string{"bridge/auth", "bridge/auth/authtest"},
		tests:  []string{"bridge/cmd/scimbridge"},
	},
}

// importSite is one import in one file.
type importSite struct {
	pkg  string // the importing package, a path inside the module
	pos  string // file:line
	test bool   // in a _test.go file
	path string // what is imported
}

func TestImportRules(t *testing.T) {
	module := modulePath(t)
	sites, pkgs := moduleImports(t)
	checkRuleNames(t, pkgs)

	unruled := map[string]bool{}
	for _, s := range sites {
		if target, ok := projectPackage(module, s.path); ok {
			rule, ok := packageRules[s.pkg]
			if !ok {
				unruled[s.pkg] = true
				continue
			}
			allowed := rule.code
			if s.test {
				allowed = slices.Concat(rule.code, rule.tests)
			}
			// target == s.pkg is an external test (package x_test) of its own package.
			if target != s.pkg && !slices.Contains(allowed, anything) && !slices.Contains(allowed, target) {
				t.Errorf("%s: %s may not import %s (%s)", s.pos, s.pkg, target, describe(allowed, s.test))
			}
			continue
		}
		for _, d := range driverRules {
			if !d.covers(s.path) {
				continue
			}
			if !d.allows(s.pkg, s.test) {
				t.Errorf("%s: %s may not import %s: only %s may", s.pos, s.pkg, s.path, strings.Join(d.owners, " and "))
			}
		}
	}
	for _, pkg := range slices.Sorted(maps.Keys(unruled)) {
		t.Errorf("package %s imports project packages but has no entry in packageRules (imports_test.go): say which it may import, and why", pkg)
	}
}

func (d driverRule) covers(path string) bool {
	for _, p := range d.paths {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

func (d driverRule) allows(pkg string, test bool) bool {
	return slices.Contains(d.owners, pkg) || slices.Contains(d.code, pkg) || test && slices.Contains(d.tests, pkg)
}

// checkRuleNames fails on a rule that names a package that does not exist,
// so that a moved or deleted package does not leave a rule that permits
// whatever takes its name later.
func checkRuleNames(t *testing.T, pkgs map[string]bool) {
	t.Helper()
	exists := func(what, pkg string) {
		if pkg != anything && !pkgs[pkg] {
			t.Errorf("%s names %s, which is not a package of the module", what, pkg)
		}
	}
	for _, pkg := range slices.Sorted(maps.Keys(packageRules)) {
		rule := packageRules[pkg]
		exists("packageRules", pkg)
		for _, p := range slices.Concat(rule.code, rule.tests) {
			exists("packageRules["+strconv.Quote(pkg)+"]", p)
		}
	}
	for _, d := range driverRules {
		for _, p := range slices.Concat(d.owners, d.tests, d.code) {
			exists("the driverRule of "+d.paths[0], p)
		}
	}
}

// describe lists what a package may import, where.
func describe(allowed []string, test bool) string {
	where := "in its code"
	if test {
		where = "in its tests"
	}
	if len(allowed) == 0 {
		return "allowed " + where + ": none"
	}
	return "allowed " + where + ": " + strings.Join(allowed, ", ")
}

// projectPackage says whether path is a package of module and gives its
// path inside the module.
func projectPackage(module, path string) (string, bool) {
	if path == module {
		return ".", true
	}
	rest, ok := strings.CutPrefix(path, module+"/")
	return rest, ok
}

// modulePath reads the module's path from go.mod (the test runs in the
// module root, its package's directory).
func modulePath(t *testing.T) string {
	t.Helper()
	f, err := os.Open("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	t.Fatalf("go.mod: no module line (%v)", sc.Err())
	return ""
}

// moduleImports parses the imports of every .go file of the module, in the
// directories the go command would build (not testdata, not those whose
// name starts with . or _, not another module's), and returns them with the
// set of packages they belong to.
func moduleImports(t *testing.T) ([]importSite, map[string]bool) {
	t.Helper()
	var sites []importSite
	pkgs := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if path == "." {
				return nil
			}
			name := e.Name()
			if name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		pkgs[pkg] = true
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: %w", fset.Position(imp.Pos()), err)
			}
			pos := fset.Position(imp.Pos())
			sites = append(sites, importSite{
				pkg:  pkg,
				pos:  fmt.Sprintf("%s:%d", filepath.ToSlash(pos.Filename), pos.Line),
				test: strings.HasSuffix(path, "_test.go"),
				path: p,
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		// A test that finds nothing to check passes for the wrong reason.
		t.Fatalf("found only %d packages: not run in the module root?", len(pkgs))
	}
	return sites, pkgs
}
