package deploytest

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// Instruction is one Dockerfile instruction, its continuation lines joined.
type Instruction struct {
	Line    int    // where it starts, 1-based
	Keyword string // upper-case: FROM, RUN, COPY, ...
	Args    string // the rest of the instruction, continuations joined by a space
}

// Stage is one FROM and what follows it.
type Stage struct {
	From         string // the image, as written
	Name         string // after AS, "" when unnamed
	Instructions []Instruction
}

// Dockerfile is a parsed Dockerfile: the ARGs before the first FROM, then
// the stages.
type Dockerfile struct {
	GlobalArgs map[string]string
	Stages     []Stage
}

// ParseDockerfile reads the instructions of a Dockerfile: comments and
// blank lines dropped, lines ending in a backslash joined to the next.
// Heredocs are not supported.
func ParseDockerfile(src string) (*Dockerfile, error) {
	d := &Dockerfile{GlobalArgs: map[string]string{}}
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		start := i + 1
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			next := strings.TrimSpace(lines[i])
			if strings.HasPrefix(next, "#") {
				continue
			}
			line = strings.TrimSuffix(line, `\`) + " " + next
		}
		kw, args, _ := strings.Cut(line, " ")
		in := Instruction{Line: start, Keyword: strings.ToUpper(kw), Args: strings.Join(strings.Fields(args), " ")}
		switch {
		case in.Keyword == "FROM":
			f := strings.Fields(in.Args)
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				f = f[1:]
			}
			if len(f) == 0 {
				return nil, fmt.Errorf("line %d: FROM without an image", start)
			}
			st := Stage{From: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.Name = f[2]
			}
			d.Stages = append(d.Stages, st)
		case len(d.Stages) == 0:
			if in.Keyword != "ARG" {
				return nil, fmt.Errorf("line %d: %s before the first FROM", start, in.Keyword)
			}
			name, value, _ := strings.Cut(in.Args, "=")
			d.GlobalArgs[name] = strings.Trim(value, `"`)
		default:
			st := &d.Stages[len(d.Stages)-1]
			st.Instructions = append(st.Instructions, in)
		}
	}
	if len(d.Stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return d, nil
}

// Stage returns the stage named name, or nil.
func (d *Dockerfile) Stage(name string) *Stage {
	for i := range d.Stages {
		if d.Stages[i].Name == name {
			return &d.Stages[i]
		}
	}
	return nil
}

// All returns the stage's instructions with keyword.
func (s *Stage) All(keyword string) []Instruction {
	var out []Instruction
	for _, in := range s.Instructions {
		if in.Keyword == keyword {
			out = append(out, in)
		}
	}
	return out
}

// IgnoreRule is one line of a .dockerignore.
type IgnoreRule struct {
	Pattern string
	Negate  bool
	re      *regexp.Regexp
}

// ParseDockerignore reads a .dockerignore: one pattern a line, # comments,
// ! re-includes, * and ? within a path element, ** across elements.
func ParseDockerignore(src string) ([]IgnoreRule, error) {
	var rules []IgnoreRule
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := IgnoreRule{}
		if strings.HasPrefix(line, "!") {
			r.Negate = true
			line = strings.TrimSpace(line[1:])
		}
		r.Pattern = path.Clean(strings.TrimPrefix(line, "/"))
		var b strings.Builder
		b.WriteString("^")
		p := r.Pattern
		for len(p) > 0 {
			switch {
			case strings.HasPrefix(p, "**/"):
				b.WriteString("(?:.*/)?")
				p = p[3:]
			case strings.HasPrefix(p, "**"):
				b.WriteString(".*")
				p = p[2:]
			case p[0] == '*':
				b.WriteString("[^/]*")
				p = p[1:]
			case p[0] == '?':
				b.WriteString("[^/]")
				p = p[1:]
			default:
				b.WriteString(regexp.QuoteMeta(p[:1]))
				p = p[1:]
			}
		}
		b.WriteString("$")
		re, err := regexp.Compile(b.String())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", line, err)
		}
		r.re = re
		rules = append(rules, r)
	}
	return rules, nil
}

// Excluded reports whether the rules leave rel (slash-separated, relative
// to the context) out of the build context: the last rule that matches rel
// or one of its parent directories decides.
func Excluded(rules []IgnoreRule, rel string) bool {
	excluded := false
	for _, r := range rules {
		for p := rel; p != "." && p != "/"; p = path.Dir(p) {
			if r.re.MatchString(p) {
				excluded = !r.Negate
				break
			}
		}
	}
	return excluded
}

// Context returns the files of the build context at root that rules admit,
// slash-separated and relative to root.
func Context(root string, rules []IgnoreRule) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !Excluded(rules, rel) {
			files = append(files, rel)
		}
		return nil
	})
	return files, err
}
