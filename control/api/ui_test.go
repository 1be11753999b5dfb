package api

import (
	"regexp"
	"strings"
	"testing"

	"streamgate/control/store"
)

// TestUIFiles: the dashboard's files are served with their type, the
// strict policy and nosniff; anything else under /ui is a 404.
func TestUIFiles(t *testing.T) {
	a := newTestAPI(t, Options{Token: "s3cret"}, store.Options{})
	for _, tc := range []struct {
		path, contentType string
		status            int
	}{
		{"/ui", "text/html; charset=utf-8", 200},
		{"/ui/app.js", "text/javascript; charset=utf-8", 200},
		{"/ui/style.css", "text/css; charset=utf-8", 200},
		{"/ui/favicon.svg", "image/svg+xml", 200},
		{"/ui/index.html", "application/json", 404},
		{"/ui/missing.js", "application/json", 404},
		{"/ui/..%2fui.go", "application/json", 404},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := a.do("GET", tc.path, "")
			if r.status != tc.status || r.header.Get("Content-Type") != tc.contentType {
				t.Fatalf("got %d %q; want %d %q", r.status, r.header.Get("Content-Type"), tc.status, tc.contentType)
			}
			if r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("got X-Content-Type-Options %q; want nosniff", r.header.Get("X-Content-Type-Options"))
			}
			if tc.status == 200 && r.header.Get("Content-Security-Policy") != uiCSP {
				t.Fatalf("got Content-Security-Policy %q; want %q", r.header.Get("Content-Security-Policy"), uiCSP)
			}
		})
	}
}

// TestUIPolicy: the policy allows no inline script or style and no other
// origin, and the page needs neither: it loads only its own files, has no
// inline script, handler or style, and the script writes no HTML and no
// console line.
func TestUIPolicy(t *testing.T) {
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(uiCSP, want) {
			t.Errorf("the policy %q lacks %q", uiCSP, want)
		}
	}
	if strings.Contains(uiCSP, "unsafe") || strings.Contains(uiCSP, "http") {
		t.Errorf("the policy %q allows inline code or another origin", uiCSP)
	}
	page, err := uiFiles.ReadFile("ui/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(string(page), -1) {
		if u := m[1]; strings.Contains(u, ":") || strings.HasPrefix(u, "/") {
			t.Errorf("the page loads %q; want a path relative to it", u)
		}
	}
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(string(page), -1) {
		if !strings.Contains(tag, ` src="`) {
			t.Errorf("the page has an inline script: %s", tag)
		}
	}
	for _, re := range []string{`<script[^>]*>\s*[^<\s]`, `\son[a-z]+=`, `\sstyle=`, `<style`} {
		if loc := regexp.MustCompile(re).FindIndex(page); loc != nil {
			t.Errorf("the page has inline code or style: %q", page[loc[0]:min(loc[1]+20, len(page))])
		}
	}
	js, err := uiFiles.ReadFile("ui/app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "console.log(", "console.error(", "eval(", "localStorage"} {
		if strings.Contains(string(js), banned) {
			t.Errorf("app.js uses %s", banned)
		}
	}
}
