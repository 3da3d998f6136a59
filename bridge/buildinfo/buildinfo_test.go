package buildinfo

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFrom(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "arm64"},
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified},
		}
	}
	for _, tc := range []struct {
		name     string
		linked   string
		bi       *debug.BuildInfo
		version  string
		revision string
	}{
		{"go install module@version", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3", ""},
		{"checkout build: pseudo-version", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261207204400-0123456789ab+dirty"}, Settings: vcs("true")},
			"v0.0.0-20261207204400-0123456789ab+dirty", rev + "-dirty"},
		{"devel with a revision", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("false")}, "dev-0123456789ab", rev},
		{"devel, dirty", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("true")}, "dev-0123456789ab-dirty", rev + "-dirty"},
		{"linker wins", "v2.0.0-rc1", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}}, "v2.0.0-rc1", ""},
		{"linker's dev is nothing", "dev", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3", ""},
		{"no build info", "", nil, "dev", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := From(tc.linked, tc.bi)
			require.Equal(t, tc.version, in.Version)
			require.Equal(t, tc.revision, in.Revision)
			require.NotEmpty(t, in.GoVersion)
			if tc.bi != nil && len(tc.bi.Settings) > 0 {
				require.Equal(t, "linux/arm64", in.Platform, "the build's platform, not the test's")
			}
			require.Contains(t, in.String(), "scimbridge "+tc.version+" ")
		})
	}
}
