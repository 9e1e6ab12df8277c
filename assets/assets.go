// Package assets embeds the page's static files and serves them under content-hashed names:
// style.css and app.js (ours), favicon.svg and one favicon per diagnosis state, and htmx, which npm fetches into node_modules at
// build time (package.json pins htmx.org 2.0.11; package-lock.json pins its checksum) and
// which is never committed. Build with `just build` (or run `npm ci` here first).
package assets

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
	"strings"
)

//go:embed style.css app.js favicon.svg favicon-ok.svg favicon-warning.svg favicon-failing.svg favicon-unknown.svg
//go:embed node_modules/htmx.org/dist/htmx.min.js
var files embed.FS

// Asset is one file as served: its hashed name, type and bytes, gzipped when that helps.
type Asset struct {
	Name        string // hashed, such as "style.3f2a9c1e0b7d.css"
	ContentType string
	ETag        string
	Body        []byte
	Gzip        []byte // nil when gzip does not make it smaller
}

// The page's assets.
var (
	Style  = load("style.css", "style", "text/css; charset=utf-8")
	Script = load("app.js", "app", "text/javascript; charset=utf-8")
	HTMX   = load("node_modules/htmx.org/dist/htmx.min.js", "htmx-2.0.11", "text/javascript; charset=utf-8")
	Icon   = load("favicon.svg", "favicon", "image/svg+xml")
	// The favicons of a diagnosis' states, in the order of their metric values (ok, warning,
	// failing, unknown; see diagnose.State.Metric): the page shows the worst state on its tab.
	StateIcons = [4]Asset{
		load("favicon-ok.svg", "favicon-ok", "image/svg+xml"),
		load("favicon-warning.svg", "favicon-warning", "image/svg+xml"),
		load("favicon-failing.svg", "favicon-failing", "image/svg+xml"),
		load("favicon-unknown.svg", "favicon-unknown", "image/svg+xml"),
	}
)

var byName = map[string]Asset{}

func init() {
	zw = nil // every asset is compressed: its tables can go
	for _, a := range append([]Asset{Style, Script, HTMX, Icon}, StateIcons[:]...) {
		byName[a.Name] = a
	}
}

// Lookup finds an asset by its hashed name.
func Lookup(name string) (Asset, bool) {
	a, ok := byName[name]
	return a, ok
}

// zw compresses every asset in turn: a writer at its best compression holds about 800 KB of
// tables, and one for each of the eight assets made the process's heap 6.8 MB larger at start
// than it ever is again (its peak RSS).
var zw *gzip.Writer

func load(file, base, contentType string) Asset {
	body, err := fs.ReadFile(files, file)
	if err != nil {
		panic("assets: " + err.Error()) // embedded at build time; cannot be missing
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:6])
	ext := path.Ext(file)
	if strings.HasSuffix(file, ".min.js") {
		ext = ".min.js"
	}
	a := Asset{Name: base + "." + hash + ext, ContentType: contentType, ETag: `"` + hash + `"`, Body: body}
	var buf bytes.Buffer
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(&buf, gzip.BestCompression)
	} else {
		zw.Reset(&buf)
	}
	zw.Write(body)
	zw.Close()
	if buf.Len() < len(body) {
		a.Gzip = buf.Bytes()
	}
	return a
}
