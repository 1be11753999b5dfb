package match

import (
	"encoding/binary"
	"math/bits"
)

var swiftBIC = Detector{
	Name:     "swift_bic",
	Category: CategoryPayments,
	Summary:  "SWIFT/BIC bank identifier code next to a banking keyword",
	Doc: "A business identifier code (ISO 9362) of 8 or 11 upper-case characters: four letters for the " +
		"bank, two letters that are an ISO 3166-1 country code (or XK, Kosovo), two letters or digits " +
		"for the location and, optionally, three letters or digits for the branch. It must not be " +
		"preceded or followed by a letter or digit. Since upper-case words and identifiers take the " +
		"same form, a keyword is always required: swift, bic or bank must start a word within 32 " +
		"bytes before the code, not counting the bytes of other codes (so one keyword serves a list), " +
		"compared without case. A word starts after a byte that is not a letter, or at an upper-case " +
		"letter after a lower-case one: public does not count.",
	Context: bicContext,
	Find:    findBIC,
	Lead:    [leadBytes]string{upperLetters, upperLetters, upperLetters, upperLetters},
	AtLead:  bicLead,
	Examples: []Example{
		{"swift=DEUTDEFF500 beneficiary=ACME", []string{"DEUTDEFF500"}},
		{"Bank: Barclays, BIC NWBKGB2L", []string{"NWBKGB2L"}},
		{"bic DEUTXXFF (no such country), BANKCODES", nil},
		{"status DEUTDEFF500 without a keyword", nil},
	},
}

// bicContext are the keywords of which one must precede a BIC.
var bicContext = []string{"swift", "bic", "bank"}

// bicCountryCodes are the ISO 3166-1 alpha-2 country codes, and XK.
const bicCountryCodes = "" +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
	"DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
	"HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY " +
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA " +
	"RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ " +
	"VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW"

// bicCountries holds, at (first letter)*26 + second letter, whether the
// upper-case pair is a code of bicCountryCodes.
var bicCountries = func() (t [26 * 26]bool) {
	for i := 0; i+1 < len(bicCountryCodes); i += 3 {
		t[int(bicCountryCodes[i]-'A')*26+int(bicCountryCodes[i+1]-'A')] = true
	}
	return t
}()

// findBIC finds BICs; see swiftBIC. It looks for a keyword first, then for
// a code in the bytes that follow it.
func findBIC(line []byte, from int) (int, int) {
	// A keyword that serves a code at or after from starts in the window
	// of from, or after it.
	for i := bicWindow(line, from); ; {
		k, n := bicKeyword(line, i)
		if k < 0 {
			return -1, -1
		}
		// Codes after the keyword cost nothing; other bytes count.
		for t, counted := k+n, 0; t+8 <= len(line) && counted <= contextWindow; {
			if line[t]-'A' < 26 && (t == 0 || !isAlnum(line[t-1])) {
				if e := bicAt(line, t); e > 0 {
					if t >= from && contextIn(line, bicWindow(line, t), t, bicContext) {
						return t, e
					}
					t = e
					continue
				}
			}
			t++
			counted++
		}
		i = k + n
	}
}

// bicLead is the AtLead of swift_bic: the end of the code that starts the
// token at line[t], or -1. The walk of a set meets far fewer codes than
// findBIC meets keywords, so it looks for the keyword second.
func bicLead(line []byte, t int) int {
	if t > 0 && isAlnum(line[t-1]) {
		return -1
	}
	if e := bicAt(line, t); e > 0 && contextIn(line, bicWindow(line, t), t, bicContext) {
		return e
	}
	return -1
}

// bicWindow returns where the context window of a code at line[t] begins:
// contextWindow bytes before it, not counting the bytes of other codes.
// So one keyword serves a list of codes, and a code redacted before
// another, having fewer bytes that count than its replacement, never
// brings a keyword within reach on a second pass.
func bicWindow(line []byte, t int) int {
	const maxBIC = 11
	k := t
	for n := 0; k > 0 && n < contextWindow; {
		if !isAlnum(line[k-1]) {
			k--
			n++
			continue
		}
		ts := k - 1
		for ts > 0 && ts > k-maxBIC-1 && isAlnum(line[ts-1]) {
			ts--
		}
		if (ts == 0 || !isAlnum(line[ts-1])) && bicAt(line, ts) == k {
			k = ts // a code: free
			continue
		}
		for ; k > 0 && isAlnum(line[k-1]) && n < contextWindow; k-- {
			n++
		}
	}
	return k
}

// bicKeyword returns the start and length of the first keyword of
// bicContext that starts a word at or after line[i], or -1, 0.
func bicKeyword(line []byte, i int) (int, int) {
	for p := bicNextTrigger(line, i); p < len(line); p = bicNextTrigger(line, p+1) {
		k, n := p, 0
		switch {
		case line[p]|0x20 == 'w':
			// The w of swift: the keyword started one byte earlier.
			if k--; k >= i && k+5 <= len(line) && equalFold(line[k:k+5], "swift") {
				n = 5
			}
		case p+3 <= len(line) && equalFold(line[p:p+3], "bic"):
			n = 3
		case p+4 <= len(line) && equalFold(line[p:p+4], "bank"):
			n = 4
		}
		if n > 0 && wordStart(line, k) {
			return k, n
		}
	}
	return -1, 0
}

// bicNextTrigger returns the index of the first b or w, either case, of
// line at or after i, or len(line): the b of bic and bank, the w of swift.
// It looks at eight bytes at a time.
func bicNextTrigger(line []byte, i int) int {
	const fold = 0x2020202020202020
	for ; i+8 <= len(line); i += 8 {
		x := binary.LittleEndian.Uint64(line[i:]) | fold
		if m := networkByteMask(x, 'b') | networkByteMask(x, 'w'); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(line); i++ {
		if c := line[i] | 0x20; c == 'b' || c == 'w' {
			return i
		}
	}
	return len(line)
}

// bicAt returns the end of the BIC that starts at line[t], or -1. The
// caller has checked what precedes t.
func bicAt(line []byte, t int) int {
	if t+8 > len(line) {
		return -1
	}
	for _, c := range line[t : t+6] {
		if c-'A' >= 26 {
			return -1
		}
	}
	if !bicCountries[int(line[t+4]-'A')*26+int(line[t+5]-'A')] || !paymentsUpperAlnum(line[t+6]) || !paymentsUpperAlnum(line[t+7]) {
		return -1
	}
	e := t + 8
	if e+3 <= len(line) && paymentsUpperAlnum(line[e]) && paymentsUpperAlnum(line[e+1]) && paymentsUpperAlnum(line[e+2]) {
		e += 3
	}
	if e < len(line) && isAlnum(line[e]) {
		return -1
	}
	return e
}

// paymentsUpperAlnum reports whether c is a digit or an upper-case letter.
func paymentsUpperAlnum(c byte) bool { return isDigit(c) || c-'A' < 26 }
