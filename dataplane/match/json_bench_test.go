package match

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func BenchmarkLookupJSON(b *testing.B) {
	docs := []struct{ name, doc, path string }{
		{"nested", `{"ts":"2024-11-22T05:27:33Z","level":"info","service":{"name":"checkout"},"msg":"handled request","status":200}`, "service/name"},
		{"otel", `{"resource":{"attributes":{"service.name":"payments","host.name":"node-7"}},"attributes":{"http.status_code":200},"body":"ok"}`, "resource/attributes/service.name"},
		{"missing", `{"ts":"2024-11-22T05:27:33Z","level":"info","msg":"handled request","status":200,"dur_ms":12}`, "service/name"},
	}
	for _, d := range docs {
		doc, keys := []byte(d.doc), strings.Split(d.path, "/")
		b.Run("doc="+d.name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				LookupJSON(doc, keys)
			}
		})
	}
}

// BenchmarkValidJSON compares ValidJSON with gjson's recursive validator,
// which it replaces, on a log line and on lines nested too deep: there
// ValidJSON stops at the first container past MaxJSONDepth.
func BenchmarkValidJSON(b *testing.B) {
	docs := []struct{ name, doc string }{
		{"line", `{"ts":"2024-11-22T05:27:33Z","level":"info","service":{"name":"checkout"},"msg":"handled \"request\"","status":200,"tags":["a","b"]}`},
		{"deep_64KiB", strings.Repeat("[", 32<<10) + strings.Repeat("]", 32<<10)},
	}
	for _, d := range docs {
		doc := []byte(d.doc)
		b.Run("doc="+d.name+"/impl=streamgate", func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				validJSON(doc)
			}
		})
		b.Run("doc="+d.name+"/impl=gjson", func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				gjson.ValidBytes(doc)
			}
		})
	}
}
