package match

import (
	"bytes"
	"fmt"
	"strings"
)

// SecretsSet is the name of the built-in set of secret keys in a list of
// field paths.
const SecretsSet = "@secrets"

// secretKeys are the keys of SecretsSet. A key is a secret when, compared
// without case, it is one of them or ends in one after '_' or '-'
// (db_password, x-auth-token).
var secretKeys = []string{"password", "passwd", "secret", "token", "api_key", "apikey", "authorization", "cookie", "set-cookie", "private_key"}

// SecretKeys returns the keys of the @secrets set.
func SecretKeys() []string { return append([]string(nil), secretKeys...) }

// Fields selects values of a JSON line by their paths, and of a text line
// by their keys.
//
// A path is keys joined by '.', compared without case; "*" stands for any
// one key and "**" for any number of keys, none included: "headers.authorization",
// "**.password", "users.*.email". A key that holds dots counts as as many
// keys. The elements of an array have the array's path. "@secrets" stands
// for every key of the built-in set of secret keys (see SecretKeys),
// wherever it is. In a text line, a key=value or key: value pair is
// selected by its key when the key is a secret key of the set, or the
// last key of a path without wildcards.
type Fields struct {
	paths   [][]string // each path's keys
	secrets bool
	// texts are the keys that select a text line's pairs, lower case.
	texts [][]byte
	// anchors are literals of which a line with a selected value holds
	// one (lower case, compared without case); nil if some path has
	// none, and every JSON line must be walked.
	anchors [][]byte
}

// CompileFields compiles paths. An empty path, an empty key or a path that
// is only "**" is an error naming it.
func CompileFields(paths []string) (*Fields, error) {
	f := &Fields{}
	anchorless := false
	for i, p := range paths {
		if p == SecretsSet {
			f.secrets = true
			for _, k := range secretKeys {
				f.anchors = append(f.anchors, []byte(k))
				f.texts = append(f.texts, []byte(k))
			}
			continue
		}
		keys := strings.Split(strings.ToLower(p), ".")
		literal := ""
		for _, k := range keys {
			switch k {
			case "":
				return nil, fmt.Errorf("[%d]: %q has an empty key", i, p)
			case "*", "**":
			default:
				literal = k
			}
		}
		if literal == "" {
			if p == "**" {
				return nil, fmt.Errorf("[%d]: %q selects every value: redact whole lines with action drop, or name keys", i, p)
			}
			anchorless = true
		} else {
			f.anchors = append(f.anchors, []byte(strings.ToLower(literal)))
		}
		if !strings.Contains(p, "*") {
			f.texts = append(f.texts, []byte(strings.ToLower(keys[len(keys)-1])))
		}
		f.paths = append(f.paths, keys)
	}
	if anchorless {
		f.anchors = nil
	}
	return f, nil
}

// mayMatch reports whether line may hold a selected value: false only
// when it holds none of the anchors.
func (f *Fields) mayMatch(line []byte) bool {
	if f.anchors == nil {
		return true
	}
	for _, a := range f.anchors {
		if indexFold(line, a) >= 0 {
			return true
		}
	}
	return false
}

// match reports whether the value at path, keys joined by '.', is
// selected.
func (f *Fields) match(path []byte) bool {
	if f.secrets && isSecretKey(lastKey(path)) {
		return true
	}
	for _, p := range f.paths {
		if globKeys(p, path) {
			return true
		}
	}
	return false
}

// lastKey returns what follows the last '.' of path.
func lastKey(path []byte) []byte {
	return path[bytes.LastIndexByte(path, '.')+1:]
}

// isSecretKey reports whether k is a secret key: one of secretKeys or
// ending in one after '_', '-' or '.', compared without case.
func isSecretKey(k []byte) bool {
	for _, s := range secretKeys {
		if len(k) < len(s) || !equalFold(k[len(k)-len(s):], s) {
			continue
		}
		if len(k) == len(s) || k[len(k)-len(s)-1] == '_' || k[len(k)-len(s)-1] == '-' || k[len(k)-len(s)-1] == '.' {
			return true
		}
	}
	return false
}

// globKeys reports whether the keys of path (joined by '.') match the
// pattern keys, where "*" is any one key and "**" any number.
func globKeys(pattern []string, path []byte) bool {
	if len(pattern) == 0 {
		return len(path) == 0
	}
	if pattern[0] == "**" {
		if len(pattern) == 1 {
			return true
		}
		if globKeys(pattern[1:], path) {
			return true
		}
		for i, c := range path {
			if c == '.' && globKeys(pattern[1:], path[i+1:]) {
				return true
			}
		}
		return false
	}
	if len(path) == 0 {
		return false
	}
	key, rest := path, []byte(nil)
	if i := bytes.IndexByte(path, '.'); i >= 0 {
		key, rest = path[:i], path[i+1:]
	}
	if pattern[0] != "*" && !equalFold(key, pattern[0]) {
		return false
	}
	if rest == nil {
		return len(pattern) == 1
	}
	return globKeys(pattern[1:], rest)
}

// equalFold reports whether b equals the lower-case ASCII s without case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lowerASCII(b[i]) != s[i] {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if c-'A' < 26 {
		return c | 0x20
	}
	return c
}

// indexFold returns the index of the first instance of the lower-case
// ASCII lit in b, compared without case, or -1.
func indexFold(b, lit []byte) int {
	if len(lit) == 0 {
		return 0
	}
	if len(lit) > len(b) {
		return -1
	}
	last := len(b) - len(lit) + 1 // candidates start before last
	first, upper := lit[0], lit[0]
	if first-'a' < 26 {
		upper = first &^ 0x20
	}
	// The next candidate of each case, found once each as the scan
	// passes it, so that a missing case is not looked for again at every
	// candidate of the other.
	lo, up := bytes.IndexByte(b[:last], first), -1
	if upper != first {
		up = bytes.IndexByte(b[:last], upper)
	}
	for lo >= 0 || up >= 0 {
		i := lo
		if lo < 0 || up >= 0 && up < lo {
			i = up
		}
		if equalFold(b[i:i+len(lit)], string(lit)) {
			return i
		}
		if i == lo {
			lo = nextIndex(b[:last], lo+1, first)
		} else {
			up = nextIndex(b[:last], up+1, upper)
		}
	}
	return -1
}

// nextIndex is the index of c in b at or after i, or -1.
func nextIndex(b []byte, i int, c byte) int {
	if j := bytes.IndexByte(b[i:], c); j >= 0 {
		return i + j
	}
	return -1
}

// appendTextPairs appends line to dst with the value of every key=value
// or key: value pair whose key f selects replaced as act says, and
// reports whether there was any. A key stands after the start of the line
// or a byte that cannot be part of a key; a value is a quoted string (its
// contents are replaced) or runs to the next space, ',', ';' or '&'; an
// authorization scheme such as "Bearer" takes the word after it along.
//
// sp, when not nil, records each value replaced (see Spans).
func (f *Fields) appendTextPairs(dst, line []byte, act Action, sp *Spans) ([]byte, bool) {
	start, last, found := len(dst), 0, false
	for i := 0; i < len(line); i++ {
		if !isKeyByte(line[i]) || i > 0 && isKeyByte(line[i-1]) {
			continue
		}
		e := i
		for e < len(line) && isKeyByte(line[e]) {
			e++
		}
		if !f.textKey(line[i:e]) {
			i = e - 1
			continue
		}
		v := e
		// A quoted key, as in a JSON object too broken to walk.
		if i > 0 && v < len(line) && (line[v] == '"' || line[v] == '\'') && line[i-1] == line[v] {
			v++
		}
		for v < len(line) && line[v] == ' ' {
			v++
		}
		if v == len(line) || line[v] != '=' && line[v] != ':' {
			i = e - 1
			continue
		}
		for v++; v < len(line) && line[v] == ' '; v++ {
		}
		vs, ve := textValue(line, v, wholeValue(line[i:e]))
		if vs == ve {
			i = e - 1
			continue
		}
		dst = append(dst, line[last:vs]...)
		at := len(dst)
		dst = act.appendFor(dst, line[vs:ve])
		if sp != nil {
			sp.add(vs, ve, at-start, len(dst)-start, FieldDetector+string(line[i:e]))
		}
		last, found = ve, true
		i = ve - 1
	}
	if !found {
		return dst[:start], false
	}
	return append(dst, line[last:]...), true
}

// textKey reports whether a text line's key k selects its value: by the
// whole key, or by what follows its last '.' (spring.datasource.password).
func (f *Fields) textKey(k []byte) bool {
	last := k[bytes.LastIndexByte(k, '.')+1:]
	if f.secrets && isSecretKey(k) {
		return true
	}
	for _, t := range f.texts {
		if equalFold(k, string(t)) || equalFold(last, string(t)) {
			return true
		}
	}
	return false
}

func isKeyByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' }

// wholeValue reports whether the value of key k runs to the end of the
// line, or of its quotes: a cookie header holds several pairs, and an
// authorization header a scheme and its parameters.
func wholeValue(k []byte) bool {
	k = k[bytes.LastIndexByte(k, '.')+1:]
	return equalFold(k, "cookie") || equalFold(k, "set-cookie") || equalFold(k, "authorization") ||
		equalFold(k, "proxy-authorization")
}

// textValue returns the bounds of the value that starts at line[v]: the
// contents of a quoted string; with whole, the rest of the line; or a run
// to the next space, ',', ';' or '&', with the word after an authorization
// scheme.
func textValue(line []byte, v int, whole bool) (int, int) {
	if v < len(line) && (line[v] == '"' || line[v] == '\'') {
		q := line[v]
		e := v + 1
		for e < len(line) && line[e] != q {
			if line[e] == '\\' {
				e++
			}
			e++
		}
		return v + 1, min(e, len(line))
	}
	if whole {
		e := v
		for e < len(line) && line[e] != '\r' && line[e] != '\n' {
			e++
		}
		return v, e
	}
	e := v
	for e < len(line) && !isValueEnd(line[e]) {
		e++
	}
	if w := line[v:e]; (equalFold(w, "bearer") || equalFold(w, "basic") || equalFold(w, "token")) && e < len(line) && line[e] == ' ' {
		e++
		for e < len(line) && !isValueEnd(line[e]) {
			e++
		}
	}
	return v, e
}

func isValueEnd(c byte) bool {
	return c == ' ' || c == '\t' || c == ',' || c == ';' || c == '&' || c == '\r' || c == '\n'
}
