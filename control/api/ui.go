package api

import (
	"embed"
	"mime"
	"net/http"
	"path"
)

// uiFiles is the dashboard served at GET /ui: a page, its script, its style
// sheet and its icon, with no build step and nothing loaded from elsewhere.
//
//go:embed ui
var uiFiles embed.FS

// uiCSP lets the dashboard run its own script and style sheet and call this
// API, and nothing else: no inline script or style, no other origin, no
// framing.
const uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// uiPage serves GET /ui.
func (s *server) uiPage(*http.Request) (any, error) {
	return uiFile("index.html")
}

// uiAsset serves GET /ui/{file}: one of the files the page loads.
func (s *server) uiAsset(r *http.Request) (any, error) {
	name := r.PathValue("file")
	if name == "index.html" {
		return nil, notFound("Not Found")
	}
	return uiFile(name)
}

// uiFile is the embedded file name, with the dashboard's security headers.
func uiFile(name string) (any, error) {
	data, err := uiFiles.ReadFile("ui/" + name)
	if err != nil {
		return nil, notFound("Not Found")
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	return rawBody{contentType: ct, data: data, csp: uiCSP}, nil
}
