package match

import (
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Generators of the payments detectors' values, for TestPrecisionRecall.
func init() {
	positives["iban"] = func(r *rand.Rand) string {
		c := ibanCountries[r.IntN(len(ibanCountries))]
		v := paymentsIBAN(c.code, paymentsRandomBBAN(r, c.bban))
		if r.IntN(2) == 0 {
			return paymentsPrintIBAN(v)
		}
		return v
	}
	positives["us_aba_routing"] = func(r *rand.Rand) string {
		prefixes := []int{0, 1, 5, 9, 12, 21, 26, 32, 61, 66, 72, 80}
		return paymentsABA(strconv.Itoa(100 + prefixes[r.IntN(len(prefixes))])[1:] + paymentsRandom(r, 6, "0123456789"))
	}
	positives["swift_bic"] = func(r *rand.Rand) string {
		const upper, alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		cc := bicCountryCodes[3*r.IntN((len(bicCountryCodes)+1)/3):][:2]
		v := paymentsRandom(r, 4, upper) + cc + paymentsRandom(r, 2, alnum)
		if r.IntN(2) == 0 {
			v += paymentsRandom(r, 3, alnum)
		}
		return v
	}
}

// paymentsRandom returns n bytes drawn from set.
func paymentsRandom(r *rand.Rand, n int, set string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

// paymentsRandomBBAN returns a BBAN of the registry structure spec.
func paymentsRandomBBAN(r *rand.Rand, spec string) string {
	var b strings.Builder
	for rest := spec; rest != ""; {
		i := strings.IndexByte(rest, '!')
		n, _ := strconv.Atoi(rest[:i])
		switch rest[i+1] {
		case 'n':
			b.WriteString(paymentsRandom(r, n, "0123456789"))
		case 'a':
			b.WriteString(paymentsRandom(r, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
		default:
			b.WriteString(paymentsRandom(r, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
		}
		rest = rest[i+2:]
	}
	return b.String()
}

// paymentsRefMod97 is the ISO 7064 mod 97-10 remainder of an IBAN, with
// big integers: the BBAN, country code and check digits as one decimal
// number, each letter written as its two-digit value.
func paymentsRefMod97(v string) int {
	v = strings.ToUpper(v)
	var digits strings.Builder
	for _, c := range v[4:] + v[:4] {
		if c >= 'A' && c <= 'Z' {
			digits.WriteString(strconv.Itoa(int(c-'A') + 10))
		} else {
			digits.WriteRune(c)
		}
	}
	n, ok := new(big.Int).SetString(digits.String(), 10)
	if !ok {
		return -1
	}
	return int(new(big.Int).Mod(n, big.NewInt(97)).Int64())
}

// paymentsIBAN returns the IBAN of the country code and BBAN, with the
// check digits that make it valid.
func paymentsIBAN(code, bban string) string {
	check := 98 - paymentsRefMod97(code+"00"+bban)
	return code + strconv.Itoa(100 + check)[1:] + bban
}

// paymentsPrintIBAN writes an IBAN in groups of four joined by spaces.
func paymentsPrintIBAN(v string) string {
	var b strings.Builder
	for i := range len(v) {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// paymentsRefABA reports whether nine digits pass the 3-7-1 check and have
// a Federal Reserve prefix, written from the weights' table.
func paymentsRefABA(d string) bool {
	if len(d) != 9 {
		return false
	}
	weights := [9]int{3, 7, 1, 3, 7, 1, 3, 7, 1}
	sum := 0
	for i := range 9 {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
		sum += weights[i] * int(d[i]-'0')
	}
	p, _ := strconv.Atoi(d[:2])
	ok := false
	for _, rg := range [][2]int{{0, 12}, {21, 32}, {61, 72}, {80, 80}} {
		ok = ok || p >= rg[0] && p <= rg[1]
	}
	return ok && sum%10 == 0
}

// paymentsABA returns the eight digits d followed by the check digit that
// makes them pass the 3-7-1 check, whatever their prefix.
func paymentsABA(d string) string {
	weights := [8]int{3, 7, 1, 3, 7, 1, 3, 7}
	sum := 0
	for i := range 8 {
		sum += weights[i] * int(d[i]-'0')
	}
	return d + strconv.Itoa((10-sum%10)%10)
}

func TestIBANRegistry(t *testing.T) {
	if len(ibanCountries) != 89 {
		t.Errorf("ibanCountries: got %d countries; want the registry's 89", len(ibanCountries))
	}
	seen := map[string]bool{}
	for _, c := range ibanCountries {
		n := 0
		for rest := c.bban; rest != ""; {
			i := strings.IndexByte(rest, '!')
			k, err := strconv.Atoi(rest[:i])
			if err != nil || !strings.ContainsRune("nac", rune(rest[i+1])) {
				t.Fatalf("%s: bad structure %q", c.code, c.bban)
			}
			n += k
			rest = rest[i+2:]
		}
		if n+4 != c.length || c.length > maxIBANLength {
			t.Errorf("%s: structure %q gives %d characters; want %d", c.code, c.bban, n+4, c.length)
		}
		if seen[c.code] || !bicCountries[int(c.code[0]-'A')*26+int(c.code[1]-'A')] {
			t.Errorf("%s: got a duplicate or a code that is not a country; want unique country codes", c.code)
		}
		seen[c.code] = true
	}
	want := map[string]int{"DE": 22, "FR": 27, "GB": 22, "ES": 24, "IT": 27, "NL": 18, "BE": 16, "CH": 21,
		"AT": 20, "PL": 28, "PT": 25, "IE": 22, "SE": 24, "NO": 15, "DK": 18, "FI": 18, "LU": 20}
	for code, n := range want {
		c := ibanIndex[int(code[0]-'A')*26+int(code[1]-'A')]
		if c == 0 || ibanCountries[c-1].length != n {
			t.Errorf("%s: got index %d; want length %d", code, c, n)
		}
	}
	if n := strings.Count(bicCountryCodes, " ") + 1; n != 250 || len(bicCountryCodes) != 3*n-1 {
		t.Errorf("bicCountryCodes: got %d codes in %d bytes; want 249 ISO codes and XK", n, len(bicCountryCodes))
	}
}

func TestFindIBAN(t *testing.T) {
	// Published examples of the registry, one per line in print form.
	examples := []string{
		"AD12 0001 2030 2003 5910 0100", "AE07 0331 2345 6789 0123 456", "AL47 2121 1009 0000 0002 3569 8741",
		"AT61 1904 3002 3457 3201", "AZ21 NABZ 0000 0000 1370 1000 1944", "BA39 1290 0794 0102 8494",
		"BE68 5390 0754 7034", "BG80 BNBG 9661 1020 3456 78", "BH67 BMAG 0000 1299 1234 56",
		"BI42 1000 0100 0100 0033 2045 181", "BR18 0036 0305 0000 1000 9795 493C 1", "BY13 NBRB 3600 9000 0000 2Z00 AB00",
		"CH93 0076 2011 6238 5295 7", "CR05 0152 0200 1026 2840 66", "CY17 0020 0128 0000 0012 0052 7600",
		"CZ65 0800 0000 1920 0014 5399", "DE89 3704 0044 0532 0130 00", "DK50 0040 0440 1162 43",
		"DO28 BAGR 0000 0001 2124 5361 1324", "EE38 2200 2210 2014 5685", "EG38 0019 0005 0000 0000 2631 8000 2",
		"ES91 2100 0418 4502 0005 1332", "FI21 1234 5600 0007 85", "FO62 6460 0001 6316 34",
		"FR14 2004 1010 0505 0001 3M02 606", "GB29 NWBK 6016 1331 9268 19", "GE29 NB00 0000 0101 9049 17",
		"GI75 NWBK 0000 0000 7099 453", "GL89 6471 0001 0002 06", "GR16 0110 1250 0000 0001 2300 695",
		"GT82 TRAJ 0102 0000 0012 1002 9690", "HR12 1001 0051 8630 0016 0", "HU42 1177 3016 1111 1018 0000 0000",
		"IE29 AIBK 9311 5212 3456 78", "IL62 0108 0000 0009 9999 999", "IQ98 NBIQ 8501 2345 6789 012",
		"IS14 0159 2600 7654 5510 7303 39", "IT60 X054 2811 1010 0000 0123 456", "JO94 CBJO 0010 0000 0000 0131 0003 02",
		"KW81 CBKU 0000 0000 0000 1234 5601 01", "KZ86 125K ZT50 0410 0100", "LB62 0999 0000 0001 0019 0122 9114",
		"LC55 HEMM 0001 0001 0012 0012 0002 3015", "LI21 0881 0000 2324 013A A", "LT12 1000 0111 0100 1000",
		"LU28 0019 4006 4475 0000", "LV80 BANK 0000 4351 9500 1", "LY83 0020 4800 0020 1001 2036 1",
		"MC58 1122 2000 0101 2345 6789 030", "MD24 AG00 0225 1000 1310 4168", "ME25 5050 0001 2345 6789 51",
		"MK07 2501 2000 0058 984", "MR13 0002 0001 0100 0012 3456 753", "MT84 MALT 0110 0001 2345 MTLC AST0 01S",
		"MU17 BOMM 0101 1010 3030 0200 000M UR", "NL91 ABNA 0417 1643 00", "NO93 8601 1117 947",
		"PK36 SCBL 0000 0011 2345 6702", "PL61 1090 1014 0000 0712 1981 2874", "PS92 PALS 0000 0000 0400 1234 5670 2",
		"PT50 0002 0123 1234 5678 9015 4", "QA58 DOHB 0000 1234 5678 90AB CDEF G", "RO49 AAAA 1B31 0075 9384 0000",
		"RS35 2600 0560 1001 6113 79", "SA03 8000 0000 6080 1016 7519", "SC18 SSCB 1101 0000 0000 0000 1497 USD",
		"SD21 2901 0501 2340 01", "SE45 5000 0000 0583 9825 7466", "SI56 2633 0001 2039 086",
		"SK31 1200 0000 1987 4263 7541", "SM86 U032 2509 8000 0000 0270 100", "ST23 0001 0001 0051 8453 1014 6",
		"SV62 CENR 0000 0000 0000 0070 0025", "TL38 0080 0123 4567 8910 157", "TN59 1000 6035 1835 9847 8831",
		"TR33 0006 1005 1978 6457 8413 26", "UA21 3223 1300 0002 6007 2335 6600 1", "VA59 0011 2300 0012 3456 78",
		"VG96 VPVG 0000 0123 4567 8901", "XK05 1212 0123 4567 8906",
	}
	var tests []detectorTest
	for _, e := range examples {
		compact := strings.ReplaceAll(e, " ", "")
		tests = append(tests,
			detectorTest{Line: "iban " + e + ".", Want: []string{e}},
			detectorTest{Line: `{"iban":"` + compact + `"}`, Want: []string{compact}})
	}
	tests = append(tests, []detectorTest{
		{"DE89370400440532013000", []string{"DE89370400440532013000"}},
		{"IBAN:DE89370400440532013000,GB29NWBK60161331926819;", []string{"DE89370400440532013000", "GB29NWBK60161331926819"}},
		{"iban=de89370400440532013000 lower case", []string{"de89370400440532013000"}},
		{"iban=gb29 nwbk 6016 1331 9268 19", []string{"gb29 nwbk 6016 1331 9268 19"}},
		{"(BE68539007547034)", []string{"BE68539007547034"}},
		{"to NO9386011117947", []string{"NO9386011117947"}},
		{"DE89 3704 0044 0532 0130 00 EUR 12.00", []string{"DE89 3704 0044 0532 0130 00"}},
		{"BE68 5390 0754 7034 1234", []string{"BE68 5390 0754 7034"}},
		{"iban=DE89370400440532013000&bic=DEUTDEFF", []string{"DE89370400440532013000"}},
		// Check digits 00, 01 and 99 are never issued, even when the
		// remainder works out.
		{"iban=DE01" + "370400440532013000", nil},

		{"bad check DE89370400440532013001", nil},
		{"swapped DE98370400440532013000", nil},
		{"short DE8937040044053201300", nil},
		{"long DE893704004405320130000", nil},
		{"glued XDE89370400440532013000", nil},
		{"glued DE89370400440532013000X", nil},
		{"glued 1DE89370400440532013000", nil},
		{"mixed case De89370400440532013000", nil},
		{"mixed case GB29NWbk60161331926819", nil},
		{"no such country XX89370400440532013000", nil},
		{"letters where DE has digits DE89A70400440532013000", nil},
		{"print form off DE89 3704 0044 0532 0130 0", nil},
		{"double space DE89  3704 0044 0532 0130 00", nil},
		{"groups of five DE893 70400 44053 20130 00", nil},
		{"dashes DE89-3704-0044-0532-0130-00", nil},
		{"uuid 123e4567-e89b-12d3-a456-426614174000", nil},
		{"sha de89370400440532013000aa1f2e3d4c5b6a79", nil},
		{"ts 1732262400 and 1732262400123", nil},
		{"version v1.2.3 build 20241122", nil},
		{"", nil},
	}...)
	runDetectorTests(t, "iban", tests)
	for c := byte('0'); c <= '9'; c++ {
		for d := byte('0'); d <= '9'; d++ {
			v := "DE" + string(c) + string(d) + "370400440532013000"
			got := findings(findIBAN, v)
			if want := string(c)+string(d) == "89"; (len(got) == 1) != want {
				t.Errorf("check digits %c%c: got %q; want a finding %v", c, d, got, want)
			}
		}
	}
}

func TestFindABARouting(t *testing.T) {
	runDetectorTests(t, "us_aba_routing", []detectorTest{
		{"routing 021000021", []string{"021000021"}},
		{"routing_number=021000021&account=12345678", []string{"021000021"}},
		{`{"aba":"011000015"}`, []string{"011000015"}},
		{"ABA# 026009593 bank of america", []string{"026009593"}},
		{"RTN:322271627.", []string{"322271627"}},
		{"transit number 111000025", []string{"111000025"}},
		{"bankRouting=121000358", []string{"121000358"}},
		{"ach debit 061000052 posted", []string{"061000052"}},
		// Digits do not count in the 32 bytes a keyword reaches.
		{"routing numbers 021000021, 011000015 and 322271627", []string{"021000021", "011000015", "322271627"}},
		{"routing: 021000021 and then on and on we go for a while, 011000015", []string{"021000021"}},
		{"aba " + paymentsABA("80000000"), []string{paymentsABA("80000000")}},
		{"aba " + paymentsABA("72000000"), []string{paymentsABA("72000000")}},
		{"aba " + paymentsABA("00000000"), []string{paymentsABA("00000000")}},

		{"routing 021000022", nil},
		{"routing " + paymentsABA("13000000")[:8] + "0", nil},
		{"routing " + paymentsABA("20000000"), nil},
		{"routing " + paymentsABA("33000000"), nil},
		{"routing " + paymentsABA("60000000"), nil},
		{"routing " + paymentsABA("73000000"), nil},
		{"routing " + paymentsABA("81000000"), nil},
		{"routing " + paymentsABA("99000000"), nil},
		{"021000021", nil},
		{"order 021000021 shipped", nil},
		{"database shard 021000021", nil},
		{"partner 021000021", nil},
		{"routing is set, but this line goes on for long 021000021", nil},
		{"routing 0210000210", nil},
		{"routing 1021000021", nil},
		{"routing x021000021", nil},
		{"routing 021000021x", nil},
		{"routing 3.021000021", nil},
		{"routing 021000021.5", nil},
		{"routing ts=1732262400", nil},
		{"", nil},
	})
}

func TestFindBIC(t *testing.T) {
	runDetectorTests(t, "swift_bic", []detectorTest{
		{"swift DEUTDEFF", []string{"DEUTDEFF"}},
		{"SWIFT: DEUTDEFF500", []string{"DEUTDEFF500"}},
		{"bic=NWBKGB2L&iban=GB29NWBK60161331926819", []string{"NWBKGB2L"}},
		{`{"bic":"COBADEFFXXX"}`, []string{"COBADEFFXXX"}},
		{"Bank: BNPAFRPP.", []string{"BNPAFRPP"}},
		{"beneficiaryBank UBSWCHZH80A", []string{"UBSWCHZH80A"}},
		{"swift_code=CHASUS33 bic2=BOFAUS3N", []string{"CHASUS33", "BOFAUS3N"}},
		{"bic RZBAXKPR kosovo", []string{"RZBAXKPR"}},
		{"bank (intermediary) CITIUS33XXX", []string{"CITIUS33XXX"}},
		// Codes do not count in the 32 bytes a keyword reaches.
		{"bic list: DEUTDEFF500, COBADEFFXXX, BNPAFRPPXXX, UBSWCHZH80A, CHASUS33", []string{"DEUTDEFF500", "COBADEFFXXX", "BNPAFRPPXXX", "UBSWCHZH80A", "CHASUS33"}},
		{"bic: DEUTDEFF and then on and on we go for a while, COBADEFF", []string{"DEUTDEFF"}},

		{"DEUTDEFF500", nil},
		{"status DEUTDEFF done", nil},
		{"public key DEUTDEFF", nil},
		{"swiftly DEUTDEF", nil},
		{"bic DEUTXXFF", nil},
		{"bic DEUTDEFF5", nil},
		{"bic DEUTDEFF50", nil},
		{"bic DEUTDEFF5000", nil},
		{"bic deutdeff", nil},
		{"bic DeutDEFF", nil},
		{"bic XDEUTDEFF", nil},
		{"bic DEU1DEFF", nil},
		{"bic is about to be given, but only far later: DEUTDEFF", nil},
		{"bank transfer ACCOUNTS REJECTED", nil},
		{"", nil},
	})
}

// FuzzPaymentsChecksums compares the checksums of the payments detectors
// with their references: mod 97 of a string of letters and digits with big
// integers, and the ABA check of nine digits with a table of weights.
func FuzzPaymentsChecksums(f *testing.F) {
	for _, s := range []string{"DE89370400440532013000", "GB29NWBK60161331926819", "gb29nwbk60161331926819", "XK051212012345678906", "AA00", "021000021", "123456789"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) < 4 || len(s) > 64 {
			return
		}
		for i := range len(s) {
			if !isAlnum(s[i]) {
				return
			}
		}
		if got, want := ibanMod97([]byte(s)), paymentsRefMod97(s); got != want {
			t.Fatalf("ibanMod97(%q): got %d; want %d", s, got, want)
		}
		if len(s) >= 9 && allDigits([]byte(s[:9])) {
			if got, want := isABARouting([]byte(s[:9])), paymentsRefABA(s[:9]); got != want {
				t.Fatalf("isABARouting(%q): got %v; want %v", s[:9], got, want)
			}
		}
	})
}

// FuzzPaymentsIBAN checks that findIBAN finds a valid IBAN, in either
// form, after and before any text, when punctuation separates them; and
// that whatever it finds passes the reference check.
func FuzzPaymentsIBAN(f *testing.F) {
	f.Add(uint64(1), "iban", "", byte(0), false)
	f.Add(uint64(7), `{"x":`, `}`, byte(2), true)
	f.Fuzz(func(t *testing.T, seed uint64, before, after string, sep byte, print bool) {
		const left, right = `=:"(,;[`, `)",;.]&`
		r := rand.New(rand.NewPCG(seed, 0))
		v := strings.ReplaceAll(positives["iban"](r), " ", "")
		if print {
			v = paymentsPrintIBAN(v)
		}
		k := int(sep) % len(left)
		line := before + left[k:k+1] + v + right[k:k+1] + after
		got := findings(findIBAN, line)
		for _, g := range got {
			if c := strings.ReplaceAll(g, " ", ""); paymentsRefMod97(c) != 1 {
				t.Fatalf("in %q: found %q, which fails mod 97", line, g)
			}
		}
		if !slices.Contains(got, v) {
			t.Fatalf("in %q: got %q; want %q among them", line, got, v)
		}
	})
}

// TestPaymentsLetterMask checks the word-at-a-time letter test against the
// byte test for every byte value in every position of the word.
func TestPaymentsLetterMask(t *testing.T) {
	for pos := range 8 {
		for c := range 256 {
			w := []byte("00000000")
			w[pos] = byte(c)
			var x uint64
			for i := 7; i >= 0; i-- {
				x = x<<8 | uint64(w[i])
			}
			var want uint64
			if isLetter(byte(c)) {
				want = 0x80 << (8 * pos)
			}
			if got := paymentsLetterMask(x); got != want {
				t.Fatalf("byte %#x at %d: got mask %#x; want %#x", c, pos, got, want)
			}
		}
	}
}

// paymentsContextLines are lines where a keyword serves values at the edge
// of its reach, after other values.
func paymentsContextLines() []string {
	var lines []string
	for pad := range 40 {
		p := strings.Repeat("x", pad)
		lines = append(lines,
			"routing 021000021 "+p+" 011000015",
			"bic COBADEFFXXX "+p+" DEUTDEFF",
			"bic DEUTDEFF500 "+p+" COBADEFFXXX",
			"phone +1 (212) 555-0123 "+p+" 2125550124",
			"phone 212-555-0123 "+p+" 12125550124",
			"cell (212) 555-0123 "+p+" (212) 555-0199 "+p+" 2125550124")
	}
	return lines
}

// TestPaymentsContextTwice checks that redacting the findings of the
// detectors that need a keyword again finds nothing more, whatever the
// distance between keyword and values.
func TestPaymentsContextTwice(t *testing.T) {
	for _, name := range []string{"us_aba_routing", "swift_bic", "phone_nanp"} {
		d, _ := LookupDetector(name)
		r := d.Replacer("[REDACTED]")
		for _, l := range paymentsContextLines() {
			once := replace(r, []byte(l))
			if twice := replace(r, []byte(once)); twice != once {
				t.Errorf("%s on %q: got %q redacted once and %q twice; want the same", name, l, once, twice)
			}
		}
	}
}

// FuzzPaymentsNetworkTwice checks, for the detectors of both groups, that
// findings come in order and that redacting twice is redacting once: from
// lines where a keyword serves values at the edge of its reach, and lines
// where values touch one another.
func FuzzPaymentsNetworkTwice(f *testing.F) {
	for _, l := range paymentsContextLines()[:60] {
		f.Add(l)
	}
	for _, l := range []string{
		"00 (200)2000000(200)2000000", "212-555-0123+12125550124", "+14155552671+14155552672",
		"00:1a:2b:3c:4d:5e-00-1a-2b-3c-4d-5f", "001a.2b3c.4d5e:00:1a:2b:3c:4d:5f",
		"fe80::1:fe80::2 ip:2001:db8::1. ::ffff:1.2.3.4", "http://u:p@h@x://v:q@h",
		"DE89370400440532013000 GB29 NWBK 6016 1331 9268 19", "bic DEUTDEFFXXXDEUTDEFF",
	} {
		f.Add(l)
	}
	names := []string{"iban", "us_aba_routing", "swift_bic", "phone_e164", "phone_nanp", "ipv6", "mac_address", "url_credentials"}
	f.Fuzz(func(t *testing.T, line string) {
		for _, name := range names {
			d, _ := LookupDetector(name)
			prev := 0
			for s, e := d.Find([]byte(line), 0); s >= 0; s, e = d.Find([]byte(line), e) {
				if s < prev || e <= s || e > len(line) {
					t.Fatalf("%s in %q: got [%d, %d) after %d", name, line, s, e, prev)
				}
				prev = e
			}
			r := d.Replacer("[REDACTED]")
			once := replace(r, []byte(line))
			if twice := replace(r, []byte(once)); twice != once {
				t.Fatalf("%s on %q: got %q redacted once and %q twice; want the same", name, line, once, twice)
			}
		}
	})
}
