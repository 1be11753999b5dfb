package match

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFindNLBSN(t *testing.T) {
	runDetectorTests(t, "nl_bsn", []detectorTest{
		{"bsn 111222333", []string{"111222333"}},
		{"BSN: 123456782 ok", []string{"123456782"}},
		{"Bsn=987654329,", []string{"987654329"}},
		{`{"bsn":"555111222"}`, []string{"555111222"}},
		{`{"user":{"burgerservicenummer":123456782}}`, []string{"123456782"}},
		{"sofinummer 111222333 en 123456782", []string{"111222333", "123456782"}},
		{"bsn=98765437", []string{"98765437"}},
		{"bsn 012345672 and 12345672", []string{"012345672", "12345672"}},
		{"bsn (111222333)", []string{"111222333"}},
		{"bsn 111222333.", []string{"111222333"}},
		{"bsn: 2024-11-22T05:27:33Z 111222333", []string{"111222333"}},

		{"bsn 123456789", nil},
		{"bsn 000000000 00000000", nil},
		{"bsn 1112223330 11122233", nil},
		{"bsn 0111222333", nil},
		{"bsn a111222333 111222333b 111222333_1", nil},
		{"bsn 111222333.5 1.111222333 v-111222333", nil},
		{"bsn 10/111222333 111222333/7", nil},
		{"bsn 1732262400 1732262400123", nil},
		{"order=111222333 id 123456782", nil},
		{"bsn requested; the confirmation for order 111222333", nil},
		{"", nil},
	})
}

func TestFindINAadhaar(t *testing.T) {
	runDetectorTests(t, "in_aadhaar", []detectorTest{
		{"aadhaar 2345 6789 0124", []string{"2345 6789 0124"}},
		{"234567890124", []string{"234567890124"}},
		{"uid=2345-6789-0124;", []string{"2345-6789-0124"}},
		{`{"aadhaar":"987654321012","n":1}`, []string{"987654321012"}},
		{"a 5000 0000 0006, b 9876 5432 1012.", []string{"5000 0000 0006", "9876 5432 1012"}},
		{"(423412341235)", []string{"423412341235"}},
		{"id:987654321012 ok", []string{"987654321012"}},

		{"aadhaar 234567890123", nil},
		{"starts with 1: 123456789010, with 0: " + govBVerhoeff("01234567890"), nil},
		{"13 digits 2345678901240 11 digits 23456789012", nil},
		{"mixed 2345 6789-0124 double 2345  6789  0124", nil},
		{"card 2345 6789 0124 1111, 1111 2345 6789 0124", nil},
		{"list 5 234567890124 and 234567890124 7", nil},
		{"x234567890124 234567890124y _234567890124", nil},
		{"uuid 12345678-1234-1234-1234-234567890124", nil},
		{"version 1.234567890124 and 234567890124.5", nil},
		{"date 2024/234567890124", nil},
		{"ts=1732262400123 ts=1732262400", nil},
		{"", nil},
	})
}

func TestFindINPAN(t *testing.T) {
	runDetectorTests(t, "in_pan", []detectorTest{
		{"pan ABCPE1234F", []string{"ABCPE1234F"}},
		{"PAN: AAACB1234Z.", []string{"AAACB1234Z"}},
		{`{"pan_number":"ZZZHX0001A"}`, []string{"ZZZHX0001A"}},
		{"income tax id=AABFT9999Q", []string{"AABFT9999Q"}},
		{"Permanent Account Number AAJGL1234M", []string{"AAJGL1234M"}},
		{"income_tax: AAATB0000B,AALPZ5555C", []string{"AAATB0000B", "AALPZ5555C"}},
		{"pan=ABCAE1234F", []string{"ABCAE1234F"}},

		{"pan ABCDE1234F ABCXE1234F", nil},
		{"pan abcpe1234f ABCPe1234F", nil},
		{"pan ABCPE12345F ABCPE123F ABCPEF1234F", nil},
		{"pan XABCPE1234F ABCPE1234FX ABCPE1234F9", nil},
		{"pan ABCPE1234F-2 v.ABCPE1234F", nil},
		{"sku=ABCPE1234F qty=2", nil},
		{"pan requested, unrelated: the order for ABCPE1234F", nil},
		{"", nil},
	})
}

func TestFindBRCPF(t *testing.T) {
	runDetectorTests(t, "br_cpf", []detectorTest{
		{"cpf 529.982.247-25", []string{"529.982.247-25"}},
		{"529.982.247-25", []string{"529.982.247-25"}},
		{"CPF=52998224725;", []string{"52998224725"}},
		{`{"cpf":"123.456.789-09","cpf2":"98765432100"}`, []string{"123.456.789-09", "98765432100"}},
		{"doc 111.444.777-35, 000.000.001-91", []string{"111.444.777-35", "000.000.001-91"}},
		{"Cpf: 2024-11-22 12345678909", []string{"12345678909"}},

		{"cpf 529.982.247-26 52998224726", nil},
		{"cpf 111.111.111-11 11111111111 000.000.000-00", nil},
		{"id 52998224725", nil},
		{"cpf 5299822472 529982247250 529.982.247-2 529.982.247-250", nil},
		{"cpf 529.982.24725 529982247-25 529 982 247 25", nil},
		{"cpf 1.529.982.247-25 529.982.247-25.1 529.982.247-25-3", nil},
		{"cpf x529.982.247-25 529.982.247-25x", nil},
		{"", nil},
	})
}

func TestFindBRCNPJ(t *testing.T) {
	runDetectorTests(t, "br_cnpj", []detectorTest{
		{"cnpj 11.222.333/0001-81", []string{"11.222.333/0001-81"}},
		{"11.222.333/0001-81", []string{"11.222.333/0001-81"}},
		{`{"cnpj":"04.599.742\/0001-36"}`, []string{`04.599.742\/0001-36`}},
		{"CNPJ=11222333000181,", []string{"11222333000181"}},
		{`{"cnpj":"12345678000195"}`, []string{"12345678000195"}},
		{"a 11.222.333/0001-81 b 12.345.678/0001-95.", []string{"11.222.333/0001-81", "12.345.678/0001-95"}},

		{"cnpj 11.222.333/0001-82 11222333000180", nil},
		{"cnpj 00.000.000/0000-00 00000000000000", nil},
		{"id 11222333000181", nil},
		{"cnpj 1122233300018 112223330001810", nil},
		{"cnpj 11.222.333-0001-81 11.222.333/000181 11222333/0001-81", nil},
		{"cnpj 1.11.222.333/0001-81 11.222.333/0001-81/2", nil},
		{"cnpj x11.222.333/0001-81 11.222.333/0001-81x", nil},
		{`cnpj 11.222.333\\0001-81`, nil},
		{"", nil},
	})
}

func TestFindCNResidentID(t *testing.T) {
	runDetectorTests(t, "cn_resident_id", []detectorTest{
		{"id 11010519491231002X", []string{"11010519491231002X"}},
		{"id=11010519491231002x;", []string{"11010519491231002x"}},
		{`{"sfz":"320106198001011233"}`, []string{"320106198001011233"}},
		{"420102200002294560 and 50010319991231789X.", []string{"420102200002294560", "50010319991231789X"}},
		{"born 1899? 110105189912310023", nil},
		{"born 2100: 110105210001010023", nil},
		{"month 13: 110105194913010029, 1900-02-29: 110105190002290025", nil},

		{"bad check 110105194912310021 11010519491231002Y", nil},
		{"17 digits 11010519491231002, 19 digits 1101051949123100231", nil},
		{"x11010519491231002X 11010519491231002Xy 11010519491231002X1", nil},
		{"11010519491231002X-1 1.11010519491231002X", nil},
		{"", nil},
	})
}

func TestFindAUTFN(t *testing.T) {
	runDetectorTests(t, "au_tfn", []detectorTest{
		{"tfn 123 456 782", []string{"123 456 782"}},
		{"TFN=123456782;", []string{"123456782"}},
		{`{"tax_file_number":"876543210"}`, []string{"876543210"}},
		{"Tax File Number: 222 333 444.", []string{"222 333 444"}},
		{"tfn 123456782, 876 543 210", []string{"123456782", "876 543 210"}},

		{"tfn 123 456 789 123456789", nil},
		{"tfn 000 000 000 000000000", nil},
		{"order=123456782 status=shipped", nil},
		{"tfn 12345678 1234567820 123 4567 82 123-456-782", nil},
		{"tfn 123 456 782 1 and 9 123 456 782", nil},
		{"tfn 123  456 782 0123 456 782", nil},
		{"tfn a123456782 123456782b 1.123456782", nil},
		{"", nil},
	})
}

func TestFindAUMedicare(t *testing.T) {
	runDetectorTests(t, "au_medicare", []detectorTest{
		{"card 2123 45670 1", []string{"2123 45670 1"}},
		{"2951 87312 5 1 issued", []string{"2951 87312 5 1"}},
		{"medicare=2123456701", []string{"2123456701"}},
		{`{"medicare_number":"29518731251"}`, []string{"29518731251"}},
		{"Medicare: 6123 45674 2, 3123 45671 9.", []string{"6123 45674 2", "3123 45671 9"}},

		{"card 2123 45671 1", nil},
		{"starts with 1 or 7: 1123 45679 1 7123 45675 1", nil},
		{"order 2123456701", nil},
		{"medicare 212345670 212345670123", nil},
		{"card 2123 45670 12 2123 45670 1 2 3 2123 4567 01", nil},
		{"phone 0212345670 ts=1732262400", nil},
		{"card 2123-45670-1 x2123 45670 1 2123 45670 1x", nil},
		{"", nil},
	})
}

func TestFindSGNRIC(t *testing.T) {
	runDetectorTests(t, "sg_nric", []detectorTest{
		{"nric S1234567D", []string{"S1234567D"}},
		{"S8076606H", []string{"S8076606H"}},
		{"fin=F1234567N,G1234567X;", []string{"F1234567N", "G1234567X"}},
		{`{"uin":"T0000001E","m":"M3960741N"}`, []string{"T0000001E", "M3960741N"}},
		{"T7654321B. S0000000J", []string{"T7654321B", "S0000000J"}},
		{"M1234567K", []string{"M1234567K"}},

		{"bad S1234567A M1234567N", nil},
		{"prefix A1234567D X1234567D", nil},
		{"lower s1234567d S1234567d", nil},
		{"length S123456D S12345678D", nil},
		{"token XS1234567D S1234567DX 9S1234567D S1234567D9 _S1234567D", nil},
		{"joined v.S1234567D S1234567D-2 host-S1234567D", nil},
		{"no prefix 00000000\x00 S1234567\x00", nil},
		{"", nil},
	})
}

// Value makers for the tables and the generators.

// govBVerhoeff returns the digits s followed by their Verhoeff check
// digit.
func govBVerhoeff(s string) string {
	for c := byte('0'); c <= '9'; c++ {
		if govBRefVerhoeff(s + string(c)) {
			return s + string(c)
		}
	}
	panic("BUG: no Verhoeff check digit for " + s)
}

// govBCPF returns the 9 digits s followed by their CPF check digits.
func govBCPF(s string) string {
	s += string(govBRefMod11(s, 10, 9, 8, 7, 6, 5, 4, 3, 2))
	return s + string(govBRefMod11(s, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2))
}

// govBCNPJ returns the 12 digits s followed by their CNPJ check digits.
func govBCNPJ(s string) string {
	s += string(govBRefMod11(s, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2))
	return s + string(govBRefMod11(s, 6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2))
}

// govBDigitsOf returns n random digits.
func govBDigitsOf(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for k := range b {
		b[k] = byte('0' + r.IntN(10))
	}
	return string(b)
}

// govBFirst returns a random digit from lo to hi followed by n-1 random
// digits.
func govBFirst(r *rand.Rand, lo, hi byte, n int) string {
	return string(lo+byte(r.IntN(int(hi-lo)+1))) + govBDigitsOf(r, n-1)
}

// govBGroup writes the digits s in groups of the sizes, joined by sep.
func govBGroup(s, sep string, sizes ...int) string {
	var parts []string
	for _, n := range sizes {
		parts = append(parts, s[:n])
		s = s[n:]
	}
	return strings.Join(parts, sep)
}

// init adds a generator of valid values for each detector of the group
// to positives: checksums right, context words left to the caller.
func init() {
	positives["nl_bsn"] = func(r *rand.Rand) string {
		for {
			s := govBDigitsOf(r, 9)
			if govBRefBSN(s) {
				if s[0] == '0' && r.IntN(2) == 0 {
					return s[1:]
				}
				return s
			}
		}
	}
	positives["in_aadhaar"] = func(r *rand.Rand) string {
		s := govBVerhoeff(govBFirst(r, '2', '9', 11))
		return govBGroup(s, []string{"", " ", "-"}[r.IntN(3)], 4, 4, 4)
	}
	positives["in_pan"] = func(r *rand.Rand) string {
		letter := func() byte { return byte('A' + r.IntN(26)) }
		return string([]byte{letter(), letter(), letter(), "PCHFATBLJG"[r.IntN(10)], letter()}) +
			govBDigitsOf(r, 4) + string(letter())
	}
	positives["br_cpf"] = func(r *rand.Rand) string {
		s := govBCPF(govBDigitsOf(r, 9))
		if strings.Count(s, s[:1]) == len(s) {
			s = "52998224725"
		}
		if r.IntN(2) == 0 {
			return s
		}
		return govBGroup(s[:9], ".", 3, 3, 3) + "-" + s[9:]
	}
	positives["br_cnpj"] = func(r *rand.Rand) string {
		s := govBCNPJ(govBDigitsOf(r, 8) + "000" + string(byte('1'+r.IntN(9))))
		if r.IntN(2) == 0 {
			return s
		}
		return fmt.Sprintf("%s.%s.%s/%s-%s", s[:2], s[2:5], s[5:8], s[8:12], s[12:])
	}
	positives["cn_resident_id"] = func(r *rand.Rand) string {
		birth := time.Date(1900+r.IntN(200), 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(365))
		s := govBFirst(r, '1', '8', 6) + birth.Format("20060102") + govBDigitsOf(r, 3)
		for _, c := range "0123456789X" {
			if govBRefCN(s + string(c)) {
				return s + string(c)
			}
		}
		panic("BUG: no check character for " + s)
	}
	positives["au_tfn"] = func(r *rand.Rand) string {
		for {
			if s := govBDigitsOf(r, 9); govBRefTFN(s) {
				if r.IntN(2) == 0 {
					return s
				}
				return govBGroup(s, " ", 3, 3, 3)
			}
		}
	}
	positives["au_medicare"] = func(r *rand.Rand) string {
		for {
			s := govBFirst(r, '2', '6', 9)
			if !govBRefMedicare(s) {
				continue
			}
			s += govBFirst(r, '1', '9', 1)
			if r.IntN(2) == 0 {
				s += govBDigitsOf(r, 1) // the individual reference number
			}
			if r.IntN(2) == 0 {
				return s
			}
			return govBGroup(s, " ", []int{4, 5, 1, 1}[:len(s)-7]...)
		}
	}
	positives["sg_nric"] = func(r *rand.Rand) string {
		p := "STFGM"[r.IntN(5)]
		d := govBDigitsOf(r, 7)
		for c := byte('A'); c <= 'Z'; c++ {
			if v := string(p) + d + string(c); govBRefNRIC(v) {
				return v
			}
		}
		panic("BUG: no check letter")
	}
}

// TestGovBPositives checks that every value the generators make is found
// whole after each context word of its detector, or after none where the
// detector needs none.
func TestGovBPositives(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for name := range govBRefSpecs {
		d, _ := LookupDetector(name)
		words := d.Context
		if len(words) == 0 {
			words = []string{"id"}
		}
		for range 2000 {
			v := positives[name](r)
			for _, w := range words {
				line := w + " " + v
				if got := findings(d.Find, line); !slices.Equal(got, []string{v}) {
					t.Fatalf("%s in %q: got %q; want %q", name, line, got, []string{v})
				}
			}
		}
	}
}

// TestGovBRedactTwice checks that redacting a line twice gives what
// redacting it once does, where a finding stands between a context word
// and a value at every distance around the edge of the context window.
func TestGovBRedactTwice(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, name := range govBNames {
		d, _ := LookupDetector(name)
		rep := d.Replacer("[REDACTED]")
		words := append([]string{"id"}, d.Context...)
		for range 50 {
			v1, v2 := positives[name](r), positives[name](r)
			for pad := range 40 {
				for _, w := range words {
					line := w + " " + strings.Repeat("x ", pad/2) + strings.Repeat("9", pad%2) + " " + v1 + ", " + v2
					once := replace(rep, []byte(line))
					if twice := replace(rep, []byte(once)); twice != once {
						t.Fatalf("%s on %q: got %q once and %q twice; want the same", name, line, once, twice)
					}
				}
			}
		}
	}
}
