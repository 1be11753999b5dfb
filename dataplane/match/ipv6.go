package match

import "bytes"

var ipv6 = Detector{
	Name:     "ipv6",
	Category: CategoryNetwork,
	Summary:  "IPv6 address, full or compressed with ::",
	Doc: "An IPv6 address: groups of one to four hex digits joined by ':', either eight of them, or at " +
		"most seven with exactly one '::' standing for the rest; the last two groups may be written " +
		"as a dotted IPv4 address (::ffff:10.1.2.3). The hex letters are all lower case or all upper " +
		"case. The whole run of hex digits, colons and dots must be the address: clock times such as " +
		"12:34:56 (no '::', fewer than eight groups), MAC addresses (six groups) and runs with two " +
		"'::' are not addresses, and neither is '::' alone. The address must not touch a letter or " +
		"digit on either side; a single ':' before it (ip:fe80::1) and a single ':' or '.' after it " +
		"are taken as punctuation. A zone (%eth0), a port after ']' or a prefix length after '/' is " +
		"left out.",
	Find: findIPv6,
	Examples: []Example{
		{"client 2001:db8::8a2e:370:7334 connected", []string{"2001:db8::8a2e:370:7334"}},
		{"[fe80::1%eth0]:443 from ::ffff:10.1.2.3.", []string{"fe80::1", "::ffff:10.1.2.3"}},
		{"at 12:34:56 mac 00:1a:2b:3c:4d:5e std::vector 1::2::3", nil},
	},
}

// findIPv6 finds IPv6 addresses; see ipv6.
func findIPv6(line []byte, from int) (int, int) {
	for i := from; i < len(line); {
		c := bytes.IndexByte(line[i:], ':')
		if c < 0 {
			break
		}
		c += i
		// Every address has a colon after a hex digit, or a '::'.
		if !(c > from && isHexDigit(line[c-1]) || c+1 < len(line) && line[c+1] == ':') {
			i = c + 1
			continue
		}
		s, e := c, c+1
		for s > from && ipv6Byte(line[s-1]) {
			s--
		}
		for e < len(line) && ipv6Byte(line[e]) {
			e++
		}
		if fs, fe := ipv6Trim(line, s, e); fs >= 0 && ipv6Valid(line[fs:fe]) {
			return fs, fe
		}
		i = e
	}
	return -1, -1
}

// ipv6Trim returns the part of the run line[s:e] of hex digits, colons and
// dots that must be an address, or -1, -1 if the run touches a letter or
// digit: a single ':' that starts it, or ':' or '.' that ends it, is
// punctuation.
func ipv6Trim(line []byte, s, e int) (int, int) {
	if s > 0 && ipv6Byte(line[s-1]) {
		return -1, -1 // the run started before from
	}
	if e < len(line) && isAlnum(line[e]) {
		return -1, -1
	}
	fs, fe := s, e
	if line[s] == ':' && (s+1 == e || line[s+1] != ':') {
		fs++
	} else if s > 0 && isAlnum(line[s-1]) {
		return -1, -1
	}
	if fe > fs && (line[fe-1] == '.' || line[fe-1] == ':' && (fe-1 == fs || line[fe-2] != ':')) {
		fe--
	}
	if fs == fe {
		return -1, -1
	}
	return fs, fe
}

// ipv6Valid reports whether b, made of hex digits, colons and dots, is an
// IPv6 address; see ipv6.
func ipv6Valid(b []byte) bool {
	groups, double := 0, false
	lower, upper := false, false
	i := 0
	if len(b) >= 2 && b[0] == ':' && b[1] == ':' {
		double, i = true, 2
	}
	for i < len(b) {
		j := i
		for ; j < len(b) && isHexDigit(b[j]); j++ {
			if b[j] >= 'a' {
				lower = true
			} else if b[j] >= 'A' {
				upper = true
			}
		}
		if j < len(b) && b[j] == '.' {
			if !ipv6Dotted(b[i:]) {
				return false
			}
			groups += 2
			break
		}
		if j == i || j-i > 4 {
			return false
		}
		groups++
		switch {
		case j == len(b):
			i = j
		case j+1 < len(b) && b[j+1] == ':':
			if double {
				return false
			}
			double, i = true, j+2
		case j+1 == len(b):
			return false // a trailing single ':'
		default:
			i = j + 1
		}
	}
	if lower && upper || groups == 0 {
		return false
	}
	if double {
		return groups <= 7
	}
	return groups == 8
}

// ipv6Dotted reports whether b is exactly four decimal octets 0 to 255 of
// one to three digits, joined by dots.
func ipv6Dotted(b []byte) bool {
	parts := 0
	for i := 0; i <= len(b); i++ {
		j, v := i, 0
		for ; j < len(b) && isDigit(b[j]) && j-i < 3; j++ {
			v = v*10 + int(b[j]-'0')
		}
		if j == i || v > 255 {
			return false
		}
		parts++
		if j == len(b) {
			return parts == 4
		}
		if b[j] != '.' {
			return false
		}
		i = j
	}
	return false
}

// ipv6Byte reports whether c may be part of an IPv6 address: a hex digit,
// ':' or '.'.
func ipv6Byte(c byte) bool { return isHexDigit(c) || c == ':' || c == '.' }
