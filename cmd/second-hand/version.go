package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time by `just dist` (-ldflags "-X main.version=..."), from git
// describe; a plain go build says "dev" and the commit it was built from, when Go recorded it.
var version = "dev"

// versionString is what --version prints: the version, the Go release and the platform.
func versionString() string {
	v := version
	if v == "dev" {
		if info, ok := debug.ReadBuildInfo(); ok {
			rev, dirty := "", false
			for _, s := range info.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					dirty = s.Value == "true"
				}
			}
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if rev != "" {
				v += "-" + rev
				if dirty {
					v += "-dirty"
				}
			}
		}
	}
	return fmt.Sprintf("second-hand %s (%s, %s/%s)", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func printVersion(w io.Writer) error {
	_, err := fmt.Fprintln(w, versionString())
	return err
}
