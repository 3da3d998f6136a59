package scimbridge

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAlertRules checks configs/prometheus/scimbridge-rules.yml with
// promtool: the rules parse and type-check (check rules), and the unit
// tests beside them fire each tested alert when it should, not before, with
// the text the operator reads (test rules). Both checks are shown to fail
// on a broken copy. That every scimbridge_ metric the rules use is exported
// is TestObservabilityMetricsExported's (bridge/cmd/scimbridge).
func TestAlertRules(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	dir := "configs/prometheus"
	promtoolRun := func(dir string, args ...string) (string, error) {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := promtoolRun(dir, "check", "rules", "scimbridge-rules.yml")
	require.NoError(t, err, "%s", out)
	require.Contains(t, out, "SUCCESS")
	out, err = promtoolRun(dir, "test", "rules", "scimbridge-rules.test.yml")
	require.NoError(t, err, "%s", out)
	require.Contains(t, out, "SUCCESS")

	rules, err := os.ReadFile(filepath.Join(dir, "scimbridge-rules.yml"))
	require.NoError(t, err)
	tests, err := os.ReadFile(filepath.Join(dir, "scimbridge-rules.test.yml"))
	require.NoError(t, err)
	broken := func(rules string) string {
		d := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(d, "scimbridge-rules.yml"), []byte(rules), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(d, "scimbridge-rules.test.yml"), tests, 0o644))
		return d
	}
	// A PromQL syntax error fails check rules.
	d := broken(strings.Replace(string(rules), "scimbridge_target_up == 0", "scimbridge_target_up == ", 1))
	out, err = promtoolRun(d, "check", "rules", "scimbridge-rules.yml")
	require.Error(t, err, "%s", out)
	// A threshold moved fails the unit tests: they pin when alerts fire.
	d = broken(strings.Replace(string(rules), "14 * 86400", "13 * 86400", 1))
	out, err = promtoolRun(d, "test", "rules", "scimbridge-rules.test.yml")
	require.Error(t, err, "%s", out)
	require.Contains(t, out, "ScimbridgeTokenExpiringSoon")

	// Every alert has a for:, a severity and annotations that point to the
	// operator's section of docs/operations.md (docs/docs_test.go checks
	// the section exists).
	for _, block := range strings.Split(string(rules), "- alert: ")[1:] {
		name := strings.Fields(block)[0]
		require.Contains(t, block, "\n        for: ", name)
		require.Regexp(t, `\n {10}severity: (critical|warning|info)\n`, block, name)
		require.Contains(t, block, "summary: ", name)
		require.Regexp(t, `See\s+docs/operations\.md §5\.\d+\.`, block, name)
	}
}
