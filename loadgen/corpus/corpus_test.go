package corpus

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestDeterminism(t *testing.T) {
	gen := func(c Config, src string) [][]byte {
		g := New(c)
		var out [][]byte
		for seq := uint64(1); seq <= 1000; seq++ {
			out = append(out, g.AppendLine(nil, src, seq, 1_700_000_000_000_000_000))
		}
		return out
	}
	base := DefaultConfig()
	otherSeed := base
	otherSeed.Seed = 2
	tests := []struct {
		name string
		a, b Config
		srcA string
		srcB string
		same bool
	}{
		{"same config and source", base, base, "run-0", "run-0", true},
		{"other seed", base, otherSeed, "run-0", "run-0", false},
		{"other source", base, base, "run-0", "run-1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := gen(tt.a, tt.srcA), gen(tt.b, tt.srcB)
			same := 0
			for i := range a {
				// Lines of other sources differ in src; compare the rest.
				if bytes.Equal(bytes.Replace(a[i], []byte(tt.srcA), []byte(tt.srcB), 1), b[i]) {
					same++
				}
			}
			if got := same == len(a); got != tt.same {
				t.Fatalf("got %d of %d identical lines; want all identical = %v", same, len(a), tt.same)
			}
		})
	}
}

func TestConcurrentUseIsDeterministic(t *testing.T) {
	g := New(DefaultConfig())
	want := g.AppendLine(nil, "x-0", 42, 7)
	done := make(chan []byte)
	for range 4 {
		go func() {
			var b []byte
			for range 1000 {
				b = g.AppendLine(b[:0], "x-0", 42, 7)
			}
			done <- b
		}()
	}
	for range 4 {
		if got := <-done; !bytes.Equal(got, want) {
			t.Fatalf("got %q; want %q", got, want)
		}
	}
}

func TestMix(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"default", DefaultConfig()},
		{"heavy", Config{Seed: 9, Debug: 0.5, SSN: 0.3, Card: 0.25, Email: 0.4, JSON: 0.7, MinSize: 100, MaxSize: 1000}},
		{"none", Config{Seed: 3, MinSize: 50, MaxSize: 60}},
		{"all", Config{Seed: 4, Debug: 1, SSN: 1, Card: 1, Email: 1, JSON: 1}},
	}
	const n = 100_000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New(tt.cfg)
			var counts [5]int
			var size int
			var line []byte
			var k Kind
			for seq := uint64(1); seq <= n; seq++ {
				line, k = g.Append(line[:0], "mix-"+strconv.Itoa(int(seq%4)), seq, 1_700_000_000_123_456_789)
				size += len(line)
				for bit := range counts {
					if k&(1<<bit) != 0 {
						counts[bit]++
					}
				}
				checkLine(t, line, k)
				if t.Failed() {
					t.Fatalf("line %d: %s", seq, line)
				}
			}
			for bit, want := range []float64{tt.cfg.Debug, tt.cfg.JSON, tt.cfg.SSN, tt.cfg.Card, tt.cfg.Email} {
				if got := float64(counts[bit]) / n; math.Abs(got-want) > 0.02 {
					t.Errorf("kind %d: got share %.4f; want %.4f ± 0.02", bit, got, want)
				}
			}
			if tt.cfg.MaxSize > 0 && tt.name == "heavy" {
				mean := float64(size) / n
				if want := float64(tt.cfg.MinSize+tt.cfg.MaxSize) / 2; math.Abs(mean-want) > want*0.05 {
					t.Errorf("got mean size %.1f; want %.1f ± 5%%", mean, want)
				}
			}
		})
	}
}

// checkLine verifies the form of one generated line.
func checkLine(t *testing.T, line []byte, k Kind) {
	t.Helper()
	if bytes.IndexByte(line, '\n') >= 0 {
		t.Errorf("line contains a newline")
	}
	if got, want := bytes.Contains(line, []byte("DEBUG")), k&KindDebug != 0; got != want {
		t.Errorf("got DEBUG in line = %v; want %v", got, want)
	}
	if got, want := bytes.IndexByte(line, '@') >= 0, k&KindEmail != 0; got != want {
		t.Errorf("got @ in line = %v; want %v", got, want)
	}
	if k&KindJSON == 0 {
		if !bytes.HasPrefix(line, []byte("ts=1700000000123456789 src=mix-")) {
			t.Errorf("text line lacks the ts/src prefix")
		}
		return
	}
	var v struct {
		TS       int64  `json:"ts"`
		Src      string `json:"src"`
		Seq      uint64 `json:"seq"`
		Severity string `json:"severityText"`
		Body     string `json:"body"`
		Resource struct {
			Attributes map[string]string `json:"attributes"`
		} `json:"resource"`
		Attributes map[string]any `json:"attributes"`
	}
	if err := json.Unmarshal(line, &v); err != nil {
		t.Errorf("cannot decode JSON line: %v", err)
		return
	}
	if v.TS != 1_700_000_000_123_456_789 || v.Seq == 0 || v.Src == "" || v.Resource.Attributes["service.name"] == "" || v.Attributes["http.target"] == nil {
		t.Errorf("JSON line lacks fields: %+v", v)
	}
	if k&KindDebug != 0 && (v.Severity != "DEBUG" || !bytes.Contains([]byte(v.Body), []byte("DEBUG"))) {
		t.Errorf("DEBUG JSON line has severity %q body %q", v.Severity, v.Body)
	}
}

func TestSizeBounds(t *testing.T) {
	c := Config{Seed: 5, MinSize: 200, MaxSize: 400}
	g := New(c)
	var line []byte
	for seq := uint64(1); seq <= 10_000; seq++ {
		line = g.AppendLine(line[:0], "size-0", seq, 1)
		if len(line) < c.MinSize || len(line) > c.MaxSize {
			t.Fatalf("got length %d; want %d..%d: %s", len(line), c.MinSize, c.MaxSize, line)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"default", DefaultConfig(), true},
		{"zero", Config{}, true},
		{"share above one", Config{Debug: 1.5}, false},
		{"negative share", Config{Email: -0.1}, false},
		{"min above max", Config{MinSize: 10, MaxSize: 5}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Fatalf("got error %v; want ok = %v", err, tt.ok)
			}
		})
	}
}

func TestLuhnCheck(t *testing.T) {
	for _, tt := range []struct{ payload, want string }{
		{"411111111111111", "1"},
		{"550000555555555", "9"},
		{"37828224631000", "5"},
	} {
		if got := luhnCheck(digits(tt.payload)); string('0'+got) != tt.want {
			t.Errorf("luhnCheck(%s): got %c; want %s", tt.payload, '0'+got, tt.want)
		}
	}
}

func digits(s string) []byte { return []byte(s) }

// TestEscapedJSON: escaped lines are valid JSON whose values decode to the
// plain forms, with the separators of the PII escaped away from a byte
// scan; without escapes asked for, no line has them.
func TestEscapedJSON(t *testing.T) {
	g := New(Config{Seed: 3, JSON: 1, Escaped: 1, SSN: 1, Card: 1, Email: 1})
	ssn := regexp.MustCompile(`^\d{3}-\d{2}-\d{4}$`)
	for seq := uint64(0); seq < 500; seq++ {
		line, k := g.Append(nil, "src", seq, 1)
		if k&KindEscaped == 0 || !bytes.Contains(line, []byte(`\u00`)) {
			t.Fatalf("line %d: kind %b, %s; want escaped", seq, k, line)
		}
		var doc struct {
			Attributes struct {
				SSN   string `json:"user.ssn"`
				Card  string `json:"payment.card"`
				Email string `json:"user.email"`
			} `json:"attributes"`
		}
		if err := json.Unmarshal(line, &doc); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", seq, err, line)
		}
		v := doc.Attributes
		if !ssn.MatchString(v.SSN) || !strings.Contains(v.Email, "@") || len(v.Card) < 15 {
			t.Fatalf("line %d decodes to ssn %q, card %q, email %q", seq, v.SSN, v.Card, v.Email)
		}
		if bytes.Contains(line, []byte(v.SSN)) || bytes.Contains(line, []byte(v.Email)) {
			t.Fatalf("line %d holds its PII unescaped: %s", seq, line)
		}
	}
	plain := New(Config{Seed: 3, JSON: 1, SSN: 1})
	for seq := uint64(0); seq < 500; seq++ {
		if line, k := plain.Append(nil, "src", seq, 1); k&KindEscaped != 0 || bytes.IndexByte(line, '\\') >= 0 {
			t.Fatalf("line %d escaped without asking: %s", seq, line)
		}
	}
}

// TestAppendDecimal: the corpus's number writer writes what strconv does.
func TestAppendDecimal(t *testing.T) {
	vals := []uint64{0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65535, 1<<32 - 1, 1 << 32,
		1_700_000_000_000_000_000, 9_999_999_999_999_999_999, math.MaxInt64, math.MaxUint64}
	for p := uint64(10); p <= 1e19; p *= 10 {
		vals = append(vals, p-1, p, p+1)
	}
	r := rng{s: 7}
	for range 10000 {
		vals = append(vals, r.next()>>(r.next()%64))
	}
	for _, v := range vals {
		if got, want := string(appendUint([]byte("x="), v)), "x="+strconv.FormatUint(v, 10); got != want {
			t.Fatalf("appendUint(%d) = %q; want %q", v, got, want)
		}
		i := int64(v)
		if got, want := string(appendInt(nil, i)), strconv.FormatInt(i, 10); got != want {
			t.Fatalf("appendInt(%d) = %q; want %q", i, got, want)
		}
	}
}
