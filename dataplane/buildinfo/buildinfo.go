// Package buildinfo says which build of StreamGate is running: its version,
// the commit it was built from, and the Go toolchain. The commit and
// whether the tree was modified come from the version control information
// the go command stamps into binaries it builds in a repository
// (-buildvcs); both the version and the commit can also be set at link
// time, where there is no repository to read:
//
//	go build -ldflags "-X streamgate/dataplane/buildinfo.version=v1.2.0 -X streamgate/dataplane/buildinfo.commit=$(git rev-parse HEAD)" ./cmd/streamgate
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// version and commit are set at link time; empty means what the build
// information says.
var version, commit string

// Info describes a build.
type Info struct {
	// Version is the release version, or the main module's (a pseudo-
	// version when built from a repository), or "devel".
	Version string `json:"version"`
	// Commit is the full revision built, "" when unknown; Modified reports
	// uncommitted changes in the tree it was built from.
	Commit   string `json:"commit"`
	Modified bool   `json:"modified,omitempty"`
	// Time is the commit's time (RFC 3339), "" when unknown.
	Time string `json:"time,omitempty"`
	// GoVersion is the toolchain the binary was built with.
	GoVersion string `json:"go_version"`
}

var (
	once sync.Once
	info Info
)

// Get returns the running binary's build information.
func Get() Info {
	once.Do(func() {
		bi, _ := debug.ReadBuildInfo()
		info = fromBuildInfo(bi, version)
		if commit != "" {
			info.Commit, info.Modified = commit, false
		}
	})
	return info
}

// fromBuildInfo extracts an Info; bi may be nil (a binary built without
// module support).
func fromBuildInfo(bi *debug.BuildInfo, linked string) Info {
	i := Info{Version: linked, GoVersion: runtime.Version()}
	if bi == nil {
		if i.Version == "" {
			i.Version = "devel"
		}
		return i
	}
	if bi.GoVersion != "" {
		i.GoVersion = bi.GoVersion
	}
	if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		i.Version = bi.Main.Version
	}
	if i.Version == "" {
		i.Version = "devel"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Commit = s.Value
		case "vcs.time":
			i.Time = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	return i
}

// ShortCommit is the first 12 characters of the commit, with "-dirty" when
// the tree was modified; "unknown" when the commit is.
func (i Info) ShortCommit() string {
	if i.Commit == "" {
		return "unknown"
	}
	c := i.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if i.Modified {
		c += "-dirty"
	}
	return c
}

// String is one line for people: "streamgate v1.2.0 (commit 0123456789ab, go1.26.0)".
func (i Info) String() string {
	var b strings.Builder
	b.WriteString("streamgate " + i.Version + " (commit " + i.ShortCommit())
	if i.Time != "" {
		b.WriteString(", " + i.Time)
	}
	b.WriteString(", " + i.GoVersion + ")")
	return b.String()
}
