package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	stamped := &debug.BuildInfo{
		GoVersion: "go1.26.0",
		Main:      debug.Module{Path: "streamgate/control", Version: "v0.0.0-20261206153000-0123456789ab+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-12-06T15:30:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	tests := []struct {
		name   string
		bi     *debug.BuildInfo
		linked string
		want   Info
		str    string
	}{
		{"stamped", stamped, "", Info{Version: "v0.0.0-20261206153000-0123456789ab+dirty", Commit: "0123456789abcdef0123456789abcdef01234567",
			Modified: true, Time: "2026-12-06T15:30:00Z", GoVersion: "go1.26.0"},
			"streamgate v0.0.0-20261206153000-0123456789ab+dirty (commit 0123456789ab-dirty, 2026-12-06T15:30:00Z, go1.26.0)"},
		{"linked version wins", stamped, "v1.2.0", Info{Version: "v1.2.0", Commit: "0123456789abcdef0123456789abcdef01234567",
			Modified: true, Time: "2026-12-06T15:30:00Z", GoVersion: "go1.26.0"}, ""},
		{"devel, no vcs", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}}, "",
			Info{Version: "devel", GoVersion: "go1.26.0"}, "streamgate devel (commit unknown, go1.26.0)"},
	}
	for _, tt := range tests {
		got := fromBuildInfo(tt.bi, tt.linked)
		if got != tt.want {
			t.Errorf("%s: got %+v; want %+v", tt.name, got, tt.want)
		}
		if tt.str != "" && got.String() != tt.str {
			t.Errorf("%s: String() = %q; want %q", tt.name, got.String(), tt.str)
		}
	}
	if got := fromBuildInfo(nil, ""); got.Version != "devel" || !strings.HasPrefix(got.GoVersion, "go") {
		t.Errorf("no build info: got %+v; want devel and the runtime's Go version", got)
	}
}

func TestGet(t *testing.T) {
	// A test binary has build info; its main module is this one.
	if i := Get(); i.Version == "" || !strings.HasPrefix(i.GoVersion, "go") {
		t.Fatalf("Get() = %+v; want a version and a Go version", i)
	}
}
