package match

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// Generators of the values of governmentIDDetectors, for
// TestPrecisionRecall: random, valid, in every form the detector takes.
func init() {
	positives["us_ssn"] = func(r *rand.Rand) string {
		area := 1 + r.IntN(899)
		if area == 666 {
			area = 667
		}
		return govAUSForm(r, area, 1+r.IntN(99), 1+r.IntN(9999))
	}
	positives["us_itin"] = func(r *rand.Rand) string {
		groups := []int{50, 65, 70, 78, 88, 90, 92, 94, 99}
		return govAUSForm(r, 900+r.IntN(100), groups[r.IntN(len(groups))], r.IntN(10000))
	}
	positives["us_passport"] = func(r *rand.Rand) string {
		if r.IntN(2) == 0 {
			return govADigits(r, 9)
		}
		return string(rune('A'+r.IntN(26))) + govADigits(r, 8)
	}
	positives["uk_nino"] = func(r *rand.Rand) string { return govANINO(r) }
	positives["uk_nhs"] = func(r *rand.Rand) string { return govAGroup(govANHS(r), govA334[:], r, " -") }
	positives["ca_sin"] = func(r *rand.Rand) string { return govAGroup(govASIN(r), govA333[:], r, " -") }
	positives["fr_insee"] = func(r *rand.Rand) string { return govANIR(r) }
	positives["de_tax_id"] = func(r *rand.Rand) string { return govAGroup(govATaxID(r), govA2333[:], r, " ") }
	positives["es_dni_nie"] = func(r *rand.Rand) string { return govADNI(r) }
	positives["it_codice_fiscale"] = func(r *rand.Rand) string { return govACF(r) }
}

// govADigits returns n random ASCII digits.
func govADigits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

// govAUSForm writes an SSN or ITIN dashed, spaced or bare.
func govAUSForm(r *rand.Rand, area, group, serial int) string {
	switch r.IntN(3) {
	case 0:
		return fmt.Sprintf("%03d-%02d-%04d", area, group, serial)
	case 1:
		return fmt.Sprintf("%03d %02d %04d", area, group, serial)
	}
	return fmt.Sprintf("%03d%02d%04d", area, group, serial)
}

// govAGroup writes the digits d bare, or in groups of the given sizes
// joined by one byte of seps.
func govAGroup(d string, sizes []int, r *rand.Rand, seps string) string {
	k := r.IntN(len(seps) + 1)
	if k == len(seps) {
		return d
	}
	var b strings.Builder
	for g, n := range sizes {
		if g > 0 {
			b.WriteByte(seps[k])
		}
		b.WriteString(d[:n])
		d = d[n:]
	}
	return b.String()
}

// govANINO returns a random National Insurance number in one of its
// spacings.
func govANINO(r *rand.Rand) string {
	const first, second = "ABCEGHJKLMNOPRSTWXYZ", "ABCEGHJKLMNPRSTWXYZ"
	var p string
	for {
		p = string(first[r.IntN(len(first))]) + string(second[r.IntN(len(second))])
		if ukNINOPrefix(p[0], p[1]) {
			break
		}
	}
	d := govADigits(r, 6)
	s := string(rune('A' + r.IntN(4)))
	switch r.IntN(3) {
	case 0:
		return p + d + s
	case 1:
		return p + " " + d[0:2] + " " + d[2:4] + " " + d[4:6] + " " + s
	}
	return p + " " + d + " " + s
}

// govANHS returns ten random digits that pass the NHS check.
func govANHS(r *rand.Rand) string {
	for {
		d := govADigits(r, 9)
		sum := 0
		for k := range 9 {
			sum += int(d[k]-'0') * (10 - k)
		}
		if c := (11 - sum%11) % 11; c != 10 {
			return d + fmt.Sprint(c)
		}
	}
}

// govASIN returns nine random digits that pass the SIN checks.
func govASIN(r *rand.Rand) string {
	const firsts = "12345679" // not 0 or 8
	return luhnComplete(string(firsts[r.IntN(len(firsts))]) + govADigits(r, 7))
}

// govANIR returns a random valid NIR, bare or spaced, sometimes Corsican.
func govANIR(r *rand.Rand) string {
	months := []int{1, 6, 12, 20, 35, 42, 50, 99}
	dep := fmt.Sprintf("%02d", 1+r.IntN(99))
	switch r.IntN(8) {
	case 0:
		dep = "2A"
	case 1:
		dep = "2B"
	}
	body := fmt.Sprintf("%d%02d%02d%s%03d%03d", 1+r.IntN(2), r.IntN(100), months[r.IntN(len(months))], dep, r.IntN(1000), r.IntN(1000))
	nir := body + fmt.Sprintf("%02d", govARefNIRKey(body))
	if r.IntN(2) == 0 {
		return nir
	}
	return nir[0:1] + " " + nir[1:3] + " " + nir[3:5] + " " + nir[5:7] + " " + nir[7:10] + " " + nir[10:13] + " " + nir[13:]
}

// govATaxID returns eleven random digits that make a valid Steuer-IdNr.
func govATaxID(r *rand.Rand) string {
	for {
		d := []byte(govADigits(r, 10))
		if d[0] == '0' || !govARefTaxStructure(string(d)) {
			continue
		}
		for c := byte('0'); c <= '9'; c++ {
			if govARefTaxCheck(string(d) + string(c)) {
				return string(d) + string(c)
			}
		}
	}
}

// govADNI returns a random DNI or NIE, with or without a separator before
// the letter.
func govADNI(r *rand.Rand) string {
	var v string
	if r.IntN(2) == 0 {
		v = govADigits(r, 8)
	} else {
		v = string(rune('X'+r.IntN(3))) + govADigits(r, 7)
	}
	letter := govARefDNILetter(v)
	switch r.IntN(4) {
	case 0:
		return v + "-" + letter
	case 1:
		return v + " " + letter
	}
	return v + letter
}

// govACF returns a random valid codice fiscale, sometimes with omocodia.
func govACF(r *rand.Rand) string {
	const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 0, 16)
	for range 6 {
		b = append(b, upper[r.IntN(26)])
	}
	day := 1 + r.IntN(31)
	if r.IntN(2) == 0 {
		day += 40
	}
	b = fmt.Appendf(b, "%02d%c%02d%c%03d", r.IntN(100), itCFMonths[r.IntN(12)], day, upper[r.IntN(26)], r.IntN(1000))
	for _, k := range []int{14, 13, 12, 10, 9, 7, 6} {
		if r.IntN(4) != 0 {
			break
		}
		b[k] = itCFOmocodia[b[k]-'0']
	}
	return string(b) + govARefCFCheck(string(b))
}

func TestFindUSSSN(t *testing.T) {
	runDetectorTests(t, "us_ssn", []detectorTest{
		{"536-22-8145", []string{"536-22-8145"}},
		{"ssn=536-22-8145", []string{"536-22-8145"}},
		{"SSN: 536 22 8145.", []string{"536 22 8145"}},
		{`{"ssn":"536-22-8145","name":"x"}`, []string{"536-22-8145"}},
		{`{"ssn":"536228145"}`, []string{"536228145"}},
		{"customerSsn=536228145", []string{"536228145"}},
		{"social_security_number: 536228145", []string{"536228145"}},
		{"SS# 536228145", []string{"536228145"}},
		{"ssn 536228145, 001010001 and 899-99-9999", []string{"536228145", "001010001", "899-99-9999"}},
		{"ssn 123-45-6789 (was 234567890)", []string{"123-45-6789", "234567890"}},
		{"GET /users?ssn=536-22-8145&x=1", []string{"536-22-8145"}},
		{"a 536-22-8145 b 536 22 8145 c", []string{"536-22-8145", "536 22 8145"}},
		{"ssn: 12 536228145", []string{"536228145"}},
		{"(536-22-8145)", []string{"536-22-8145"}},
		{"ssn 536-22-8145 42", []string{"536-22-8145"}},
		{"ssn +536-22-8145 +5 536228145 +1234 536228146", []string{"536-22-8145", "536228146"}},
		// Phone numbers after a country calling code.
		{"tel +61 311 79 0082, +971 315 48 1472, +1 536-22-8145", nil},
		// Never issued.
		{"000-12-3456 666-12-3456 900-12-3456 999-70-1234 536-00-8145 536-22-0000", nil},
		// Bare numbers need a context word, at the start of a word.
		{"536228145", nil},
		{"order 536228145", nil},
		{"lessn 536228145 glassn 536228145", nil},
		{"ssn is in the other field, this is order 536228145", nil},
		{"536228145 ssn", nil},
		// Part of something longer.
		{"1536-22-8145 536-22-81450 x536-22-8145 536-22-8145x", nil},
		{"1-536-22-8145 536-22-8145-1 536-22-8145.log v.536-22-8145", nil},
		{"12/536-22-8145 536-22-8145/7", nil},
		{"536-22 8145 536 22-8145 536--22-8145 536  22  8145", nil},
		{"536-2-28145 5362-2-8145 53-622-8145", nil},
		{"ssn 5362281450 ssn 53622814 ssn _536228145", nil},
		{"id 550e8400-e29b-41d4-a716-446655440000 sha 536228145deadbeef", nil},
		{"ssn ts=1732262400 ms=1732262400123", nil},
		{"", nil},
	})
}

func TestFindUSITIN(t *testing.T) {
	runDetectorTests(t, "us_itin", []detectorTest{
		{"912-70-1234", []string{"912-70-1234"}},
		{"itin=900-50-0000;", []string{"900-50-0000"}},
		{"ITIN: 999 99 9999", []string{"999 99 9999"}},
		{`{"itin":"912701234"}`, []string{"912701234"}},
		{"taxpayerId 965888888", []string{"965888888"}},
		{"groups 900-65-1111 900-70-1111 900-88-1111 900-90-1111 900-92-1111 900-94-1111",
			[]string{"900-65-1111", "900-70-1111", "900-88-1111", "900-90-1111", "900-92-1111", "900-94-1111"}},
		{"groups 900-49-1111 900-66-1111 900-69-1111 900-89-1111 900-93-1111 900-00-1111", nil},
		{"ssn 536-22-8145 899-70-1234", nil},
		{"912701234", nil},
		{"waiting 912701234 writing 912701234", nil},
		{"9912-70-1234 912-70-12345 912-70-1234-5 912-70-1234.pdf", nil},
		{"912 70-1234", nil},
		{"", nil},
	})
}

func TestFindUSPassport(t *testing.T) {
	runDetectorTests(t, "us_passport", []detectorTest{
		{"passport 561234987", []string{"561234987"}},
		{"Passport No: A12345678", []string{"A12345678"}},
		{"passport_card=C03005988", []string{"C03005988"}},
		{`{"passportNumber":"561234987"}`, []string{"561234987"}},
		{"holderPassport: 561234987", []string{"561234987"}},
		{"passports 561234987, 123456789", []string{"561234987", "123456789"}},
		{"PASSPORT 561234987 ok", []string{"561234987"}},
		{"561234987", nil},
		{"passport 56123498 5612349870 a12345678 AB1234567 A1234567", nil},
		{"passport 561234987x x561234987 0.561234987 561234987.5 A12345678-B", nil},
		{"passport pending for a very long while now, order 561234987", nil},
		{"order 561234987 passport", nil},
		{"nopassport 561234987", nil},
		{"", nil},
	})
}

func TestFindUKNINO(t *testing.T) {
	runDetectorTests(t, "uk_nino", []detectorTest{
		{"AB123456C", []string{"AB123456C"}},
		{"nino=AB123456C;", []string{"AB123456C"}},
		{"NI: AB 12 34 56 C.", []string{"AB 12 34 56 C"}},
		{"ni AB 123456 C ni AB123456 D ni AB 123456A", []string{"AB 123456 C", "AB123456 D", "AB 123456A"}},
		{"ni AB12 34 56A", []string{"AB12 34 56A"}},
		{`{"nino":"JG103725D"}`, []string{"JG103725D"}},
		{"CE123456A,TW123456B", []string{"CE123456A", "TW123456B"}},
		{"ZY123456D", []string{"ZY123456D"}},
		// Prefixes and suffixes HMRC does not allocate.
		{"DA123456A FA123456A IA123456A QA123456A UA123456A VA123456A", nil},
		{"AD123456A AF123456A AI123456A AQ123456A AU123456A AV123456A AO123456A", nil},
		{"BG123456A GB123456A NK123456A KN123456A TN123456A NT123456A ZZ123456A", nil},
		{"AB123456E AB123456 ab123456c Ab123456C", nil},
		{"AB12345C AB1234567C AB 12 34 5 C AB 12 3456 C AB  123456 C", nil},
		{"XAB123456C AB123456CX AB123456C1 1AB123456C AB123456C-x", nil},
		{"", nil},
	})
}

func TestFindUKNHS(t *testing.T) {
	runDetectorTests(t, "uk_nhs", []detectorTest{
		{"943 476 5919", []string{"943 476 5919"}},
		{"nhs=943-476-5919;", []string{"943-476-5919"}},
		{"NHS number 9434765919", []string{"9434765919"}},
		{`{"nhsNumber":"4010232137"}`, []string{"4010232137"}},
		{"patientNhs 4857773457", []string{"4857773457"}},
		{"nhs 401 023 2137, 485-777-3457", []string{"401 023 2137", "485-777-3457"}},
		{"943 476 5918 nhs 943-476-5910", nil},
		{"9434765919 943-476-5919 call 555-123-4568", nil},
		{"tel +1 555 123 4568 +44 943 476 5919", nil},
		{"ts=1634010566 ts=1732262400", nil},
		{"nhs 943-476 5919 943 476-5919 94 3476 5919", nil},
		{"nhs 1 943 476 5919 943 476 5919 1", nil},
		{"nhs 943 476 59190 9943 476 5919 943.476.5919", nil},
		{"nhs x9434765919 9434765919x 943476591", nil},
		{"", nil},
	})
}

func TestFindCASIN(t *testing.T) {
	runDetectorTests(t, "ca_sin", []detectorTest{
		{"sin 130 692 544", []string{"130 692 544"}},
		{"130 692 544", nil}, // every form wants context: spaced threes are too common
		{"sin=130-692-544;", []string{"130-692-544"}},
		{"SIN: 193456787", []string{"193456787"}},
		{"social insurance number 275649325", []string{"275649325"}},
		{`{"employeeSin":"193456787"}`, []string{"193456787"}},
		{"sin 130692544, 193456787", []string{"130692544", "193456787"}},
		{"sin 130 692 545 130-692-543", nil},
		{"046 454 286 800 000 002", nil},
		{"130692544", nil},
		{"using 130692544 business 193456787", nil},
		{"tel +33 612 345 678, 1 130 692 544, 130 692 544 1", nil},
		{"130-692 544 13 0692 544 130 692 5440 130.692.544", nil},
		{"", nil},
	})
}

func TestFindFRINSEE(t *testing.T) {
	runDetectorTests(t, "fr_insee", []detectorTest{
		{"295109912611193", []string{"295109912611193"}},
		{"nir=2 95 10 99 126 111 93;", []string{"2 95 10 99 126 111 93"}},
		{"insee 1841276451089 46", []string{"1841276451089 46"}},
		{`{"nir":"253072A07300443"}`, []string{"253072A07300443"}},
		{"corse 2 53 07 2B 073 004 70", []string{"2 53 07 2B 073 004 70"}},
		{"ssn 185057512345673 and 280017512300474", []string{"185057512345673", "280017512300474"}},
		{"295109912611199 295109912611139", nil},
		// Sex, month and département out of range.
		{"395109912611193 " + govAFRWithKey("2951399126111") + " " + govAFRWithKey("2951000126111"), nil},
		{"253072C07300443 253072a07300443 2530720A07300443", nil},
		{"29510991261119 2951099126111930 x295109912611193 295109912611193x", nil},
		{"1 295109912611193 295109912611193 1 2 95 10 99 126 111 93 4", nil},
		{"2  95 10 99 126 111 93 2-95-10-99-126-111-93", nil},
		{"ts=1732262400123 us=1732262400123456", nil},
		{"", nil},
	})
}

// govAFRWithKey returns the 13 digits of body with their NIR key.
func govAFRWithKey(body string) string { return body + fmt.Sprintf("%02d", govARefNIRKey(body)) }

func TestFindDETaxID(t *testing.T) {
	runDetectorTests(t, "de_tax_id", []detectorTest{
		{"36 574 261 809", []string{"36 574 261 809"}},
		{"idnr=65929970489;", []string{"65929970489"}},
		{"Steuer-ID: 86095742719", []string{"86095742719"}},
		{"Steueridentifikationsnummer 47036892816", []string{"47036892816"}},
		{`{"taxId":"57549285017"}`, []string{"57549285017"}},
		{"tin 25768131411, 12134567895, 12131456787", []string{"25768131411", "12134567895", "12131456787"}},
		{"steuerid 65929970489 (36 574 261 809)", []string{"65929970489", "36 574 261 809"}},
		{"65929970489", nil},
		{"order 65929970489 setting 65929970489 syntax 65929970489", nil},
		{"tax 65929970488 36 574 261 808", nil},
		// Structure: a first 0, no repeated digit, two repeated digits,
		// a digit three times in a row or four times.
		{"tax 02476291358 12345678903 36554266806 11123456786", nil},
		{"tax 11121345679 " + govATaxWithCheck("1211134567"), nil},
		{"tax 365742618090 365 742 618 09 36 574 261 8090 1 36 574 261 809", nil},
		{"tax 36-574-261-809 36.574.261.809", nil},
		{"", nil},
	})
}

// govATaxWithCheck returns the ten digits d with the check digit that
// makes them pass ISO 7064 MOD 11,10.
func govATaxWithCheck(d string) string {
	for c := byte('0'); c <= '9'; c++ {
		if govARefTaxCheck(d + string(c)) {
			return d + string(c)
		}
	}
	panic("no check digit")
}

func TestFindESDNINIE(t *testing.T) {
	runDetectorTests(t, "es_dni_nie", []detectorTest{
		{"12345678Z", []string{"12345678Z"}},
		{"dni=12345678-Z;", []string{"12345678-Z"}},
		{"DNI 12345678 Z.", []string{"12345678 Z"}},
		{"nie X1234567L Y7654321G Z4567890A", []string{"X1234567L", "Y7654321G", "Z4567890A"}},
		{`{"nie":"X-1234567L","dni":"00000000T"}`, []string{"00000000T"}},
		{"87654321X,X1234567-L", []string{"87654321X", "X1234567-L"}},
		{"12345678A 12345678z X1234567A W1234567L", nil},
		{"1234567Z 123456789Z X12345678Z XX1234567L", nil},
		{"x12345678Z 12345678Zx 12345678Z1 12345678Z-a 12345678  Z 12345678--Z", nil},
		{"uuid 12345678-Z1b2-4c3d-8e9f-0a1b2c3d4e5f", nil},
		{"", nil},
	})
}

func TestFindITCodiceFiscale(t *testing.T) {
	runDetectorTests(t, "it_codice_fiscale", []detectorTest{
		{"RSSMRA85T10A562S", []string{"RSSMRA85T10A562S"}},
		{"cf=RSSMRA85T10A562S;", []string{"RSSMRA85T10A562S"}},
		{`{"codiceFiscale":"RCCMNL83S18D969H"}`, []string{"RCCMNL83S18D969H"}},
		{"omocodia RSSMRA85T10A56NH RSSMRA85T10A5RNS", []string{"RSSMRA85T10A56NH", "RSSMRA85T10A5RNS"}},
		{"MRTMTT91D08F205J,RSSMRA85T10A562S", []string{"MRTMTT91D08F205J", "RSSMRA85T10A562S"}},
		{"GET /cf/RSSMRA85T10A562S HTTP/1.1", []string{"RSSMRA85T10A562S"}},
		{"RSSMRA85T10A562T rssmra85t10a562s RSSMRA85T72A562C RSSMRA85F10A562S", nil},
		{"RSSMRA85T10A562 RSSMRA85T10A562SX XRSSMRA85T10A562S 1RSSMRA85T10A562S", nil},
		{"RSSMRA85T10A562S-1 a.RSSMRA85T10A562S", nil},
		{"INFO DEBUG GET WARN ABCDEFGHIJKLMNOP", nil},
		{"", nil},
	})
}

// govAIDs are the detectors of this file's tests.
var govAIDs = []string{"us_ssn", "us_itin", "us_passport", "uk_nino", "uk_nhs", "ca_sin", "fr_insee", "de_tax_id", "es_dni_nie", "it_codice_fiscale"}

// TestGovAGenerated checks that each detector finds every generated value
// after each of its context words, alone on a line, in text and JSON.
func TestGovAGenerated(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, name := range govAIDs {
		d, _ := LookupDetector(name)
		ctx := d.Context
		if len(ctx) == 0 {
			ctx = []string{"value"}
		}
		for i := range 2000 {
			v := positives[name](r)
			k := ctx[i%len(ctx)]
			for _, line := range []string{k + " " + v, k + "=" + v + " next", `{"` + k + `":"` + v + `"}`} {
				if got := findings(d.Find, line); !slices.Equal(got, []string{v}) {
					t.Fatalf("%s in %q: got %q; want [%q]", name, line, got, v)
				}
			}
		}
	}
}

// TestGovARedactTwice checks, over random lines of values, context words,
// separators and noise, that each detector's findings are ordered and that
// redacting a line twice gives what redacting it once does: a replacement
// never lets a value that was left alone stand alone or come within reach
// of a context word.
func TestGovARedactTwice(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	words := []string{"ssn", "social security", "ss#", "itin", "taxpayer", "passport", "nhs", "sin", "social insurance",
		"steuer", "tax", "idnr", "tin", "value", "x", "1", "12", "A", "[REDACTED]", "waiting"}
	seps := []string{" ", "  ", "-", "/", ".", ", ", "=", ":", "", "_", " 1 ", "\"", "a"}
	for range 20000 {
		var b strings.Builder
		for n := r.IntN(12); n >= 0; n-- {
			switch r.IntN(3) {
			case 0:
				b.WriteString(positives[govAIDs[r.IntN(len(govAIDs))]](r))
			case 1:
				b.WriteString(words[r.IntN(len(words))])
			default:
				b.WriteString(strings.Repeat("y", r.IntN(30)))
			}
			b.WriteString(seps[r.IntN(len(seps))])
		}
		line := []byte(b.String())
		for _, name := range govAIDs {
			d, _ := LookupDetector(name)
			prev := 0
			for s, e := d.Find(line, 0); s >= 0; s, e = d.Find(line, e) {
				if s < prev || e <= s || e > len(line) {
					t.Fatalf("%s in %q: got [%d, %d) after %d; want ordered findings", name, line, s, e, prev)
				}
				prev = e
			}
			rep := d.Replacer("[REDACTED]")
			once := replace(rep, line)
			if twice := replace(rep, []byte(once)); twice != once {
				t.Fatalf("%s on %q: got %q once and %q twice; want the same", name, line, once, twice)
			}
		}
	}
}

// TestGovAMasks checks the word-at-a-time byte range tests against the
// byte test for every byte value in every position of the word.
func TestGovAMasks(t *testing.T) {
	masks := []struct {
		lo, hi byte
		mask   func(uint64) uint64
	}{
		{'A', 'Z', govAUpperMask},
		{'0', '9', func(x uint64) uint64 { return RangeMask(x, '0', '9') }},
		{'1', '2', func(x uint64) uint64 { return RangeMask(x, '1', '2') }},
		{'-', '.', func(x uint64) uint64 { return RangeMask(x, '-', '.') }},
		{1, 0x7f, func(x uint64) uint64 { return RangeMask(x, 1, 0x7f) }},
	}
	for _, m := range masks {
		for pos := range 8 {
			for c := range 256 {
				w := []byte("\x00a_~\xff 9z")
				w[pos] = byte(c)
				got := m.mask(uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
					uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56)
				var want uint64
				for k, b := range w {
					if b >= m.lo && b <= m.hi {
						want |= 0x80 << (8 * k)
					}
				}
				if got != want {
					t.Fatalf("[%#x, %#x]: byte %#x at %d: got mask %#x; want %#x", m.lo, m.hi, c, pos, got, want)
				}
			}
		}
	}
	for _, tt := range []struct {
		line string
		from int
		want int
	}{
		{"", 0, 0}, {"abc", 0, 3}, {"abcdefghZ", 0, 8}, {"Abcdefgh", 1, 8}, {"abcdefghijklmnoP", 0, 15}, {"é€ X", 0, 6},
	} {
		if got := govANextUpper([]byte(tt.line), tt.from); got != tt.want {
			t.Errorf("govANextUpper(%q, %d): got %d; want %d", tt.line, tt.from, got, tt.want)
		}
	}
}
