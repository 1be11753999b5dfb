package match

var macAddress = Detector{
	Name:     "mac_address",
	Category: CategoryNetwork,
	Summary:  "MAC address: six hex pairs, or three dotted groups of four",
	Doc: "A 48-bit MAC address, either six pairs of hex digits joined by ':' or by '-' (one kind per " +
		"address, as in 00:1a:2b:3c:4d:5e or 00-1A-2B-3C-4D-5E), or three groups of four hex digits " +
		"joined by '.' (the Cisco form 001a.2b3c.4d5e); either case. It must not be part of a longer " +
		"token: not preceded or followed by a letter or digit, and not continued by ':', '-' or '.' " +
		"and more hex digits on either side (as in the eight pairs of an EUI-64, an IPv6 address, or " +
		"x.001a.2b3c.4d5e). A word that is not all hex digits may stand before it with a separator, " +
		"as in mac:00:1a:2b:3c:4d:5e.",
	Find:   findMAC,
	Lead:   [leadBytes]string{anyHexDigits, anyHexDigits, anyHexDigits + ":-", anyHexDigits},
	AtLead: macLead,
	Examples: []Example{
		{"dhcp ack mac=00:1a:2b:3c:4d:5e ip=10.0.0.7", []string{"00:1a:2b:3c:4d:5e"}},
		{"port 3 learned 00-1A-2B-3C-4D-5E and 001a.2b3c.4d5e", []string{"00-1A-2B-3C-4D-5E", "001a.2b3c.4d5e"}},
		{"at 12:34:56 eui64 00:1a:2b:3c:4d:5e:6f:70 mixed 00:1a-2b:3c:4d:5e", nil},
	},
}

// findMAC finds MAC addresses; see macAddress. An address lies in a run
// of fourteen bytes or more, each a hex digit, ':', '-' or '.', and a run
// that starts in line[i:i+14] holds line[i+13]: it skips fourteen bytes
// when that byte is not of the run.
func findMAC(line []byte, from int) (int, int) {
	const minLen = len("001a.2b3c.4d5e")
	for i := from; i+minLen <= len(line); {
		if !macByte(line[i+minLen-1]) {
			i += minLen
			continue
		}
		r, q := i+minLen-1, i+minLen
		for r > 0 && macByte(line[r-1]) {
			r--
		}
		for q < len(line) && macByte(line[q]) {
			q++
		}
		if q-r >= minLen {
			if s, e := macInRun(line, max(r, from), q); s >= 0 {
				return s, e
			}
		}
		i = q + 1
	}
	return -1, -1
}

// macLead is the AtLead of mac_address: the end of the address that
// starts at line[s], or -1.
func macLead(line []byte, s int) int {
	switch {
	case s+2 < len(line) && (line[s+2] == ':' || line[s+2] == '-') && macPairsAt(line, s):
		return s + len("00:1a:2b:3c:4d:5e")
	case s+4 < len(line) && line[s+4] == '.' && macDottedAt(line, s):
		return s + len("001a.2b3c.4d5e")
	}
	return -1
}

// macInRun finds the first address that starts in the run line[r:q] of hex
// digits and separators, at the separators that follow its first group.
func macInRun(line []byte, r, q int) (int, int) {
	for c := r + 2; c < q; c++ {
		switch line[c] {
		case '.':
			if s := c - 4; s >= r && macDottedAt(line, s) {
				return s, s + 14
			}
		case ':', '-':
			if s := c - 2; s >= r && macPairsAt(line, s) {
				return s, s + 17
			}
		}
	}
	return -1, -1
}

// macByte reports whether c may be part of a MAC address: a hex digit,
// ':', '-' or '.'.
func macByte(c byte) bool { return isHexDigit(c) || c == ':' || c == '-' || c == '.' }

// macPairsAt reports whether six hex pairs joined by line[s+2] (':' or '-')
// start at line[s] and stand alone.
func macPairsAt(line []byte, s int) bool {
	const n = len("00:1a:2b:3c:4d:5e")
	if s+n > len(line) {
		return false
	}
	sep := line[s+2]
	for i := s; i < s+n; i += 3 {
		if !isHexDigit(line[i]) || !isHexDigit(line[i+1]) || i+2 < s+n && line[i+2] != sep {
			return false
		}
	}
	return macBefore(line, s) && macAfter(line, s+n)
}

// macDottedAt reports whether three groups of four hex digits joined by
// '.' start at line[s] and stand alone.
func macDottedAt(line []byte, s int) bool {
	const n = len("001a.2b3c.4d5e")
	if s+n > len(line) || line[s+9] != '.' {
		return false
	}
	for i := s; i < s+n; i += 5 {
		if !isHexDigit(line[i]) || !isHexDigit(line[i+1]) || !isHexDigit(line[i+2]) || !isHexDigit(line[i+3]) {
			return false
		}
	}
	// A dot before it makes it part of a dotted name.
	return (s == 0 || line[s-1] != '.') && macBefore(line, s) && macAfter(line, s+n)
}

// macBefore reports whether what precedes an address at line[s] leaves it
// alone: not a letter or digit, nor a separator (':', '-' or '.') after
// another separator or after a group of hex digits. A word with other
// letters may stand before the separator, as in mac:00:1a:...
func macBefore(line []byte, s int) bool {
	if s == 0 {
		return true
	}
	if isAlnum(line[s-1]) {
		return false
	}
	if !macSep(line[s-1]) || s == 1 {
		return true
	}
	// Look at the token that ends at line[s-2].
	k := s - 2
	if macSep(line[k]) {
		return false
	}
	for k >= 0 && isAlnum(line[k]) {
		if !isHexDigit(line[k]) {
			return true
		}
		k--
	}
	return k == s-2
}

// macAfter reports whether what follows an address that ends at line[e]
// leaves it alone: not a letter or digit, nor a separator followed by one.
// The separators go either way, so that no address glued to another is
// found once the other is redacted.
func macAfter(line []byte, e int) bool {
	if e == len(line) {
		return true
	}
	c := line[e]
	return !isAlnum(c) && !(macSep(c) && e+1 < len(line) && isAlnum(line[e+1]))
}

// macSep reports whether c is a separator of an address: ':', '-' or '.'.
func macSep(c byte) bool { return c == ':' || c == '-' || c == '.' }

// networkByteMask returns x with the top bit of each byte that equals c
// set, and every other bit clear. Per byte v of x^c, (v&0x7f)+0x7f has its
// top bit set when the low seven bits are not all zero, and no byte's sum
// carries into its neighbour, so the test is exact for every byte.
func networkByteMask(x uint64, c byte) uint64 {
	const low7 = 0x7f7f7f7f7f7f7f7f
	v := x ^ 0x0101010101010101*uint64(c)
	return ^(v&low7 + low7 | v | low7)
}
