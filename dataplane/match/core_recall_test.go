package match

import (
	"fmt"
	"math/rand/v2"
)

// Generators of the first four detectors' values, for TestPrecisionRecall.
func init() {
	positives["ssn"] = func(r *rand.Rand) string {
		return fmt.Sprintf("%03d-%02d-%04d", r.IntN(1000), r.IntN(100), r.IntN(10000))
	}
	positives["credit_card"] = func(r *rand.Rand) string {
		prefixes := []string{"4", "51", "55", "2221", "34", "37", "6011", "65", "3530", "36", "62"}
		lengths := map[string]int{"34": 15, "37": 15, "36": 14}
		p := prefixes[r.IntN(len(prefixes))]
		n := 16
		if l, ok := lengths[p]; ok {
			n = l
		}
		d := []byte(p)
		for len(d) < n-1 {
			d = append(d, byte('0'+r.IntN(10)))
		}
		d = append(d, luhnDigit(d))
		switch r.IntN(3) {
		case 0:
			return string(d)
		case 1:
			return group(d, ' ')
		default:
			return group(d, '-')
		}
	}
	positives["email"] = func(r *rand.Rand) string {
		names := []string{"john.doe", "a.b+tag", "x_y", "maria", "ops-team"}
		domains := []string{"example.com", "mail.example.co.uk", "corp.io", "b.org"}
		return fmt.Sprintf("%s%d@%s", names[r.IntN(len(names))], r.IntN(100), domains[r.IntN(len(domains))])
	}
	positives["ipv4"] = func(r *rand.Rand) string {
		return fmt.Sprintf("%d.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256))
	}
}

// luhnDigit is the check digit that makes the digits d Luhn-valid.
func luhnDigit(d []byte) byte {
	sum := 0
	for i := range d {
		v := int(d[len(d)-1-i] - '0')
		if i%2 == 0 {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return byte('0' + (10-sum%10)%10)
}

// group writes d in groups of 4 digits joined by sep.
func group(d []byte, sep byte) string {
	var b []byte
	for i, c := range d {
		if i > 0 && i%4 == 0 {
			b = append(b, sep)
		}
		b = append(b, c)
	}
	return string(b)
}
