package mapping

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// FuzzParse: whatever a mapping file holds, Parse answers with a mapping
// or an error, never a panic or a hang; a mapping it accepts converts a
// resource without panicking.
func FuzzParse(f *testing.F) {
	src, err := os.ReadFile(pharosMapping)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(src))
	f.Add(usersWith("    - {target: cn, toTarget: 'Join(\" \", attr(\"name.givenName\"), attr(\"name.familyName\"))'}\n"))
	f.Add("users: &u {<<: *u}\n")
	f.Add("users:\n  target: &t {a: *t}\n")
	f.Add("- a\n---\nb: [\n")
	f.Fuzz(func(t *testing.T, src string) {
		// A hang is a failure too: crash the worker so that the fuzzer
		// keeps the input.
		timer := time.AfterFunc(3*time.Second, func() { panic(fmt.Sprintf("mapping: Parse hangs on %q", src)) })
		defer timer.Stop()
		m, err := Parse("fuzz.yaml", []byte(src))
		if err != nil {
			return
		}
		r := scim.Resource{"userName": "u", "externalId": "e", "active": true, "title": "t",
			"emails": []any{map[string]any{"type": "work", "value": "w@x"}},
			"name":   map[string]any{"givenName": "g", "familyName": "f"}}
		attrs, err := m.ToAttrs(scim.User, r)
		if err != nil {
			return
		}
		_ = m.CheckRequired(scim.User, r)
		_ = m.Schema()
		_, _ = m.ToResource(scim.User, recordOf(attrs))
	})
}
