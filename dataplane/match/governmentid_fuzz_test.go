package match

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The reference checks below are written differently from the detectors':
// on strings, with the standard library, or from another statement of the
// same algorithm. The fuzz targets compare both.

// govARefNIRKey returns the NIR key of body, 13 characters with 2A or 2B
// as a département, by parsing the number after the substitution.
func govARefNIRKey(body string) int {
	body = body[:5] + strings.NewReplacer("2A", "19", "2B", "18").Replace(body[5:7]) + body[7:]
	n, err := strconv.ParseUint(body, 10, 64)
	if err != nil {
		panic(err)
	}
	return int(97 - n%97)
}

// govARefTaxStructure reports whether, in the first ten digits of d,
// exactly one digit is repeated, twice or three times but not three in a
// row.
func govARefTaxStructure(d string) bool {
	counts := map[rune]int{}
	for _, c := range d[:10] {
		counts[c]++
	}
	var reps []rune
	for c, n := range counts {
		if n > 1 {
			reps = append(reps, c)
		}
	}
	if len(reps) != 1 {
		return false
	}
	switch counts[reps[0]] {
	case 2:
		return true
	case 3:
		return !strings.Contains(d[:10], strings.Repeat(string(reps[0]), 3))
	}
	return false
}

// govARefTaxCheck reports whether the digits d, check digit included, pass
// ISO 7064 MOD 11,10, in the form of the standard's validation: the
// running value ends at 1.
func govARefTaxCheck(d string) bool {
	check := 5
	for _, c := range d {
		if check == 0 {
			check = 10
		}
		check = (check*2%11 + int(c-'0')) % 10
	}
	return check == 1
}

// govARefDNILetter returns the check letter of a DNI's eight digits or an
// NIE's letter and seven digits.
func govARefDNILetter(v string) string {
	n, err := strconv.Atoi(strings.NewReplacer("X", "0", "Y", "1", "Z", "2").Replace(v))
	if err != nil {
		panic(err)
	}
	return string("TRWAGMYFPDXBNJZSQVHLCKE"[n%23])
}

// govARefCFShape is the layout of a codice fiscale.
var govARefCFShape = regexp.MustCompile(`^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$`)

// govARefCFCheck returns the check letter of the first fifteen characters
// of a codice fiscale, from the tables as they are published.
func govARefCFCheck(s string) string {
	odd := map[byte]int{}
	for i, v := range []int{1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23} {
		odd[byte('A'+i)] = v
		if i < 10 {
			odd[byte('0'+i)] = v
		}
	}
	sum := 0
	for i := 0; i < 15; i++ {
		c := s[i]
		switch {
		case i%2 == 0:
			sum += odd[c]
		case c >= '0' && c <= '9':
			sum += int(c - '0')
		default:
			sum += int(c - 'A')
		}
	}
	return string(rune('A' + sum%26))
}

// govARefCFValid reports whether s is a codice fiscale: its layout, a day
// of 1 to 31 or 41 to 71 once omocodia letters are read as digits, and
// its check letter.
func govARefCFValid(s string) bool {
	if !govARefCFShape.MatchString(s) {
		return false
	}
	day, err := strconv.Atoi(strings.Map(func(c rune) rune {
		if i := strings.IndexRune("LMNPQRSTUV", c); i >= 0 {
			return rune('0' + i)
		}
		return c
	}, s[9:11]))
	if err != nil || day < 1 || day > 31 && day < 41 || day > 71 {
		return false
	}
	return govARefCFCheck(s) == s[15:]
}

// govAFuzzDigits returns n ASCII digits drawn from data, padded with 0s.
func govAFuzzDigits(data []byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
		if i < len(data) {
			b[i] = '0' + data[i]%10
		}
	}
	return string(b)
}

// govAValues returns the values of the ASCII digits s.
func govAValues(s string) []byte {
	d := []byte(s)
	for i := range d {
		d[i] -= '0'
	}
	return d
}

func FuzzGovANHSCheck(f *testing.F) {
	for _, s := range []string{"9434765919", "4010232137", "9434765918", "0000000000", "1732262400"} {
		f.Add([]byte(govAValues(s)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := govAFuzzDigits(data, 10)
		d := [10]byte(govAValues(s))
		sum := 0
		for k, c := range s {
			sum += int(c-'0') * (10 - k)
		}
		if got, want := ukNHSValid(&d), sum%11 == 0; got != want {
			t.Fatalf("ukNHSValid(%s): got %v; want %v", s, got, want)
		}
	})
}

func FuzzGovASINCheck(f *testing.F) {
	for _, s := range []string{"130692544", "193456787", "130692545", "046454286"} {
		f.Add([]byte(govAValues(s)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := govAFuzzDigits(data, 9)
		if got, want := luhn(govAValues(s)), luhnValid(s); got != want {
			t.Fatalf("luhn(%s): got %v; want %v", s, got, want)
		}
	})
}

func FuzzGovAINSEEKey(f *testing.F) {
	f.Add([]byte(govAValues("2951099126111")), byte(0))
	f.Add([]byte(govAValues("2530720073004")), byte(1))
	f.Add([]byte(govAValues("2530720073004")), byte(2))
	f.Fuzz(func(t *testing.T, data []byte, corsica byte) {
		body := govAFuzzDigits(data, 13)
		switch corsica % 3 {
		case 1:
			body = body[:5] + "2A" + body[7:]
		case 2:
			body = body[:5] + "2B" + body[7:]
		}
		var d [15]byte
		if e, _ := frINSEERead([]byte(body+"00"), 0, &d); e != 15 {
			t.Fatalf("frINSEERead(%s00): got end %d; want 15", body, e)
		}
		if got, want := frINSEEKey(d[:13]), govARefNIRKey(body); got != want {
			t.Fatalf("frINSEEKey(%s): got %d; want %d", body, got, want)
		}
	})
}

func FuzzGovATaxIDCheck(f *testing.F) {
	for _, s := range []string{"65929970489", "36574261809", "11123456786", "12131456787", "36554266806"} {
		f.Add([]byte(govAValues(s)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := govAFuzzDigits(data, 11)
		d := govAValues(s)
		if got, want := deTaxIDStructure(d[:10]), govARefTaxStructure(s); got != want {
			t.Fatalf("deTaxIDStructure(%s): got %v; want %v", s, got, want)
		}
		if got, want := deTaxIDCheck(d[:10]) == d[10], govARefTaxCheck(s); got != want {
			t.Fatalf("deTaxIDCheck(%s) == %d: got %v; want %v", s, d[10], got, want)
		}
	})
}

func FuzzGovADNICheck(f *testing.F) {
	f.Add([]byte(govAValues("12345678")), byte(0), byte('Z'))
	f.Add([]byte(govAValues("1234567")), byte(1), byte('L'))
	f.Fuzz(func(t *testing.T, data []byte, kind, letter byte) {
		v := govAFuzzDigits(data, 8)
		if kind%4 != 0 {
			v = string("XYZ"[kind%4-1]) + v[:7]
		}
		l := string('A' + letter%26)
		line := "dni " + v + l
		got := findings(esDNINIE.Find, line)
		if want := govARefDNILetter(v) == l; want != (len(got) == 1 && got[0] == v+l) || !want && got != nil {
			t.Fatalf("es_dni_nie in %q: got %q; want a finding: %v", line, got, want)
		}
	})
}

func FuzzGovACodiceFiscaleCheck(f *testing.F) {
	for _, s := range []string{"RSSMRA85T10A562S", "RSSMRA85T10A56NH", "RSSMRA85T72A562C", "MRTMTT91D08F205J"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The bytes as they are.
		if len(data) >= 16 {
			s := string(data[:16])
			if got, want := itCFValid(data[:16]), govARefCFValid(s); got != want {
				t.Fatalf("itCFValid(%q): got %v; want %v", s, got, want)
			}
		}
		// Shaped into the layout, to reach the check letter.
		b := make([]byte, 16)
		for k := range 16 {
			var c byte
			if k < len(data) {
				c = data[k]
			}
			switch {
			case k == 8:
				b[k] = itCFMonths[int(c)%12]
			case k < 15 && itCFLayout[k] == 'D' && c >= 128:
				b[k] = itCFOmocodia[c%10]
			case k < 15 && itCFLayout[k] == 'D':
				b[k] = '0' + c%10
			default:
				b[k] = 'A' + c%26
			}
		}
		b[15] = govARefCFCheck(string(b))[0]
		if got, want := itCFValid(b), govARefCFValid(string(b)); got != want {
			t.Fatalf("itCFValid(%s): got %v; want %v", b, got, want)
		}
	})
}

// FuzzGovADetectors checks FuzzDetectors' properties for the detectors of
// governmentIDDetectors alone: findings in order, within the line, and
// redacting twice the same as once.
func FuzzGovADetectors(f *testing.F) {
	for _, d := range governmentIDDetectors {
		for _, ex := range d.Examples {
			f.Add([]byte(ex.Line))
		}
	}
	f.Add([]byte("ssn 536-22-8145 536228145 +1 536 22 8145 nhs 943-476-5919 9434765919 tax 36 574 261 809 65929970489"))
	f.Add([]byte("sin 130 692 544 130-692-544 130692544 passport A12345678 2 95 10 99 126 111 93 X1234567L AB 12 34 56 C"))
	rs := make([]Replacer, len(governmentIDDetectors))
	for i, d := range governmentIDDetectors {
		rs[i] = d.Replacer("[REDACTED]")
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		for i, d := range governmentIDDetectors {
			prev := 0
			for s, e := d.Find(line, 0); s >= 0; s, e = d.Find(line, e) {
				if s < prev || e <= s || e > len(line) {
					t.Fatalf("%s in %q: got [%d, %d) after %d; want ordered findings within the line", d.Name, line, s, e, prev)
				}
				prev = e
			}
			once := replace(rs[i], line)
			if twice := replace(rs[i], []byte(once)); twice != once {
				t.Fatalf("%s on %q: got %q once and %q twice; want the same", d.Name, line, once, twice)
			}
		}
	})
}
