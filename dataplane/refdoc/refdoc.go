// Package refdoc renders the README's reference of processors, outputs and
// detectors from their registries, so that the README says exactly what the
// code accepts. `go generate` (make docs) rewrites the generated sections
// of the README; a test fails while they differ from what the registries
// give.
package refdoc

//go:generate go run ./gen ../../README.md

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"streamgate/dataplane/match"
	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/spec"
)

// Sections are the generated parts of the README, by name. In the README a
// section is the text between the lines "<!-- generated: NAME -->" and
// "<!-- end generated -->".
func Sections() map[string]string {
	return map[string]string{
		"processors": components("processor", processor.Types(), processor.Spec),
		"outputs":    components("output", output.Types(), output.Spec),
		"detectors":  detectors(),
		"buffer":     buffer(),
		"cost":       cost(),
	}
}

// components renders one subsection per registered type: its summary, a
// table of its params and an example.
func components(kind string, types []string, lookup func(string) (*spec.Component, bool)) string {
	var b strings.Builder
	for _, typ := range types {
		sp, ok := lookup(typ)
		if !ok || sp == nil {
			continue
		}
		fmt.Fprintf(&b, "#### `%s`\n\n%s\n\n", typ, sp.Summary)
		if len(sp.Params) == 0 {
			fmt.Fprintf(&b, "No %s.\n\n", paramsWord(kind))
		} else {
			col := "param"
			if kind != "processor" {
				col = "field"
			}
			fmt.Fprintf(&b, "| %s | type | default | description |\n|---|---|---|---|\n", col)
			for _, p := range sp.Params {
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", p.Name, paramKind(p), paramDefault(p), cell(paramDesc(p)))
			}
			b.WriteString("\n")
		}
		if len(sp.Examples) > 0 {
			fmt.Fprintf(&b, "Example: `%s`\n\n", example(kind, typ, sp.Examples[0]))
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// buffer renders the buffer field every output type takes.
func buffer() string {
	sp := &output.BufferSpec
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n| field | type | default | description |\n|---|---|---|---|\n", sp.Summary)
	for _, p := range sp.Params {
		fmt.Fprintf(&b, "| `buffer.%s` | %s | %s | %s |\n", p.Name, paramKind(p), paramDefault(p), cell(paramDesc(p)))
	}
	fmt.Fprintf(&b, "\nExample: `{\"type\": \"http\", \"url\": \"https://collector:9000/logs\", \"buffer\": %s}`", sp.Examples[0])
	return b.String()
}

// cost renders the cost_per_gb field every output type takes.
func cost() string {
	sp := &output.CostSpec
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n| field | type | default | description |\n|---|---|---|---|\n", sp.Summary)
	for _, p := range sp.Params {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", p.Name, paramKind(p), paramDefault(p), cell(paramDesc(p)))
	}
	fmt.Fprintf(&b, "\nExample: `{\"type\": \"http\", \"url\": \"https://collector:9000/logs\", \"cost_per_gb\": %s}`", sp.Examples[0])
	return b.String()
}

// paramKind, paramDefault and paramDesc are the type, default and
// description columns of a param's row.
func paramKind(p spec.Param) string {
	if p.Required {
		return string(p.Kind) + ", required"
	}
	return string(p.Kind)
}

func paramDefault(p spec.Param) string {
	if p.Default == "" {
		return ""
	}
	return code(p.Default)
}

func paramDesc(p spec.Param) string {
	if len(p.Enum) > 0 {
		return p.Description + " One of " + code(p.Enum...) + "."
	}
	return p.Description
}

// paramsWord is what the settings of a kind of component are called.
func paramsWord(kind string) string {
	if kind == "processor" {
		return "params"
	}
	return "fields besides `type`"
}

// example is how a component's example is written in a manifest: a rule's
// params, or an output's whole object.
func example(kind, typ, ex string) string {
	if kind == "processor" {
		return ex
	}
	if strings.TrimSpace(ex) == "{}" {
		return `{"type": "` + typ + `"}`
	}
	return `{"type": "` + typ + `", ` + strings.TrimPrefix(strings.TrimSpace(ex), "{")
}

// detectors renders the table of built-in detectors.
func detectors() string {
	var b strings.Builder
	b.WriteString("| detector | category | checksum | context words | finds | example |\n|---|---|---|---|---|---|\n")
	for _, d := range match.Detectors() {
		ex := ""
		for _, e := range d.Examples {
			if len(e.Want) > 0 {
				ex = code(e.Line) + " → " + code(strings.Join(e.Want, ", "))
				break
			}
		}
		sum, ctx := "—", "—"
		if d.Checksum != "" {
			sum = d.Checksum
		}
		if len(d.Context) > 0 {
			ctx = strings.Join(d.Context, ", ")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", d.Name, d.Category, cell(sum), cell(ctx), cell(d.Doc), ex)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// code formats each value as inline code, joined by commas.
func code(vs ...string) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = "`" + v + "`"
	}
	return strings.Join(out, ", ")
}

// cell escapes text for a table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

const (
	beginPrefix = "<!-- generated: "
	beginSuffix = " -->"
	end         = "<!-- end generated -->"
)

// Update returns readme with every generated section replaced by what
// Sections gives. A section that the README names but Sections does not, or
// one that is not closed, is an error.
func Update(readme []byte) ([]byte, error) {
	sections := Sections()
	var out bytes.Buffer
	rest := readme
	for {
		i := bytes.Index(rest, []byte(beginPrefix))
		if i < 0 {
			out.Write(rest)
			return out.Bytes(), nil
		}
		nl := bytes.IndexByte(rest[i:], '\n')
		if nl < 0 {
			return nil, fmt.Errorf("cannot update: %q is not followed by a line break", beginPrefix)
		}
		marker := string(rest[i : i+nl])
		name, ok := strings.CutSuffix(strings.TrimPrefix(marker, beginPrefix), beginSuffix)
		if !ok {
			return nil, fmt.Errorf("cannot update: malformed marker %q", marker)
		}
		body, known := sections[name]
		if !known {
			return nil, fmt.Errorf("cannot update: unknown section %q", name)
		}
		j := bytes.Index(rest[i+nl:], []byte(end))
		if j < 0 {
			return nil, fmt.Errorf("cannot update: section %q has no %q", name, end)
		}
		out.Write(rest[:i+nl+1])
		out.WriteString(body + "\n")
		rest = rest[i+nl+j:]
	}
}

// UpdateFile rewrites the generated sections of the file at path.
func UpdateFile(path string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", path, err)
	}
	updated, err := Update(old)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if bytes.Equal(old, updated) {
		return nil
	}
	return os.WriteFile(path, updated, 0o644)
}
