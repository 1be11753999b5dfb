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
	Find: findIPv4,
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
		// Scan the whole run of digit groups joined by single dots.
		i = s
		parts, ok := 0, true
		for {
			v, n := 0, 0
			for ; i < len(line) && isDigit(line[i]); i++ {
				if n < 4 {
					v = v*10 + int(line[i]-'0')
				}
				n++
			}
			if n > 3 || v > 255 {
				ok = false
			}
			parts++
			if i+1 < len(line) && line[i] == '.' && isDigit(line[i+1]) {
				i++
				continue
			}
			break
		}
		if !ok || parts != 4 {
			continue
		}
		if s > 0 && (isAlnum(line[s-1]) || line[s-1] == '.') {
			continue
		}
		if i < len(line) && (isAlnum(line[i]) || line[i] == '.' && i+1 < len(line) && isAlnum(line[i+1])) {
			continue
		}
		return s, i
	}
}
