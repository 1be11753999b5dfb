package match

import (
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGovBMatchesReference compares every detector with a slow reference
// of its own Doc, on random lines made of values, near misses, separators
// and context words.
func TestGovBMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		line := govBRandomLine(r)
		govBCompare(t, line)
	}
}

// govBCompare fails t if a detector's findings in line differ from the
// reference's.
func govBCompare(t *testing.T, line string) {
	t.Helper()
	for name, spec := range govBRefSpecs {
		d, _ := LookupDetector(name)
		got := findings(d.Find, line)
		want := govBRefFindings(spec, line)
		if !slices.Equal(got, want) {
			t.Fatalf("%s in %q: got %q; want %q", name, line, got, want)
		}
	}
}

// govBNames are the names of the detectors of govBRefSpecs, sorted so
// that random lines are the same on every run.
var govBNames = slices.Sorted(maps.Keys(govBRefSpecs))

// govBRandomLine returns a line of fragments likely to hold findings.
func govBRandomLine(r *rand.Rand) string {
	words := []string{"bsn ", "sofinummer=", "pan: ", "income tax ", "cpf ", "cnpj=", "tfn ", "tax file ",
		"medicare ", "id ", "x", "A", "_", "-", ".", "/", " ", ", ", "\\/", "1", "12", "2024-11-22 ", "v1."}
	var b strings.Builder
	for range 1 + r.IntN(8) {
		switch r.IntN(3) {
		case 0:
			b.WriteString(words[r.IntN(len(words))])
		default:
			v := positives[govBNames[r.IntN(len(govBNames))]](r)
			if r.IntN(4) == 0 { // a near miss: one byte changed
				k := r.IntN(len(v))
				v = v[:k] + string("0123456789X -."[r.IntN(14)]) + v[k+1:]
			}
			b.WriteString(v)
		}
		if r.IntN(4) > 0 {
			b.WriteString([]string{" ", ", ", "=", ": ", `"`, "(", ")"}[r.IntN(7)])
		}
	}
	return b.String()
}

// FuzzGovBFind compares every detector with the reference on any line.
func FuzzGovBFind(f *testing.F) {
	for name := range govBRefSpecs {
		d, _ := LookupDetector(name)
		for _, ex := range d.Examples {
			f.Add(ex.Line)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		f.Add(govBRandomLine(r))
	}
	f.Fuzz(func(t *testing.T, line string) {
		govBCompare(t, line)
	})
}

// FuzzGovBChecksums compares the detectors' checks with the reference
// checks on digits drawn from data, and checks that values completed by
// the reference checks pass.
func FuzzGovBChecksums(f *testing.F) {
	f.Add([]byte("11010519491231002X"), byte('S'))
	f.Add([]byte("529982247250000000"), byte('M'))
	f.Add([]byte("000000000000000000"), byte('T'))
	f.Add([]byte("\x00\xff\x10"), byte('G'))
	f.Fuzz(func(t *testing.T, data []byte, prefix byte) {
		var b [18]byte
		for k := range b {
			b[k] = '0'
			if k < len(data) {
				b[k] = '0' + data[k]%10
			}
		}
		d := string(b[:])
		for _, n := range []int{8, 9} {
			if got, want := nlBSNValid(b[:n]), govBRefBSN(d[:n]); got != want {
				t.Fatalf("nlBSNValid(%s): got %v; want %v", d[:n], got, want)
			}
		}
		if got, want := inAadhaarValid(b[:12]), govBRefVerhoeff(d[:12]); got != want {
			t.Fatalf("inAadhaarValid(%s): got %v; want %v", d[:12], got, want)
		}
		if v := govBVerhoeff(d[:11]); !inAadhaarValid([]byte(v)) {
			t.Fatalf("inAadhaarValid(%s): got false; want true", v)
		}
		if got, want := brCPFValid(b[:11]), govBRefCPF(d[:11]); got != want {
			t.Fatalf("brCPFValid(%s): got %v; want %v", d[:11], got, want)
		}
		if v := govBCPF(d[:9]); brCPFValid([]byte(v)) != (strings.Count(v, v[:1]) != 11) {
			t.Fatalf("brCPFValid(%s): got %v; want true unless all digits are the same", v, !brCPFValid([]byte(v)))
		}
		if got, want := brCNPJValid(b[:14]), govBRefCNPJ(d[:14]); got != want {
			t.Fatalf("brCNPJValid(%s): got %v; want %v", d[:14], got, want)
		}
		if v := govBCNPJ(d[:12]); brCNPJValid([]byte(v)) != (strings.Count(v, v[:1]) != 14) {
			t.Fatalf("brCNPJValid(%s): got %v; want true unless all digits are the same", v, !brCNPJValid([]byte(v)))
		}
		for _, c := range []byte("0123456789Xx") {
			v := d[:17] + string(c)
			if got, want := cnResidentIDValid([]byte(v)), govBRefCN(v); got != want {
				t.Fatalf("cnResidentIDValid(%s): got %v; want %v", v, got, want)
			}
		}
		if got, want := govBDate(b[6:14]), govBRefDate(d[6:14]); got != want {
			t.Fatalf("govBDate(%s): got %v; want %v", d[6:14], got, want)
		}
		if got, want := auTFNValid(b[:9]), govBRefTFN(d[:9]); got != want {
			t.Fatalf("auTFNValid(%s): got %v; want %v", d[:9], got, want)
		}
		if got, want := auMedicareValid(b[:9]), govBRefMedicare(d[:9]); got != want {
			t.Fatalf("auMedicareValid(%s): got %v; want %v", d[:9], got, want)
		}
		for _, p := range []byte{prefix, 'S', 'T', 'F', 'G', 'M'} {
			for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
				v := string(p) + d[:7] + string(c)
				if got, want := sgNRICLetter(p, b[:7]) == c, govBRefNRIC(v); got != want {
					t.Fatalf("check letter of %s: got %v; want %v", v, got, want)
				}
			}
		}
	})
}

// Reference checks, written apart from the detectors' own.

// govBRefBSN reports whether the 8 or 9 digits s pass the 11-proof: read
// from the right, the last digit weighs -1 and the k-th k.
func govBRefBSN(s string) bool {
	s = strings.Repeat("0", 9-len(s)) + s
	sum := 0
	for p := 1; p <= 9; p++ {
		w := p
		if p == 1 {
			w = -1
		}
		sum += w * int(s[9-p]-'0')
	}
	return strings.Trim(s, "0") != "" && sum%11 == 0
}

// govBRefD5 is the product j·k in the dihedral group D5, its rotations
// numbered 0 to 4 and its reflections 5 to 9.
func govBRefD5(j, k int) int {
	switch {
	case j < 5 && k < 5:
		return (j + k) % 5
	case j < 5:
		return 5 + (j+k-5)%5
	case k < 5:
		return 5 + (j-k)%5
	default:
		return (j - k + 5) % 5
	}
}

// govBRefPerm applies the Verhoeff permutation k times to d.
func govBRefPerm(k, d int) int {
	for ; k > 0; k-- {
		d = [10]int{1, 5, 7, 6, 2, 8, 3, 0, 9, 4}[d]
	}
	return d
}

// govBRefVerhoeff reports whether the digits s pass the Verhoeff check.
func govBRefVerhoeff(s string) bool {
	c := 0
	for k := range len(s) {
		c = govBRefD5(c, govBRefPerm(k, int(s[len(s)-1-k]-'0')))
	}
	return c == 0
}

// govBRefMod11 returns the Brazilian mod 11 check digit of the digits s
// for weights: 10·sum mod 11, with 10 read as 0.
func govBRefMod11(s string, weights ...int) byte {
	sum := 0
	for k, w := range weights {
		sum += w * int(s[k]-'0')
	}
	return byte('0' + sum*10%11%10)
}

// govBRefCPF reports whether the 11 digits s are a CPF.
func govBRefCPF(s string) bool {
	return s[9] == govBRefMod11(s, 10, 9, 8, 7, 6, 5, 4, 3, 2) &&
		s[10] == govBRefMod11(s, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2) &&
		strings.Count(s, s[:1]) != len(s)
}

// govBRefCNPJ reports whether the 14 digits s are a CNPJ.
func govBRefCNPJ(s string) bool {
	return s[12] == govBRefMod11(s, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2) &&
		s[13] == govBRefMod11(s, 6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2) &&
		strings.Count(s, s[:1]) != len(s)
}

// govBRefCN reports whether s, 17 digits and a check character, is a
// resident identity card number: weights 2^k mod 11 from the right, and
// the check c with sum + c ≡ 1 mod 11, 10 written X.
func govBRefCN(s string) bool {
	sum, w := 0, 1
	for k := 16; k >= 0; k-- {
		w = w * 2 % 11
		sum += w * int(s[k]-'0')
	}
	c := (12 - sum%11) % 11
	want := strconv.Itoa(c)
	if c == 10 {
		want = "X"
	}
	return strings.ToUpper(s[17:]) == want && govBRefDate(s[6:14])
}

// govBRefDate reports whether s is a date YYYYMMDD from 1900 to 2099.
func govBRefDate(s string) bool {
	d, err := time.Parse("20060102", s)
	return err == nil && d.Year() >= 1900 && d.Year() <= 2099
}

// govBRefTFN reports whether the 9 digits s are a TFN.
func govBRefTFN(s string) bool {
	sum := 0
	for k, w := range strings.Fields("1 4 3 7 5 8 6 9 10") {
		n, _ := strconv.Atoi(w)
		sum += n * int(s[k]-'0')
	}
	return s != "000000000" && sum%11 == 0
}

// govBRefMedicare reports whether the ninth of the digits s is the
// Medicare check digit of the first eight.
func govBRefMedicare(s string) bool {
	sum := 0
	for k := range 8 {
		sum += []int{1, 3, 7, 9}[k%4] * int(s[k]-'0')
	}
	return int(s[8]-'0') == sum%10
}

// govBRefNRIC reports whether s is a prefix, 7 digits and the right check
// letter.
func govBRefNRIC(s string) bool {
	series := map[byte]struct {
		offset int
		table  string
	}{
		'S': {0, "JZIHGFEDCBA"}, 'T': {4, "JZIHGFEDCBA"},
		'F': {0, "XWUTRQPNMLK"}, 'G': {4, "XWUTRQPNMLK"},
		'M': {3, "KLJNPQRTUWX"},
	}
	p, ok := series[s[0]]
	if !ok {
		return false
	}
	sum := p.offset
	for k, w := range []int{2, 7, 6, 5, 4, 3, 2} {
		sum += w * int(s[1+k]-'0')
	}
	r := sum % 11
	if s[0] == 'M' {
		r = 10 - r
	}
	return s[8] == p.table[r]
}

// Reference finders: each form a regular expression, tried at every
// position from the left, longest form first.

// govBRefForm is one way of writing a value.
type govBRefForm struct {
	re      *regexp.Regexp
	context bool // whether it needs a context word
}

// govBRefSpec is what a detector's Doc says.
type govBRefSpec struct {
	forms  []govBRefForm
	spaced bool // whether ' ' joins digits
	valid  func(v string) bool
	words  []string
}

// govBForms compiles the forms, each "!" prefix marking one that needs
// context.
func govBForms(exprs ...string) []govBRefForm {
	var out []govBRefForm
	for _, e := range exprs {
		ctx := strings.HasPrefix(e, "!")
		out = append(out, govBRefForm{regexp.MustCompile(`^(?:` + strings.TrimPrefix(e, "!") + `)`), ctx})
	}
	return out
}

// govBOnlyDigits returns the digits of v.
func govBOnlyDigits(v string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, v)
}

var govBRefSpecs = map[string]govBRefSpec{
	"nl_bsn": {
		forms: govBForms(`!\d{9}`, `!\d{8}`),
		valid: govBRefBSN, words: []string{"bsn", "burgerservicenummer", "sofinummer"},
	},
	"in_aadhaar": {
		forms:  govBForms(`[2-9]\d{11}`, `[2-9]\d{3} \d{4} \d{4}`, `[2-9]\d{3}-\d{4}-\d{4}`),
		spaced: true,
		valid:  func(v string) bool { return govBRefVerhoeff(govBOnlyDigits(v)) },
	},
	"in_pan": {
		forms: govBForms(`![A-Z]{3}[PCHFATBLJG][A-Z][0-9]{4}[A-Z]`),
		valid: func(string) bool { return true },
		words: []string{"pan", "income tax", "income_tax", "permanent account", "permanent_account"},
	},
	"br_cpf": {
		forms: govBForms(`\d{3}\.\d{3}\.\d{3}-\d{2}`, `!\d{11}`),
		valid: func(v string) bool { return govBRefCPF(govBOnlyDigits(v)) }, words: []string{"cpf"},
	},
	"br_cnpj": {
		forms: govBForms(`\d{2}\.\d{3}\.\d{3}(?:/|\\/)\d{4}-\d{2}`, `!\d{14}`),
		valid: func(v string) bool { return govBRefCNPJ(govBOnlyDigits(v)) }, words: []string{"cnpj"},
	},
	"cn_resident_id": {
		forms: govBForms(`\d{17}[0-9Xx]`),
		valid: govBRefCN,
	},
	"au_tfn": {
		forms:  govBForms(`!\d{3} \d{3} \d{3}`, `!\d{9}`),
		spaced: true,
		valid:  func(v string) bool { return govBRefTFN(govBOnlyDigits(v)) },
		words:  []string{"tfn", "tax file", "tax_file"},
	},
	"au_medicare": {
		forms:  govBForms(`[2-6]\d{3} \d{5} \d \d`, `[2-6]\d{3} \d{5} \d`, `![2-6]\d{10}`, `![2-6]\d{9}`),
		spaced: true,
		valid:  func(v string) bool { return govBRefMedicare(govBOnlyDigits(v)) },
		words:  []string{"medicare"},
	},
	"sg_nric": {
		forms: govBForms(`[STFGM]\d{7}[A-Z]`),
		valid: govBRefNRIC,
	},
}

// govBRefFindings returns what spec finds in line.
func govBRefFindings(spec govBRefSpec, line string) []string {
	var out []string
	for s := 0; s < len(line); {
		if e := govBRefAt(spec, line, s); e > 0 {
			out = append(out, line[s:e])
			s = e
			continue
		}
		s++
	}
	return out
}

// govBRefAt returns the end of the finding of spec at line[s], or -1.
func govBRefAt(spec govBRefSpec, line string, s int) int {
	for _, f := range spec.forms {
		m := f.re.FindString(line[s:])
		if m == "" || !govBRefAlone(line, s, s+len(m), spec.spaced) || !spec.valid(m) {
			continue
		}
		if f.context && !govBRefContext(line, s, spec.words) {
			continue
		}
		return s + len(m)
	}
	return -1
}

// govBRefJoined match what may not stand before and after a value: [0]
// for any value, [1] for one written in groups joined by spaces.
var (
	govBRefJoinedLeft = [2]*regexp.Regexp{
		regexp.MustCompile(`(?:[A-Za-z0-9_]|[A-Za-z0-9_][.-]|[0-9]/)$`),
		regexp.MustCompile(`(?:[A-Za-z0-9_]|[A-Za-z0-9_][.-]|[0-9]/|[0-9] )$`),
	}
	govBRefJoinedRight = [2]*regexp.Regexp{
		regexp.MustCompile(`^(?:[A-Za-z0-9_]|[.-][A-Za-z0-9_]|/[0-9])`),
		regexp.MustCompile(`^(?:[A-Za-z0-9_]|[.-][A-Za-z0-9_]|/[0-9]| [0-9])`),
	}
)

// govBRefAlone reports whether line[s:e] neither touches a word byte nor
// is joined to one.
func govBRefAlone(line string, s, e int, spaced bool) bool {
	k := 0
	if spaced {
		k = 1
	}
	return !govBRefJoinedLeft[k].MatchString(line[max(0, s-2):s]) && !govBRefJoinedRight[k].MatchString(line[e:min(len(line), e+2)])
}

// govBRefContext reports whether a word starts a word in the stretch
// before line[s] that starts at the 32nd byte other than a digit back from
// it, or in all of line[:s] if there are fewer: not after a letter, unless
// an upper-case one after a lower-case one; compared without case, '_'
// and '-' the same as ' '.
func govBRefContext(line string, s int, words []string) bool {
	var others []int // where the bytes other than digits stand
	for k := range s {
		if line[k] < '0' || line[k] > '9' {
			others = append(others, k)
		}
	}
	w := 0
	if len(others) >= 32 {
		w = others[len(others)-32]
	}
	fold := strings.NewReplacer("_", " ", "-", " ")
	// Byte by byte, so that lower[j] stands for line[w+j] even where the
	// line is not valid UTF-8 (strings.Map would widen such a byte to
	// U+FFFD).
	b := []byte(line[w:s])
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	lower := fold.Replace(string(b))
	letter := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	for _, k := range words {
		k = fold.Replace(k)
		for j := 0; j+len(k) <= len(lower); j++ {
			p := w + j
			start := p == 0 || !letter(line[p-1]) || line[p-1] >= 'a' && line[p-1] <= 'z' && line[p] >= 'A' && line[p] <= 'Z'
			if start && letter(line[p]) && lower[j:j+len(k)] == k {
				return true
			}
		}
	}
	return false
}
