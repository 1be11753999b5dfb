package match

import "bytes"

var ipv4 = Detector{
	Name:     "ipv4",
	Category: CategoryNetwork,
	Summary:  "IPv4 address in dotted decimal",
	Doc: "Four decimal octets 0 to 255 of one to three digits, separated by dots. The run of digits " +
		"and dots must be exactly those four parts: version strings and OIDs such as 10.0.0.1.2 or " +
		"1.3.6.1.4.1 are not addresses. The address must not touch a letter or digit, nor a dot on its " +
		"left or a dot followed by a letter or digit on its right (as in host.10.0.0.1 or " +
		"10.0.0.1.example); a sentence-ending dot is fine.",
	Find:   findIPv4,
	Lead:   [leadBytes]string{decimalDigits, decimalDigits + ".", decimalDigits + ".", decimalDigits + "."},
	AtLead: ipv4Lead,
	Examples: []Example{
		{"client=10.1.2.3 port=443", []string{"10.1.2.3"}},
		{"from 192.168.1.10:8080.", []string{"192.168.1.10"}},
		{"version 10.0.0.1.2 oid 1.3.6.1.4.1 256.1.1.1", nil},
	},
}

// findIPv4 finds IPv4 addresses; see detectors.
func findIPv4(line []byte, from int) (int, int) {
	for i := from; ; {
		// Every address has a dot after its first group of digits.
		d := bytes.IndexByte(line[i:], '.')
		if d < 0 {
			return -1, -1
		}
		dot := i + d
		s := dot
		for s > i && isDigit(line[s-1]) {
			s--
		}
		if s == dot || dot+1 == len(line) || !isDigit(line[dot+1]) {
			i = dot + 1
			continue
		}
		e, ok := ipv4Parse(line, s)
		if ok && ipv4Bounded(line, s, e) {
			return s, e
		}
		i = e
	}
}

// ipv4Lead is the AtLead of ipv4: the end of the address that starts at
// line[s], or -1.
func ipv4Lead(line []byte, s int) int {
	// The first octet, one to three digits, ends at a dot: numbers such
	// as 2024 or 10042 are no address.
	if s+leadBytes > len(line) || line[s+1] != '.' && line[s+2] != '.' && line[s+3] != '.' {
		return -1
	}
	if e, ok := ipv4Parse(line, s); ok && ipv4Bounded(line, s, e) {
		return e
	}
	return -1
}

// ipv4Parse reads the run of groups of digits joined by single dots that
// starts at line[s], and returns its end and whether it is four octets.
func ipv4Parse(line []byte, s int) (e int, ok bool) {
	i, parts, ok := s, 0, true
	for {
		v, n := 0, 0
		for ; i < len(line) && isDigit(line[i]); i++ {
			if n < 4 {
				v = v*10 + int(line[i]-'0')
			}
			n++
		}
		if n == 0 || n > 3 || v > 255 {
			ok = false
		}
		parts++
		if i+1 < len(line) && line[i] == '.' && isDigit(line[i+1]) {
			i++
			continue
		}
		return i, ok && parts == 4
	}
}

// ipv4Bounded reports whether the address line[s:e] stands alone: no
// letter, digit or dot on its left, and no letter or digit on its right,
// nor a dot followed by one.
func ipv4Bounded(line []byte, s, e int) bool {
	if s > 0 && (isAlnum(line[s-1]) || line[s-1] == '.') {
		return false
	}
	return e == len(line) || !isAlnum(line[e]) && !(line[e] == '.' && e+1 < len(line) && isAlnum(line[e+1]))
}
