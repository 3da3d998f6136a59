// Package docs holds the project's design documentation (Markdown); this
// test keeps the citations of it honest.
package docs

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// root is the repository, seen from this package's directory.
const root = ".."

var (
	// outside matches citations of documents that are not in the
	// repository: the design notes the project started from. Their content
	// lives in docs/ now; a citation of one of these names is only right
	// when it is a docs/ file that exists (checked by citation).
	outside = regexp.MustCompile(`/work/shared|\b(DESIGN|entra-scim|reliability|libraries|directory-servers|test-servers)\.md\b`)
	// citation matches docs/X.md anywhere, and a Markdown link [..](X.md)
	// inside docs/, with the section list that may follow:
	// "docs/entra.md §2.1, §2.4", "§7 item 3 and §12 row 4", "§3 step 5",
	// also when a comment wraps between them.
	citation = regexp.MustCompile(`(?:docs/([\w-]+\.md)|\]\(([\w-]+\.md)\))` +
		`((?:(?:[,\s]|\band\b|//|#)*§\d+(?:\.\d+)*(?:\s+(?:rows?|items?|gaps?|steps?)\s+\d+)?)*)`)
	section = regexp.MustCompile(`§(\d+(?:\.\d+)*)(?:\s+(rows?|items?|gaps?|steps?)\s+(\d+))?`)
	heading = regexp.MustCompile(`^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s`)
	// repoPath matches a backticked path in the repository in docs/*.md.
	repoPath = regexp.MustCompile("`((?:bridge|backends|mapping|configs|scripts)/[^`\\s*<>…]+)`")
	// fixture matches a backticked fixture name in docs/entra.md.
	fixture = regexp.MustCompile("`([\\w-]+\\.json)`")
)

// doc is one file of docs/: its sections by number, each with its body.
type doc map[string]string

func loadDocs(t *testing.T) map[string]doc {
	t.Helper()
	files, err := filepath.Glob("*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no documents in docs/: %v", err)
	}
	docs := map[string]doc{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, cur := doc{}, ""
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "#") {
				cur = ""
				if m := heading.FindStringSubmatch(line); m != nil {
					cur = m[1]
					if _, dup := d[cur]; dup {
						t.Errorf("docs/%s: section %s appears twice", f, cur)
					}
					d[cur] = ""
				}
				continue
			}
			if cur != "" {
				d[cur] += line + "\n"
			}
		}
		docs[f] = d
	}
	return docs
}

// hasItem reports whether a section body holds item n: a numbered list
// entry ("5. ...") or a table row whose first cell is n ("| 18 | ...").
func hasItem(body, n string) bool {
	q := regexp.QuoteMeta(n)
	return regexp.MustCompile(`(?m)^\s*` + q + `\.\s|^\|\s*` + q + `\s*\|`).MatchString(body)
}

// TestCitations walks every text file of the repository and checks that
// it cites no document outside it, and that every docs/ file and section it
// cites exists.
func TestCitations(t *testing.T) {
	docs := loadDocs(t)
	cited := 0
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			switch rel {
			case ".git", "data", "bin": // not the project's text (see .gitignore)
				return filepath.SkipDir
			}
			return nil
		}
		if rel == ".git" || !e.Type().IsRegular() {
			return nil // a worktree's .git is a file
		}
		if rel == "docs/docs_test.go" {
			return nil // this file names the outside documents on purpose
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0 {
			return nil // binary
		}
		text := string(b)
		if !strings.Contains(text, ".md") && !strings.Contains(text, "/work/shared") {
			return nil // cites no document at all
		}
		inDocs := strings.HasPrefix(rel, "docs/") && !strings.Contains(rel[len("docs/"):], "/")
		lineOf := func(off int) string { return rel + ":" + strconv.Itoa(1+strings.Count(text[:off], "\n")) }

		for _, m := range outside.FindAllStringSubmatchIndex(text, -1) {
			if m[2] >= 0 {
				_, exists := docs[text[m[2]:m[3]]+".md"]
				before := text[:m[0]]
				local := inDocs && (before == "" || strings.ContainsAny(before[len(before)-1:], "[( \n"))
				if exists && (strings.HasSuffix(before, "docs/") || local) {
					continue // a docs/ file; citation checks its sections
				}
			}
			t.Errorf("%s: %q cites a document outside the repository; cite docs/ instead", lineOf(m[0]), text[m[0]:m[1]])
		}

		for _, m := range citation.FindAllStringSubmatchIndex(text, -1) {
			var name string
			switch {
			case m[2] >= 0:
				name = text[m[2]:m[3]]
			case inDocs:
				name = text[m[4]:m[5]]
			default:
				continue // a Markdown link elsewhere is relative to its own file
			}
			cited++
			d, ok := docs[name]
			if !ok {
				t.Errorf("%s: cites docs/%s, which does not exist", lineOf(m[0]), name)
				continue
			}
			for _, s := range section.FindAllStringSubmatch(text[m[6]:m[7]], -1) {
				body, ok := d[s[1]]
				switch {
				case !ok:
					t.Errorf("%s: cites docs/%s §%s, which has no such section", lineOf(m[0]), name, s[1])
				case s[3] != "" && !hasItem(body, s[3]):
					t.Errorf("%s: cites docs/%s §%s %s %s, which that section does not number", lineOf(m[0]), name, s[1], s[2], s[3])
				}
			}
		}

		if inDocs && strings.HasSuffix(rel, ".md") {
			for _, m := range repoPath.FindAllStringSubmatchIndex(text, -1) {
				p := strings.TrimRight(text[m[2]:m[3]], "/.,:")
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(p))); err != nil {
					t.Errorf("%s: names %s, which is not in the repository", lineOf(m[0]), p)
				}
			}
		}
		if rel == "docs/entra.md" {
			for _, m := range fixture.FindAllStringSubmatchIndex(text, -1) {
				p := filepath.Join(root, "bridge", "scim", "testdata", "entra", text[m[2]:m[3]])
				if _, err := os.Stat(p); err != nil {
					t.Errorf("%s: names fixture %s, which is not in bridge/scim/testdata/entra", lineOf(m[0]), text[m[2]:m[3]])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cited == 0 {
		t.Fatal("found no citation of docs/ at all: is the walk looking at the repository?")
	}
}

// TestFixturesCiteTheirSection: every Entra fixture says where in
// docs/entra.md its request is described (its "source").
func TestFixturesCiteTheirSection(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, "bridge", "scim", "testdata", "entra", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	src := regexp.MustCompile(`"source":\s*"docs/entra\.md §\d`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !src.Match(b) {
			t.Errorf("%s: its source does not start with a section of docs/entra.md", filepath.Base(f))
		}
	}
}
