package match

import (
	"bytes"
	"strings"
	"testing"
)

// containsAny is what Literals.In must answer: bytes.Contains, literal by
// literal.
func containsAny(line []byte, lits []string) bool {
	for _, k := range lits {
		if bytes.Contains(line, []byte(k)) {
			return true
		}
	}
	return false
}

func TestLiterals(t *testing.T) {
	long := strings.Repeat("request served in 12 ms ", 5) // 120 bytes, no literal
	for _, tc := range []struct {
		lits []string
		line string
		want bool
	}{
		{nil, "anything", false},
		{[]string{"WARN", ""}, "anything", true},
		{[]string{"ERROR"}, "level=ERROR x", true},
		{[]string{"INFO", "WARN", "ERROR"}, "", false},
		{[]string{"INFO", "WARN", "ERROR"}, "INFO", true},
		{[]string{"INFO", "WARN", "ERROR"}, "level=ERRO", false},
		{[]string{"INFO", "WARN", "ERROR"}, long + "level=WARN", true},
		{[]string{"INFO", "WARN", "ERROR"}, long + "level=WAR", false},
		{[]string{"INFO", "WARN", "ERROR"}, "ERROR" + long, true},
		{[]string{"INFO", "WARN", "ERROR"}, "RROR" + long + "ERRO", false},
		// An anchor byte that starts no match, then one that does.
		{[]string{"INFO", "WARN", "ERROR"}, long + "F W R INF WAR ERR INFO", true},
		// The anchor near either end of the literal, the literal at
		// either end of the line, across the 16-byte reads.
		{[]string{"quorum", "xenon"}, long[:15] + "xenon", true},
		{[]string{"quorum", "xenon"}, long[:16] + "quorum" + long[:17], true},
		{[]string{"quorum", "xenon"}, long[:31] + "xeno" + long[:1], false},
		// Literals that share an anchor byte.
		{[]string{"retry", "canary", "synthetic"}, long + "canar synthetiy retry", true},
		{[]string{"retry", "canary", "synthetic"}, long + "canar synthetiy retr", false},
		// More anchors than a read of four compares, and than eight.
		{[]string{"DEBUG", "TRACE", "healthcheck", "panic", "timeout", "retry"}, long + "timeout", true},
		{[]string{"A1", "B2", "C3", "D4", "E5", "F6", "G7", "H8", "J9"}, long + "J9", true},
		{[]string{"A1", "B2", "C3", "D4", "E5", "F6", "G7", "H8", "J9"}, long + "J8", false},
		// Bytes outside ASCII.
		{[]string{"naïve", "\xff\xfe"}, long + "na\xc3\xafve", true},
		{[]string{"naïve", "\xff\xfe"}, long + "\xff\xfd\xfe", false},
	} {
		l := NewLiterals(tc.lits...)
		if got := l.In([]byte(tc.line)); got != tc.want {
			t.Errorf("NewLiterals(%q).In(%q) = %v; want %v", tc.lits, tc.line, got, tc.want)
		}
		if got := containsAny([]byte(tc.line), tc.lits); got != tc.want {
			t.Fatalf("the table is wrong for %q in %q", tc.lits, tc.line)
		}
	}
}

// TestLiteralsAnchors: each literal is anchored at its rarest byte, and
// the set is read in one scan when there is one.
func TestLiteralsAnchors(t *testing.T) {
	l := NewLiterals("INFO", "WARN", "ERROR", "canary", "retry")
	if !anyScan {
		if l.anchors != 0 {
			t.Fatalf("anchors = %d without a scan", l.anchors)
		}
		return
	}
	want := map[string]byte{"INFO": 'F', "WARN": 'W', "ERROR": 'R', "canary": 'y', "retry": 'y'}
	for c, k := range l.slot {
		for _, a := range l.at[max(k, 1)-1] {
			if k != 0 && want[string(a.lit)] == byte(c) && a.lit[a.off] == byte(c) {
				delete(want, string(a.lit))
			}
		}
	}
	if len(want) != 0 || l.anchors != 4 {
		t.Errorf("anchors = %d, literals not anchored as expected: %q", l.anchors, want)
	}
}

// TestIndexAny checks the scans against a loop over the bytes, for every
// length up to 64 and every place of the byte sought, with bytes of the
// set before the start and after the end of s that must not be seen.
func TestIndexAny(t *testing.T) {
	var set [8][16]byte
	for i, c := range []byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 0xff} {
		set[i] = [16]byte(bytes.Repeat([]byte{c}, 16))
	}
	buf := bytes.Repeat([]byte{'a'}, 100)
	for n := 16; n <= 64; n++ {
		for at := -1; at < n; at++ {
			for _, c := range []byte{'d', 0xff} {
				s := buf[10 : 10+n]
				for i := range s {
					s[i] = '.'
				}
				if at >= 0 {
					s[at] = c
				}
				want4, want8 := at, at
				if c == 0xff {
					want4 = -1
				}
				if got := indexAny4(s, &set); got != want4 {
					t.Fatalf("indexAny4, %d bytes, %q at %d: got %d; want %d", n, c, at, got, want4)
				}
				if got := indexAny8(s, &set); got != want8 {
					t.Fatalf("indexAny8, %d bytes, %q at %d: got %d; want %d", n, c, at, got, want8)
				}
			}
		}
	}
}

// FuzzLiterals compares Literals.In with bytes.Contains, literal by
// literal.
func FuzzLiterals(f *testing.F) {
	f.Add("INFO\nWARN\nERROR", `ts=1733550000000007919 src=s1 seq=1 level=WARN service=checkout msg="upstream timeout"`)
	f.Add("retry\ncanary\nsynthetic", "canar synthetiy retry")
	f.Add("A1\nB2\nC3\nD4\nE5\nF6\nG7\nH8\nJ9", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxJ9")
	f.Fuzz(func(t *testing.T, lits, line string) {
		var ls []string
		for _, s := range strings.Split(lits, "\n") {
			if s != "" {
				ls = append(ls, s)
			}
		}
		l := NewLiterals(ls...)
		if got, want := l.In([]byte(line)), containsAny([]byte(line), ls); got != want {
			t.Fatalf("NewLiterals(%q).In(%q) = %v; want %v", ls, line, got, want)
		}
	})
}
