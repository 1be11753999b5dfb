package match

var creditCard = Detector{
	Name:     "credit_card",
	Category: CategoryPayments,
	Summary:  "payment card number of a known issuer that passes the Luhn check",
	Doc: "A payment card number of 13 to 19 digits, written either without separators or in groups " +
		"joined by single spaces or by single dashes (one kind per number), not preceded or followed " +
		"by a letter or digit, nor preceded by + (a phone number). It must pass the Luhn check and fall in the number range and length " +
		"of a known issuer (Visa, Mastercard, American Express, Discover, JCB, Diners Club, UnionPay), " +
		"so that timestamps and other long numbers are left alone.",
	Checksum: "Luhn",
	Find:     findCard,
	Runs:     cardRuns,
	Joined:   cardJoined,
	Joins:    " -",
	At:       cardRunAt,
	Examples: []Example{
		{"card=4111 1111 1111 1111 amount=12.00", []string{"4111 1111 1111 1111"}},
		{"amex 378282246310005, mc 5555-5555-5555-4444", []string{"378282246310005", "5555-5555-5555-4444"}},
		{"ts=1732262400123 order=4111111111111112", nil},
	},
}

const (
	minCardDigits = 13
	maxCardDigits = 19
)

// cardIssuers are the issuer identification number ranges of the card
// networks, with the number lengths each issues. A number belongs to an
// entry if the number formed by its first k digits lies in [lo, hi].
var cardIssuers = [...]struct {
	k, lo, hi int
	lengths   uint32 // bit n is set if n digits is a valid length
}{
	{1, 4, 4, 1<<13 | 1<<16 | 1<<19},     // Visa
	{2, 51, 55, 1 << 16},                 // Mastercard
	{4, 2221, 2720, 1 << 16},             // Mastercard
	{2, 34, 34, 1 << 15},                 // American Express
	{2, 37, 37, 1 << 15},                 // American Express
	{4, 6011, 6011, lengthRange(16, 19)}, // Discover
	{3, 644, 649, lengthRange(16, 19)},   // Discover
	{2, 65, 65, lengthRange(16, 19)},     // Discover
	{4, 3528, 3589, lengthRange(16, 19)}, // JCB
	{3, 300, 305, lengthRange(14, 19)},   // Diners Club
	{2, 36, 36, lengthRange(14, 19)},     // Diners Club
	{2, 38, 39, lengthRange(14, 19)},     // Diners Club
	{2, 62, 62, lengthRange(16, 19)},     // UnionPay
}

// lengthRange returns the set of lengths from min to max digits, in the
// form of cardIssuers.
func lengthRange(min, max int) uint32 {
	return 1<<(max+1) - 1<<min
}

// isCard reports whether digits (values 0-9, not ASCII) form a card number
// of a known issuer that passes the Luhn check.
func isCard(digits []byte) bool {
	return knownIssuer(digits) && luhn(digits)
}

// knownIssuer reports whether digits lie in an entry of cardIssuers with a
// length valid for it. len(digits) is at least minCardDigits.
func knownIssuer(digits []byte) bool {
	var prefix [5]int // prefix[k] is the number formed by the first k digits
	for k := 1; k < len(prefix); k++ {
		prefix[k] = prefix[k-1]*10 + int(digits[k-1])
	}
	for _, iss := range cardIssuers {
		if iss.lengths&(1<<len(digits)) != 0 && prefix[iss.k] >= iss.lo && prefix[iss.k] <= iss.hi {
			return true
		}
	}
	return false
}

// findCard finds card numbers; see detectors. Alone, it skips a chain of
// digit groups too short for a card once, where At would look at each of
// its groups.
func findCard(line []byte, from int) (int, int) {
	for i := nextDigit(line, from); i < len(line); i = nextDigit(line, i) {
		if i > 0 && (isAlnum(line[i-1]) || line[i-1] == '+') {
			// Part of a word such as an identifier or a hex string, or
			// an international phone number.
			for i < len(line) && isDigit(line[i]) {
				i++
			}
			continue
		}
		// i starts a chain of digit groups joined by single separators.
		// Any group of a chain long enough may start a card number; only
		// 2 to 6 start the number range of an issuer.
		end, n := cardChain(line, i)
		for n >= minCardDigits && i < end {
			if c := line[i]; c >= '2' && c <= '6' {
				if e := cardAt(line, i); e > 0 {
					return i, e
				}
			}
			for i < end && isDigit(line[i]) {
				i++
				n--
			}
			i++ // the separator
		}
		i = end
	}
	return -1, -1
}

// cardRuns are the lengths of a card number's first group: 1 to
// maxCardDigits digits.
const cardRuns = 1<<(maxCardDigits+1) - 2

// cardJoined are the lengths of a first group too short to be a number
// alone: 1 to minCardDigits-1 digits, which start one only when a space
// or dash joins them to the next group.
const cardJoined = 1<<minCardDigits - 2

// cardRunAt returns the card number that starts with the run of digits
// line[i:r], or -1, -1. Any group of digits may start one, unless it is
// part of a word, such as an identifier or a hex string, or of an
// international phone number; only 2 to 6 start the number range of an
// issuer.
func cardRunAt(line []byte, i, r int) (int, int) {
	if c := line[i]; c < '2' || c > '6' || i > 0 && (isAlnum(line[i-1]) || line[i-1] == '+') {
		return -1, -1
	}
	if _, n := cardChain(line, i); n < minCardDigits {
		return -1, -1
	}
	if e := cardAt(line, i); e > 0 {
		return i, e
	}
	return -1, -1
}

// cardChain returns the end of the chain of digit groups joined by single
// separators that starts at line[i], and the number of digits in it.
func cardChain(line []byte, i int) (end, digits int) {
	for {
		for i < len(line) && isDigit(line[i]) {
			i++
			digits++
		}
		if i+1 < len(line) && isCardSep(line[i]) && isDigit(line[i+1]) {
			i++
			continue
		}
		return i, digits
	}
}

func isCardSep(c byte) bool { return c == ' ' || c == '-' }

// cardAt returns the end of the longest card number that starts at line[s],
// or -1. The caller has checked what precedes s.
func cardAt(line []byte, s int) int {
	var digits [maxCardDigits]byte
	// ends[n] is where the number ends if it ends after n digits, or 0 if
	// no group ends there.
	var ends [maxCardDigits + 1]int
	n := 0
	var sep byte
	i := s
groups:
	for {
		for i < len(line) && isDigit(line[i]) {
			if n == maxCardDigits {
				break groups // this group makes the number too long
			}
			digits[n] = line[i] - '0'
			n++
			i++
		}
		ends[n] = i
		if i+1 < len(line) && isCardSep(line[i]) && isDigit(line[i+1]) && (sep == 0 || line[i] == sep) {
			sep = line[i]
			i++
			continue
		}
		break
	}
	for n := maxCardDigits; n >= minCardDigits; n-- {
		e := ends[n]
		if e == 0 || e < len(line) && isAlnum(line[e]) {
			continue
		}
		if isCard(digits[:n]) {
			return e
		}
	}
	return -1
}
