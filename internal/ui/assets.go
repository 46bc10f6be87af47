package ui

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// assets serves the embedded static files with an ETag each, so browsers revalidate cheaply and never run a
// stale module after an upgrade.
type assets struct {
	files   map[string]asset
	version string // a hash of every file, for the shell's ?v= cache buster
}

type asset struct {
	body []byte
	etag string
}

func newAssets() *assets {
	a := &assets{files: map[string]asset{}}
	all := sha256.New()
	err := fs.WalkDir(webFS, "web/static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(webFS, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		all.Write(sum[:])
		a.files[p[len("web/static/"):]] = asset{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("ui: reading the embedded assets: " + err.Error()) // the embed is part of the binary
	}
	a.version = hex.EncodeToString(all.Sum(nil)[:6])
	return a
}

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := a.files[r.PathValue("path")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if ct := contentTypes[path.Ext(r.PathValue("path"))]; ct != "" {
		h.Set("Content-Type", ct)
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
	".png": "image/png",
}
