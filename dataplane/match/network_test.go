package match

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// Generators of the network and phone detectors' values, for
// TestPrecisionRecall.
func init() {
	positives["phone_e164"] = networkRandomE164
	positives["phone_nanp"] = networkRandomNANP
	positives["ipv6"] = networkRandomIPv6
	positives["mac_address"] = func(r *rand.Rand) string {
		var b [6]byte
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
		case 1:
			return fmt.Sprintf("%02X-%02X-%02X-%02X-%02X-%02X", b[0], b[1], b[2], b[3], b[4], b[5])
		default:
			return fmt.Sprintf("%02x%02x.%02x%02x.%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5])
		}
	}
	positives["url_credentials"] = func(r *rand.Rand) string {
		schemes := []string{"postgres", "mysql", "redis", "amqp", "mongodb+srv", "https", "ftp", "sftp"}
		users := []string{"app", "admin", "svc-orders", "", "user.name"}
		hosts := []string{"db.internal:5432", "cache", "mq.example.com:5672", "redis-0:6379"}
		paths := []string{"", "/orders", "/0", "/vhost?ssl=true"}
		pw := networkRandom(r, 6+r.IntN(12), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!$*+-._~")
		return schemes[r.IntN(len(schemes))] + "://" + users[r.IntN(len(users))] + ":" + pw + "@" +
			hosts[r.IntN(len(hosts))] + paths[r.IntN(len(paths))]
	}
}

// networkRandom returns n bytes drawn from set.
func networkRandom(r *rand.Rand, n int, set string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

// networkRandomE164 returns an international phone number in one of the
// forms phone_e164 finds.
func networkRandomE164(r *rand.Rand) string {
	plans := []struct {
		cc string
		n  int // digits after the country code
	}{{"1", 10}, {"44", 10}, {"33", 9}, {"49", 11}, {"91", 10}, {"81", 10}, {"61", 9}, {"55", 11}, {"7", 10}, {"86", 11}, {"353", 9}, {"971", 9}}
	p := plans[r.IntN(len(plans))]
	sub := strconv.Itoa(2+r.IntN(8)) + networkRandom(r, p.n-1, "0123456789")
	// Three groups, as 3-3-3, 3-3-4 or 3-4-4.
	k := (p.n - 3) / 2
	groups := []string{sub[:3], sub[3 : 3+k], sub[3+k:]}
	switch r.IntN(5) {
	case 0:
		return "+" + p.cc + sub
	case 1:
		return "+" + p.cc + " " + strings.Join(groups, " ")
	case 2:
		return "+" + p.cc + "-" + strings.Join(groups, "-")
	case 3:
		return "+" + p.cc + "." + strings.Join(groups, ".")
	default:
		return "+" + p.cc + " (" + groups[0] + ") " + strings.Join(groups[1:], "-")
	}
}

// networkRandomNANP returns a North American number in one of the forms
// phone_nanp finds: with separators, or without after a keyword.
func networkRandomNANP(r *rand.Rand) string {
	var area, exch string
	for {
		area = strconv.Itoa(200 + r.IntN(800))
		if area[1] != '9' && area[1:] != "11" {
			break
		}
	}
	for {
		exch = strconv.Itoa(200 + r.IntN(800))
		if exch[1:] != "11" {
			break
		}
	}
	num := fmt.Sprintf("%04d", r.IntN(10000))
	forms := []string{
		"(" + area + ") " + exch + "-" + num,
		area + "-" + exch + "-" + num,
		area + "." + exch + "." + num,
		"+1 " + area + "-" + exch + "-" + num,
		"1-" + area + "-" + exch + "-" + num,
		"+1 (" + area + ") " + exch + "-" + num,
		area + exch + num,
		"+1" + area + exch + num,
	}
	return forms[r.IntN(len(forms))]
}

// networkRandomIPv6 returns an IPv6 address, full or compressed, in lower
// or upper case, sometimes with an IPv4 tail.
func networkRandomIPv6(r *rand.Rand) string {
	n := 8
	tail := ""
	if r.IntN(6) == 0 {
		n = 6
		tail = fmt.Sprintf("%d.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256))
	}
	groups := make([]string, n)
	for i := range groups {
		groups[i] = strconv.FormatUint(uint64(r.IntN(1<<(4*(1+r.IntN(4))))), 16)
	}
	var s string
	if r.IntN(2) == 0 {
		s = strings.Join(groups, ":")
		if tail != "" {
			s += ":" + tail
		}
	} else {
		// Leave out a run of one or more groups for '::'.
		i := r.IntN(n)
		j := i + 1 + r.IntN(n-i)
		if i == 0 && j == n {
			j-- // keep a group: '::' alone is no finding
		}
		left, right := strings.Join(groups[:i], ":"), strings.Join(groups[j:], ":")
		if tail != "" {
			if right != "" {
				right += ":"
			}
			right += tail
		}
		s = left + "::" + right
	}
	if r.IntN(4) == 0 {
		s = strings.ToUpper(s)
	}
	return s
}

func TestFindPhoneE164(t *testing.T) {
	runDetectorTests(t, "phone_e164", []detectorTest{
		{"+14155552671", []string{"+14155552671"}},
		{"to=+14155552671&x=1", []string{"+14155552671"}},
		{`{"phone":"+447911123456"}`, []string{"+447911123456"}},
		{"call +44 20 7946 0958 now", []string{"+44 20 7946 0958"}},
		{"+1-415-555-2671", []string{"+1-415-555-2671"}},
		{"+1.415.555.2671", []string{"+1.415.555.2671"}},
		{"+1 (415) 555-2671", []string{"+1 (415) 555-2671"}},
		{"+1(415)555-2671", []string{"+1(415)555-2671"}},
		{"+44 (0)20 7946 0958", []string{"+44 (0)20 7946 0958"}},
		{"+33 6 12 34 56 78", []string{"+33 6 12 34 56 78"}},
		{"+49 30 901820", []string{"+49 30 901820"}},
		{"(+4930901820)", []string{"+4930901820"}},
		{"+123456789012345", []string{"+123456789012345"}},
		{"a: +12345678, b: +86 138 0013 8000.", []string{"+12345678", "+86 138 0013 8000"}},
		// A group that would make the number too long, or that has one
		// digit, after a space is a number of its own.
		{"+44 20 7946 0958 2024", []string{"+44 20 7946 0958"}},
		{"+44 20 7946 0958 1", []string{"+44 20 7946 0958"}},
		{"+14155552671 (mobile)", []string{"+14155552671"}},
		{"+14155552671(mobile)", []string{"+14155552671"}},
		// Numbers glued to one another: neither.
		{"+14155552671+14155552672", nil},
		{"+14155552671(415)555-2671", nil},

		{"+1234567", nil},
		{"+1234567890123456", nil},
		{"+0442079460958", nil},
		{"+ 14155552671", nil},
		{"a+14155552671", nil},
		{"9+14155552671", nil},
		{"+14155552671x", nil},
		{"+14155552671-5", nil},
		{"+14155552671.5", nil},
		{"+33.6.12.34.56.78", nil},
		{"+1 415 555 2671-1", nil},
		{"v+1.2.3.4.5.6.7.8 +1.2.3.4.5.6.7.8", nil},
		{"+44 20 7946 0958-2024-11", nil},
		{"+44  20 7946 0958", nil},
		{"tz=+05:30 +0200 +01:00", nil},
		{"ts=2024-11-22T05:27:33+05:30", nil},
		{"", nil},
	})
}

func TestFindPhoneNANP(t *testing.T) {
	runDetectorTests(t, "phone_nanp", []detectorTest{
		{"(415) 555-2671", []string{"(415) 555-2671"}},
		{"(415)555-2671", []string{"(415)555-2671"}},
		{"(415) 555 2671", []string{"(415) 555 2671"}},
		{"(415) 5552671", []string{"(415) 5552671"}},
		{"415-555-2671", []string{"415-555-2671"}},
		{"415.555.2671", []string{"415.555.2671"}},
		{"1-800-555-0199", []string{"1-800-555-0199"}},
		{"+1 415-555-2671", []string{"+1 415-555-2671"}},
		{"+1.415.555.2671", []string{"+1.415.555.2671"}},
		{"+1 (415) 555-2671", []string{"+1 (415) 555-2671"}},
		{"1(415)555-2671", []string{"1(415)555-2671"}},
		{`{"to":"212-555-0123"}`, []string{"212-555-0123"}},
		{"tel=212-555-0123;ext=12", []string{"212-555-0123"}},
		{"a 212-555-0123, b 646.555.0199.", []string{"212-555-0123", "646.555.0199"}},
		{"phone 2125550123", []string{"2125550123"}},
		{"Phone: 12125550123", []string{"12125550123"}},
		{"mobilePhone=+12125550123", []string{"+12125550123"}},
		{"cell_number 2125550123", []string{"2125550123"}},
		{"MSISDN 12125550123", []string{"12125550123"}},
		{"fax:2125550123", []string{"2125550123"}},
		{"callerId=2125550123", []string{"2125550123"}},
		{"phones: 212-555-0101, (212) 555-0102, 2125550103, 2125550104", []string{"212-555-0101", "(212) 555-0102", "2125550103", "2125550104"}},
		{"phone: 2125550101 and then on and on we go for a while, 2125550102", []string{"2125550101"}},

		{"2125550123", nil},
		{"id 2125550123", nil},
		{"hotel 2125550123", nil},
		{"phone ts=1732262400", nil},
		{"phone 1732262400123", nil},
		{"phone 02125550123", nil},
		{"+12125550123 needs no keyword", []string{"+12125550123"}},
		{"12125550123", nil},
		{"115-555-2671", nil},
		{"015-555-2671", nil},
		{"911-555-2671", nil},
		{"415-155-2671", nil},
		{"415-911-2671", nil},
		{"495-555-2671", nil},
		{"415-555.2671", nil},
		{"415-555-26710", nil},
		{"4415-555-2671", nil},
		{"x415-555-2671", nil},
		{"415-555-2671x", nil},
		{"12-415-555-2671", nil},
		{"415-555-2671-12", nil},
		{"1.415.555.2671.5", nil},
		{"+44 415-555-2671", []string{"415-555-2671"}},
		{"+415-555-2671", nil},
		{"(415 555-2671", nil},
		{"(200)2000000(200)2000000", nil},
		{"212-555-0123+12125550124", nil},
		{"212-555-0123(212)555-0124", nil},
		{"date 2024-11-22 ssn 123-45-6789 ip 10.212.555.1", nil},
		{"", nil},
	})
}

func TestFindIPv6(t *testing.T) {
	runDetectorTests(t, "ipv6", []detectorTest{
		{"2001:0db8:85a3:0000:0000:8a2e:0370:7334", []string{"2001:0db8:85a3:0000:0000:8a2e:0370:7334"}},
		{"2001:DB8:85A3:0:0:8A2E:370:7334", []string{"2001:DB8:85A3:0:0:8A2E:370:7334"}},
		{"client=2001:db8::1 port=443", []string{"2001:db8::1"}},
		{"::1", []string{"::1"}},
		{"fe80::", []string{"fe80::"}},
		{"[fe80::1ff:fe23:4567:890a]:8080", []string{"fe80::1ff:fe23:4567:890a"}},
		{"fe80::1%eth0", []string{"fe80::1"}},
		{"net 2001:db8::/32", []string{"2001:db8::"}},
		{"::ffff:192.0.2.128", []string{"::ffff:192.0.2.128"}},
		{"64:ff9b::192.0.2.33", []string{"64:ff9b::192.0.2.33"}},
		{"0:0:0:0:0:ffff:192.0.2.1", []string{"0:0:0:0:0:ffff:192.0.2.1"}},
		{"1:2:3:4:5:6:7::", []string{"1:2:3:4:5:6:7::"}},
		{"ip:2001:db8::1", []string{"2001:db8::1"}},
		{"from 2001:db8::1: refused", []string{"2001:db8::1"}},
		{"from 2001:db8::1.", []string{"2001:db8::1"}},
		{`{"ip":"2001:db8::2","peer":"2001:db8::3"}`, []string{"2001:db8::2", "2001:db8::3"}},
		{"1:2:3:4:5:6:7:8", []string{"1:2:3:4:5:6:7:8"}},

		{"12:34:56", nil},
		{"2024-11-22T05:27:33.123Z", nil},
		{"at 05:27:33.123 took 1:02", nil},
		{"00:1a:2b:3c:4d:5e", nil},
		{"1:2:3:4:5:6:7", nil},
		{"1:2:3:4:5:6:7:8:9", nil},
		{"1:2:3:4:5:6:7:8::", nil},
		{"1::2:3:4:5:6:7:8", nil},
		{"1::2::3", nil},
		{":::", nil},
		{"listen [::]:80", nil},
		{"2001:db8::12345", nil},
		{"2001:db8::g", nil},
		{"x2001:db8::1", nil},
		{"2001:db8::1x", nil},
		{"2001:Db8::1", nil},
		{"std::vector<int> Foo::Bar Abc::Def", nil},
		// Both sides hex, one case: the form of an address such as fe80::1.
		{"a::b", []string{"a::b"}},
		{"::ffff:1.2.3", nil},
		{"::ffff:1.2.3.256", nil},
		{"::ffff:1.2.3.4.5", nil},
		{"1.2.3.4::1", nil},
		{"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", nil},
		{"", nil},
	})
}

func TestFindMAC(t *testing.T) {
	runDetectorTests(t, "mac_address", []detectorTest{
		{"00:1a:2b:3c:4d:5e", []string{"00:1a:2b:3c:4d:5e"}},
		{"00:1A:2B:3C:4D:5E", []string{"00:1A:2B:3C:4D:5E"}},
		{"00-1a-2b-3c-4d-5e", []string{"00-1a-2b-3c-4d-5e"}},
		{"001a.2b3c.4d5e", []string{"001a.2b3c.4d5e"}},
		{"mac=00:1a:2b:3c:4d:5e,", []string{"00:1a:2b:3c:4d:5e"}},
		{"mac:00:1a:2b:3c:4d:5e", []string{"00:1a:2b:3c:4d:5e"}},
		{"hw addr: 00:1a:2b:3c:4d:5e.", []string{"00:1a:2b:3c:4d:5e"}},
		{`{"mac":"aa:bb:cc:dd:ee:ff"}`, []string{"aa:bb:cc:dd:ee:ff"}},
		{"a 00:1a:2b:3c:4d:5e b 00-1a-2b-3c-4d-5f c 001a.2b3c.4d60", []string{"00:1a:2b:3c:4d:5e", "00-1a-2b-3c-4d-5f", "001a.2b3c.4d60"}},
		{"ether 00:1a:2b:3c:4d:5e:", []string{"00:1a:2b:3c:4d:5e"}},
		{"id-00-1a-2b-3c-4d-5e", []string{"00-1a-2b-3c-4d-5e"}},
		// Addresses glued by another separator: neither, nor after a
		// redaction of one.
		{"00:1a:2b:3c:4d:5e-00-1a-2b-3c-4d-5f", nil},
		{"001a.2b3c.4d5e:00:1a:2b:3c:4d:5f", nil},
		{"[REDACTED]-00-1a-2b-3c-4d-5f", []string{"00-1a-2b-3c-4d-5f"}},

		{"00:1a:2b:3c:4d", nil},
		{"00:1a:2b:3c:4d:5e:6f", nil},
		{"00:1a:2b:3c:4d:5e:6f:70", nil},
		{"ff:00:1a:2b:3c:4d:5e", nil},
		{"fe80::00:1a:2b:3c:4d:5e", nil},
		{"00:1a-2b:3c:4d:5e", nil},
		{"00:1a:2b:3c:4d:5g", nil},
		{"000:1a:2b:3c:4d:5e", nil},
		{"00:1a:2b:3c:4d:5e0", nil},
		{"x00:1a:2b:3c:4d:5e", nil},
		{"001a.2b3c.4d5e.6f70", nil},
		{"x.001a.2b3c.4d5e", nil},
		{"001a.2b3c.4d5", nil},
		{"12:34:56 2024-11-22 10.0.0.1", nil},
		{"uuid 123e4567-e89b-12d3-a456-426614174000", nil},
		{"", nil},
	})
}

func TestFindURLCredentials(t *testing.T) {
	runDetectorTests(t, "url_credentials", []detectorTest{
		{"postgres://app:s3cr3t@db:5432/orders", []string{"s3cr3t"}},
		{"redis://:hunter2@cache:6379", []string{"hunter2"}},
		{"amqp://guest:secret@localhost", []string{"secret"}},
		{"https://user:p%40ss@example.com/path?q=1", []string{"p%40ss"}},
		{"mongodb+srv://admin:pa:ss@cluster0.example.net/db", []string{"pa:ss"}},
		{"ftp://u:p@ss@host/file", []string{"p@ss"}},
		{"jdbc:mysql://root:toor@127.0.0.1:3306/db", []string{"toor"}},
		{`{"dsn":"postgres://app:s3cr3t@db/orders"}`, []string{"s3cr3t"}},
		{`{"dsn":"postgres:\/\/app:s3cr3t@db\/orders"}`, []string{"s3cr3t"}},
		{"a=http://u:one@h1 b=http://v:two@h2", []string{"one", "two"}},
		{"proxy http://u:pw@[::1]:3128", []string{"pw"}},
		{"'ssh://git:tok@host/repo.git'", []string{"tok"}},

		{"ssh://git@github.com/org/repo.git", nil},
		{"https://example.com/a:b@c", nil},
		{"https://example.com?x=a:b@c", nil},
		{"https://example.com#a:b@c", nil},
		{"https://u:@host", nil},
		{"mailto:user:x@example.com", nil},
		{"user:pass@host", nil},
		{"://u:p@host", nil},
		{"1http://u:p@host", nil},
		{"http:/u:p@host", nil},
		{"http://u:p ss@host", nil},
		{`"http://u:p"@host`, nil},
		{"contact bob@example.com, time 12:30", nil},
		{"", nil},
	})
}

// networkRefIPv6 reports whether s is an IPv6 address as ipv6 means it,
// with net/netip: what netip parses as IPv6 without a zone, except '::'
// alone and hex letters of both cases. IPv4 tails with leading zeros,
// which netip refuses, are left out by the caller.
func networkRefIPv6(s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Zone() != "" || s == "::" {
		return false
	}
	return !(strings.ContainsAny(s, "abcdef") && strings.ContainsAny(s, "ABCDEF"))
}

// FuzzNetworkIPv6 compares ipv6Valid with net/netip on strings of hex
// digits, colons and dots.
func FuzzNetworkIPv6(f *testing.F) {
	for _, s := range []string{"2001:db8::1", "::", "::1", "1:2:3:4:5:6:7:8", "::ffff:1.2.3.4", "1::2::3", "12:34:56", "fe80::A", "1:2:3:4:5:6:7::", "::1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" || len(s) > 64 {
			return
		}
		for i := range len(s) {
			if !ipv6Byte(s[i]) {
				return
			}
		}
		if i := strings.LastIndexByte(s, ':'); strings.Contains(s[i+1:], ".") {
			for _, o := range strings.Split(s[i+1:], ".") {
				if len(o) > 1 && o[0] == '0' {
					return // netip refuses leading zeros in an IPv4 tail
				}
			}
		}
		if got, want := ipv6Valid([]byte(s)), networkRefIPv6(s); got != want {
			t.Fatalf("ipv6Valid(%q): got %v; want %v", s, got, want)
		}
	})
}

// TestNetworkByteMask checks the word-at-a-time byte test against a
// comparison, for every byte value in every position and a few targets.
func TestNetworkByteMask(t *testing.T) {
	for _, target := range []byte{0, ':', '-', '.', 'b', 0x80, 0xff} {
		for pos := range 8 {
			for c := range 256 {
				var x uint64
				for i := 7; i >= 0; i-- {
					b := byte(target + 1)
					if i == pos {
						b = byte(c)
					}
					x = x<<8 | uint64(b)
				}
				var want uint64
				if byte(c) == target {
					want = 0x80 << (8 * pos)
				}
				if got := networkByteMask(x, target); got != want {
					t.Fatalf("byte %#x at %d, target %#x: got mask %#x; want %#x", c, pos, target, got, want)
				}
			}
		}
	}
}
