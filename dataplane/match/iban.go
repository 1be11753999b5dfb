package match

import (
	"encoding/binary"
	"math/bits"
)

var iban = Detector{
	Name:     "iban",
	Category: CategoryPayments,
	Summary:  "International Bank Account Number that passes the mod 97 check",
	Doc: "An IBAN: a country code of the IBAN registry, two check digits 02 to 98 and the country's " +
		"BBAN, of the registry's length for that country (89 countries, from NO with 15 characters to " +
		"RU with 33) and of its structure (digits, letters or either, position by position). It is " +
		"written either compact (DE89370400440532013000) or in print form, groups of four joined by " +
		"single spaces with a shorter last group (DE89 3704 0044 0532 0130 00), in upper case or all " +
		"in lower case, and must pass the ISO 7064 mod 97-10 check (the BBAN, then the country code " +
		"and check digits, letters as 10 to 35, leave 1 modulo 97). It must not be preceded or " +
		"followed by a letter or digit.",
	Checksum: "mod 97",
	Find:     findIBAN,
	Lead:     [leadBytes]string{letters, letters, decimalDigits, decimalDigits},
	AtLead:   ibanLead,
	Examples: []Example{
		{"iban=DE89370400440532013000 amount=12.00", []string{"DE89370400440532013000"}},
		{"to GB29 NWBK 6016 1331 9268 19, ref FR1420041010050500013M02606", []string{"GB29 NWBK 6016 1331 9268 19", "FR1420041010050500013M02606"}},
		{"iban=DE89370400440532013001 id=XDE89370400440532013000 DE8937040044053201300", nil},
	},
}

// ibanCountries are the countries of the IBAN registry (release 102), with
// the length of their IBANs and the structure of their BBANs: n digits,
// a upper-case letters, c either, each after its count.
var ibanCountries = [...]struct {
	code   string
	length int
	bban   string
}{
	{"AD", 24, "4!n4!n12!c"}, {"AE", 23, "3!n16!n"}, {"AL", 28, "8!n16!c"}, {"AT", 20, "5!n11!n"},
	{"AZ", 28, "4!a20!c"}, {"BA", 20, "3!n3!n8!n2!n"}, {"BE", 16, "3!n7!n2!n"}, {"BG", 22, "4!a4!n2!n8!c"},
	{"BH", 22, "4!a14!c"}, {"BI", 27, "5!n5!n11!n2!n"}, {"BR", 29, "8!n5!n10!n1!a1!c"}, {"BY", 28, "4!c4!n16!c"},
	{"CH", 21, "5!n12!c"}, {"CR", 22, "4!n14!n"}, {"CY", 28, "3!n5!n16!c"}, {"CZ", 24, "4!n6!n10!n"},
	{"DE", 22, "8!n10!n"}, {"DJ", 27, "5!n5!n11!n2!n"}, {"DK", 18, "4!n9!n1!n"}, {"DO", 28, "4!c20!n"},
	{"EE", 20, "2!n2!n11!n1!n"}, {"EG", 29, "4!n4!n17!n"}, {"ES", 24, "4!n4!n1!n1!n10!n"}, {"FI", 18, "3!n11!n"},
	{"FK", 18, "2!a12!n"}, {"FO", 18, "4!n9!n1!n"}, {"FR", 27, "5!n5!n11!c2!n"}, {"GB", 22, "4!a6!n8!n"},
	{"GE", 22, "2!a16!n"}, {"GI", 23, "4!a15!c"}, {"GL", 18, "4!n9!n1!n"}, {"GR", 27, "3!n4!n16!c"},
	{"GT", 28, "4!c20!c"}, {"HN", 28, "4!a20!n"}, {"HR", 21, "7!n10!n"}, {"HU", 28, "3!n4!n1!n15!n1!n"},
	{"IE", 22, "4!a6!n8!n"}, {"IL", 23, "3!n3!n13!n"}, {"IQ", 23, "4!a3!n12!n"}, {"IS", 26, "4!n2!n6!n10!n"},
	{"IT", 27, "1!a5!n5!n12!c"}, {"JO", 30, "4!a4!n18!c"}, {"KW", 30, "4!a22!c"}, {"KZ", 20, "3!n13!c"},
	{"LB", 28, "4!n20!c"}, {"LC", 32, "4!a24!c"}, {"LI", 21, "5!n12!c"}, {"LT", 20, "5!n11!n"},
	{"LU", 20, "3!n13!c"}, {"LV", 21, "4!a13!c"}, {"LY", 25, "3!n3!n15!n"}, {"MC", 27, "5!n5!n11!c2!n"},
	{"MD", 24, "2!c18!c"}, {"ME", 22, "3!n13!n2!n"}, {"MK", 19, "3!n10!c2!n"}, {"MN", 20, "4!n12!n"},
	{"MR", 27, "5!n5!n11!n2!n"}, {"MT", 31, "4!a5!n18!c"}, {"MU", 30, "4!a2!n2!n12!n3!n3!a"}, {"NI", 28, "4!a20!n"},
	{"NL", 18, "4!a10!n"}, {"NO", 15, "4!n6!n1!n"}, {"OM", 23, "3!n16!c"}, {"PK", 24, "4!a16!c"},
	{"PL", 28, "8!n16!n"}, {"PS", 29, "4!a21!c"}, {"PT", 25, "4!n4!n11!n2!n"}, {"QA", 29, "4!a21!c"},
	{"RO", 24, "4!a16!c"}, {"RS", 22, "3!n13!n2!n"}, {"RU", 33, "9!n5!n15!c"}, {"SA", 24, "2!n18!c"},
	{"SC", 31, "4!a2!n2!n16!n3!a"}, {"SD", 18, "2!n12!n"}, {"SE", 24, "3!n16!n1!n"}, {"SI", 19, "5!n8!n2!n"},
	{"SK", 24, "4!n6!n10!n"}, {"SM", 27, "1!a5!n5!n12!c"}, {"SO", 23, "4!n3!n12!n"}, {"ST", 25, "4!n4!n11!n2!n"},
	{"SV", 28, "4!a20!n"}, {"TL", 23, "3!n14!n2!n"}, {"TN", 24, "2!n3!n13!n2!n"}, {"TR", 26, "5!n1!n16!c"},
	{"UA", 29, "6!n19!c"}, {"VA", 22, "3!n15!n"}, {"VG", 24, "4!a16!n"}, {"XK", 20, "4!n10!n2!n"},
	{"YE", 30, "4!a4!n18!c"},
}

const maxIBANLength = 34

// ibanIndex maps a country code, as (first letter)*26 + second letter, to
// one plus its index in ibanCountries, or 0 if it has no IBAN.
var ibanIndex = func() (t [26 * 26]uint8) {
	for i, c := range ibanCountries {
		t[int(c.code[0]-'A')*26+int(c.code[1]-'A')] = uint8(i + 1)
	}
	return t
}()

// findIBAN finds IBANs; see iban. It looks at eight bytes at a time for
// two letters and two digits, which start every IBAN.
func findIBAN(line []byte, from int) (int, int) {
	const first5 = 0x8080808080 // bytes 0 to 4
	i := from
	for ; i+8 <= len(line); i += 5 {
		x := binary.LittleEndian.Uint64(line[i:])
		l, d := paymentsLetterMask(x), digitMask(x)
		for m := l & (l >> 8) & (d >> 16) & (d >> 24) & first5; m != 0; m &= m - 1 {
			if s, e := ibanCandidate(line, i+bits.TrailingZeros64(m)>>3); s >= 0 {
				return s, e
			}
		}
	}
	for ; i+4 <= len(line); i++ {
		if isLetter(line[i]) && isLetter(line[i+1]) && isDigit(line[i+2]) && isDigit(line[i+3]) {
			if s, e := ibanCandidate(line, i); s >= 0 {
				return s, e
			}
		}
	}
	return -1, -1
}

// ibanLead is the AtLead of iban: the end of the IBAN that starts the
// token at line[s], or -1.
func ibanLead(line []byte, s int) int {
	if s+4 > len(line) || !isDigit(line[s+2]) || !isDigit(line[s+3]) {
		return -1
	}
	return ibanAt(line, s)
}

// ibanCandidate returns the bounds of the IBAN that starts at line[s],
// after two letters and two digits, or -1, -1.
func ibanCandidate(line []byte, s int) (int, int) {
	if s > 0 && isAlnum(line[s-1]) {
		return -1, -1
	}
	if e := ibanAt(line, s); e > 0 {
		return s, e
	}
	return -1, -1
}

// paymentsLetterMask returns x with the top bit of each byte that is an
// ASCII letter set, and every other bit clear: digitMask's test on the
// bytes folded to lower case, for 'a' to 'z'.
func paymentsLetterMask(x uint64) uint64 {
	const (
		ones = 0x0101010101010101
		low7 = 0x7f7f7f7f7f7f7f7f
		high = 0x8080808080808080
	)
	y := x | 0x2020202020202020
	t := y & low7
	return (ones*(0x7f+'z'+1) - t) & ^y & (t + ones*(0x7f-('a'-1))) & high
}

// ibanAt returns the end of the IBAN that starts at line[s], or -1. The
// caller has checked that two letters and two digits start it.
func ibanAt(line []byte, s int) int {
	lower := line[s] >= 'a'
	if line[s+1] >= 'a' != lower {
		return -1
	}
	c := ibanIndex[int(line[s]|0x20-'a')*26+int(line[s+1]|0x20-'a')]
	if c == 0 {
		return -1
	}
	country := &ibanCountries[c-1]
	var buf [maxIBANLength]byte
	b := buf[:country.length]
	e := ibanCompact(line, s, b)
	if e < 0 {
		e = ibanPrinted(line, s, b)
	}
	if e < 0 || !ibanCase(b, lower) || !ibanStructure(b[4:], country.bban) {
		return -1
	}
	if check := int(b[2]-'0')*10 + int(b[3]-'0'); check < 2 || check > 98 {
		return -1
	}
	if ibanMod97(b) != 1 {
		return -1
	}
	return e
}

// ibanCompact copies the len(b) letters and digits that start at line[s]
// into b and returns where they end, or -1 if they are fewer or followed
// by another letter or digit.
func ibanCompact(line []byte, s int, b []byte) int {
	e := s + len(b)
	if e > len(line) || e < len(line) && isAlnum(line[e]) {
		return -1
	}
	for i, c := range line[s:e] {
		if !isAlnum(c) {
			return -1
		}
		b[i] = c
	}
	return e
}

// ibanPrinted copies the len(b) letters and digits of the print form that
// starts at line[s], groups of four joined by single spaces, into b and
// returns where it ends, or -1 if there is no such form.
func ibanPrinted(line []byte, s int, b []byte) int {
	i := s
	for n := range b {
		if n > 0 && n%4 == 0 {
			if i >= len(line) || line[i] != ' ' {
				return -1
			}
			i++
		}
		if i >= len(line) || !isAlnum(line[i]) {
			return -1
		}
		b[n] = line[i]
		i++
	}
	if i < len(line) && isAlnum(line[i]) {
		return -1
	}
	return i
}

// ibanCase reports whether the letters of b are all upper case, or all
// lower case if lower.
func ibanCase(b []byte, lower bool) bool {
	for _, c := range b {
		if isLetter(c) && (c >= 'a') != lower {
			return false
		}
	}
	return true
}

// ibanStructure reports whether bban, without case, has the structure spec
// in the registry's notation: counts of n (digits), a (letters) or c
// (letters or digits), each as "<count>!<kind>".
func ibanStructure(bban []byte, spec string) bool {
	i := 0
	for k := 0; k < len(spec); {
		n := 0
		for ; spec[k] != '!'; k++ {
			n = n*10 + int(spec[k]-'0')
		}
		kind := spec[k+1]
		k += 2
		for ; n > 0; n-- {
			if i == len(bban) {
				return false
			}
			c := bban[i]
			if kind == 'n' && !isDigit(c) || kind == 'a' && !isLetter(c) {
				return false
			}
			i++
		}
	}
	return i == len(bban)
}

// ibanMod97 returns the IBAN b, letters and digits, modulo 97 as ISO 7064
// mod 97-10 computes it: the BBAN, then the country code and check digits,
// with each letter replaced by its two digits (A or a is 10, Z or z 35).
// A valid IBAN leaves 1.
func ibanMod97(b []byte) int {
	r := 0
	for i := range b {
		c := b[(i+4)%len(b)]
		if isDigit(c) {
			r = (r*10 + int(c-'0')) % 97
		} else {
			r = (r*100 + int(c|0x20-'a') + 10) % 97
		}
	}
	return r
}
