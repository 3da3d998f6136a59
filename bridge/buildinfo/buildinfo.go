// Package buildinfo says which scimbridge this binary is: the version an
// operator reports and a release is named by. It imports no project
// package.
//
// The version comes, in this order, from the linker (-X main.version=…, what
// `make build` and `make release` set from `git describe`), from the module
// version the go command recorded (`go install
// github.com/scimbridge/scimbridge/bridge/cmd/scimbridge@v1.2.3` records
// v1.2.3; a build inside a git checkout records a pseudo-version), or from
// the VCS revision the go command stamped. "dev" is what is left when none
// of them says anything.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Unknown is the version of a binary nothing describes.
const Unknown = "dev"

// Info describes one build.
type Info struct {
	// Version is the release or module version, e.g. v1.2.3.
	Version string
	// Revision is the VCS commit, with "-dirty" when the tree had local
	// changes; empty when the go command recorded none.
	Revision string
	// GoVersion and Platform (GOOS/GOARCH) are the toolchain's.
	GoVersion, Platform string
}

// Read describes the running binary. linked is what the linker set
// (main.version); "" or Unknown means nothing.
func Read(linked string) Info {
	bi, _ := debug.ReadBuildInfo()
	return From(linked, bi)
}

// From describes a build from the linker's version and the go command's
// build information (nil when the binary has none).
func From(linked string, bi *debug.BuildInfo) Info {
	in := Info{Version: Unknown, GoVersion: runtime.Version()}
	goos, goarch := runtime.GOOS, runtime.GOARCH
	if bi != nil {
		in.GoVersion = bi.GoVersion
		var dirty bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Revision = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			case "GOOS":
				goos = s.Value
			case "GOARCH":
				goarch = s.Value
			}
		}
		if in.Revision != "" && dirty {
			in.Revision += "-dirty"
		}
		switch v := bi.Main.Version; {
		case v != "" && v != "(devel)":
			in.Version = v
		case in.Revision != "":
			in.Version = Unknown + "-" + short(in.Revision)
		}
	}
	in.Platform = goos + "/" + goarch
	if linked != "" && linked != Unknown {
		in.Version = linked
	}
	return in
}

// short cuts a commit hash to the 12 characters git shows, keeping a
// "-dirty" suffix.
func short(rev string) string {
	const n = 12
	hash, suffix := rev, ""
	if len(rev) > 6 && rev[len(rev)-6:] == "-dirty" {
		hash, suffix = rev[:len(rev)-6], "-dirty"
	}
	if len(hash) > n {
		hash = hash[:n]
	}
	return hash + suffix
}

// String is the one line `scimbridge version` prints.
func (in Info) String() string {
	s := "scimbridge " + in.Version
	if in.Revision != "" {
		s += " (commit " + in.Revision + ")"
	}
	return fmt.Sprintf("%s %s %s", s, in.GoVersion, in.Platform)
}
