package match

import "bytes"

var phoneE164 = Detector{
	Name:     "phone_e164",
	Category: CategoryContact,
	Summary:  "international phone number written +<country code> and 8 to 15 digits",
	Doc: "A phone number in international form: '+', then 8 to 15 digits of which the first, starting " +
		"the country calling code, is 1 to 9. The digits may be grouped, groups joined by a single " +
		"space, '-' or '.', and one group after the first may stand in parentheses, with or without a " +
		"separator around it (+1 (415) 555-2671, +44 (0)20 7946 0958). Groups after the first have at " +
		"least two digits, except a second group after a space or in parentheses (+33 6 12 34 56 78), " +
		"so version strings such as +1.2.3.4.5.6.7.8 are left alone. The '+' must not follow a letter " +
		"or digit, and the number must not be followed by a letter or digit, nor by '-', '.', '(' or " +
		"'+' and a digit. A further group after a space that would make the number longer than 15 digits, or " +
		"that has one digit where two are needed, is left out (+44 20 7946 0958 2024 ends at 0958); " +
		"joined by '-' or '.', it spoils the number.",
	Find: findPhoneE164,
	Examples: []Example{
		{"sms to=+14155552671 status=queued", []string{"+14155552671"}},
		{"call +44 20 7946 0958 or +1 (415) 555-2671.", []string{"+44 20 7946 0958", "+1 (415) 555-2671"}},
		{"tz=+05:30 offset=+0200 v=+1.2.3.4.5.6.7.8 a+14155552671 +1234567", nil},
	},
}

const (
	minE164Digits = 8
	maxE164Digits = 15
)

// findPhoneE164 finds international phone numbers; see phoneE164.
func findPhoneE164(line []byte, from int) (int, int) {
	for i := from; i < len(line); {
		p := bytes.IndexByte(line[i:], '+')
		if p < 0 {
			break
		}
		p += i
		if p+1 < len(line) && line[p+1]-'1' < 9 && (p == 0 || !isAlnum(line[p-1])) {
			if e := e164At(line, p); e > 0 {
				return p, e
			}
		}
		i = p + 1
	}
	return -1, -1
}

// e164At returns the end of the phone number whose '+' is line[p], or -1.
// The caller has checked what precedes p and that a digit 1 to 9 follows.
func e164At(line []byte, p int) int {
	digits, groups, end := 0, 0, -1
	paren := false // whether a group stood in parentheses
	for i := p + 1; ; {
		// line[i] starts a group: digits, or digits in parentheses.
		g, e := e164Group(line, i, groups > 0 && !paren)
		if g == 0 {
			break
		}
		if digits+g > maxE164Digits || groups > 0 && g < 2 && !(groups == 1 && (line[i-1] == ' ' || line[i] == '(')) {
			if groups > 0 && line[i-1] == ' ' {
				break // a number of its own after a space
			}
			return -1
		}
		paren = paren || line[i] == '('
		digits += g
		groups++
		end = e
		// A single separator may join the next group; a group in
		// parentheses may touch its neighbours.
		if e < len(line) && networkPhoneSep(line[e]) {
			e++
		}
		if e == len(line) || !isDigit(line[e]) && (line[e] != '(' || paren) {
			break
		}
		i = e
	}
	if digits < minE164Digits || !networkPhoneEnd(line, end) {
		return -1
	}
	return end
}

// e164Group returns the number of digits of the group that starts at
// line[i], and where it ends: a run of digits or, if paren, digits in
// parentheses. It returns 0, i if there is no group.
func e164Group(line []byte, i int, paren bool) (int, int) {
	open := paren && i < len(line) && line[i] == '('
	j := i
	if open {
		j++
	}
	s := j
	for j < len(line) && isDigit(line[j]) {
		j++
	}
	if j == s {
		return 0, i
	}
	if open {
		if j == len(line) || line[j] != ')' {
			return 0, i
		}
		j++
	}
	return j - s, j
}

// networkPhoneSep reports whether c may join the groups of a phone number.
func networkPhoneSep(c byte) bool { return c == ' ' || c == '-' || c == '.' }

// networkPhoneEnd reports whether a phone number may end at line[e]: not
// before a letter or digit, nor before '-', '.', '(' or '+' and a digit,
// which would glue it to a number that may start there once it is
// redacted.
func networkPhoneEnd(line []byte, e int) bool {
	if e == len(line) {
		return true
	}
	switch c := line[e]; {
	case isAlnum(c):
		return false
	case c == '-' || c == '.' || c == '(' || c == '+':
		return e+1 == len(line) || !isDigit(line[e+1])
	}
	return true
}
