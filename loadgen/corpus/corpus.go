// Package corpus generates deterministic synthetic log lines for load tests.
//
// Every line starts with the fields a sink needs to measure delivery: the send
// timestamp, the source id and a per-source sequence number. Text lines carry
// them as the prefix `ts=<unix ns> src=<id> seq=<n> `; JSON lines carry them as
// the first fields of an OTel-shaped object: {"ts":<ns>,"src":"<id>","seq":<n>,...}.
//
// A line's content is a pure function of the generator's Config, the source id
// and the sequence number, so runs are reproducible and a Generator may be used
// from many goroutines at once.
package corpus

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
)

// Config describes the mix of lines a Generator produces. Shares are
// probabilities in [0, 1], drawn independently for every line, so a line may
// carry several kinds of PII.
type Config struct {
	// Seed selects the corpus; the same seed, mix and source give the same lines.
	Seed uint64
	// Debug is the share of DEBUG lines.
	Debug float64
	// SSN is the share of lines carrying a US social security number.
	SSN float64
	// Card is the share of lines carrying a Luhn-valid payment card number.
	Card float64
	// Email is the share of lines carrying an email address.
	Email float64
	// JSON is the share of OTel-shaped JSON lines; the rest are key=value text.
	JSON float64
	// Escaped is the share of JSON lines whose strings use JSON escapes as
	// encoders write them and as an attacker may: \u002d for the dashes of
	// an SSN, \u0020 or \u002d between a card's groups, \u0040 for an
	// e-mail's @, \/ in paths and \" around a word of the message. Such
	// a line decodes to the same values as an unescaped one.
	Escaped float64
	// MinSize and MaxSize bound the target line length in bytes (without the
	// newline); the target is drawn uniformly. A line whose mandatory fields
	// are longer than the target is not truncated. Zero values mean 80 and 300.
	MinSize int
	// MaxSize is the upper bound of the target line length; see MinSize.
	MaxSize int
}

// DefaultConfig returns the default mix: 10% DEBUG, 5% SSN, 2% card, 2% email,
// 20% JSON, 80..300 bytes.
func DefaultConfig() Config {
	return Config{Seed: 1, Debug: 0.10, SSN: 0.05, Card: 0.02, Email: 0.02, JSON: 0.20, MinSize: 80, MaxSize: 300}
}

// Validate reports every invalid field at once.
func (c *Config) Validate() error {
	var errs []error
	for _, s := range []struct {
		name string
		v    float64
	}{{"debug", c.Debug}, {"ssn", c.SSN}, {"card", c.Card}, {"email", c.Email}, {"json", c.JSON}, {"escaped", c.Escaped}} {
		if !(s.v >= 0 && s.v <= 1) {
			errs = append(errs, fmt.Errorf("%s share %v outside [0, 1]", s.name, s.v))
		}
	}
	if c.MinSize < 0 || c.MaxSize < 0 {
		errs = append(errs, fmt.Errorf("line sizes must not be negative; got min %d, max %d", c.MinSize, c.MaxSize))
	} else if c.MaxSize != 0 && c.MinSize > c.MaxSize {
		errs = append(errs, fmt.Errorf("min size %d exceeds max size %d", c.MinSize, c.MaxSize))
	}
	return errors.Join(errs...)
}

// Kind is a bit set describing what a generated line contains.
type Kind uint8

// Kind bits.
const (
	KindDebug Kind = 1 << iota
	KindJSON
	KindSSN
	KindCard
	KindEmail
	// KindEscaped marks a JSON line whose strings use escapes.
	KindEscaped
)

// KindPII is the set of kinds that make a line carry PII.
const KindPII = KindSSN | KindCard | KindEmail

// Generator produces lines. It is immutable and safe for concurrent use.
type Generator struct {
	seed                                   uint64
	debug, ssn, card, email, json, escaped uint64 // thresholds on a 32-bit draw
	minSize, span                          int
}

// New returns a Generator for c. Invalid shares are clamped to [0, 1]; call
// Config.Validate first to reject them instead.
func New(c Config) *Generator {
	if c.MinSize == 0 && c.MaxSize == 0 {
		c.MinSize, c.MaxSize = 80, 300
	}
	if c.MaxSize < c.MinSize {
		c.MaxSize = c.MinSize
	}
	return &Generator{
		seed:    c.Seed,
		debug:   threshold(c.Debug),
		ssn:     threshold(c.SSN),
		card:    threshold(c.Card),
		email:   threshold(c.Email),
		json:    threshold(c.JSON),
		escaped: threshold(c.Escaped),
		minSize: c.MinSize,
		span:    c.MaxSize - c.MinSize + 1,
	}
}

func threshold(p float64) uint64 {
	switch {
	case !(p > 0):
		return 0
	case p >= 1:
		return 1 << 32
	}
	return uint64(p * (1 << 32))
}

// AppendLine appends the line for (src, seq) with send timestamp ts (Unix
// nanoseconds) to dst, without a trailing newline, and returns the extended
// buffer. src must not contain spaces, quotes or backslashes.
func (g *Generator) AppendLine(dst []byte, src string, seq uint64, ts int64) []byte {
	dst, _ = g.Append(dst, src, seq, ts)
	return dst
}

// Append is AppendLine that also reports what the line contains.
func (g *Generator) Append(dst []byte, src string, seq uint64, ts int64) ([]byte, Kind) {
	r := rng{s: g.seed ^ hashString(src)*0x9e3779b97f4a7c15 ^ seq*0xbf58476d1ce4e5b9}
	r.next()
	var k Kind
	if r.u32() < g.json {
		k |= KindJSON
	}
	if r.u32() < g.debug {
		k |= KindDebug
	}
	if r.u32() < g.ssn {
		k |= KindSSN
	}
	if r.u32() < g.card {
		k |= KindCard
	}
	if r.u32() < g.email {
		k |= KindEmail
	}
	// Drawn after the others, and only when asked for, so that a corpus
	// without escapes is the same as before they existed.
	if k&KindJSON != 0 && g.escaped != 0 && r.u32() < g.escaped {
		k |= KindEscaped
	}
	target := g.minSize + r.intn(g.span)
	start := len(dst)
	if k&KindJSON != 0 {
		dst = appendJSON(dst, &r, k, src, seq, ts)
	} else {
		dst = appendText(dst, &r, k, src, seq, ts)
	}
	return appendPadding(dst, &r, k&KindJSON != 0, target-(len(dst)-start)), k
}

// appendHead appends the fields every line starts with, its send
// timestamp, source and sequence number, as a text line or, with json, as
// a JSON line writes them.
func appendHead(dst []byte, json bool, src string, seq uint64, ts int64) []byte {
	if json {
		dst = append(dst, `{"ts":`...)
		dst = appendInt(dst, ts)
		dst = append(dst, `,"src":"`...)
		dst = append(dst, src...)
		dst = append(dst, `","seq":`...)
		return appendUint(dst, seq)
	}
	dst = append(dst, "ts="...)
	dst = appendInt(dst, ts)
	dst = append(dst, " src="...)
	dst = append(dst, src...)
	dst = append(dst, " seq="...)
	return appendUint(dst, seq)
}

func appendText(dst []byte, r *rng, k Kind, src string, seq uint64, ts int64) []byte {
	dst = appendHead(dst, false, src, seq, ts)
	dst = append(dst, " level="...)
	svc := pick(r, services)
	if k&KindDebug != 0 {
		dst = append(dst, "DEBUG service="...)
		dst = append(dst, svc.name...)
		dst = append(dst, ` msg="`...)
		dst = append(dst, pick(r, debugMessages)...)
	} else {
		lvl := pick(r, levels)
		dst = append(dst, lvl...)
		dst = append(dst, " service="...)
		dst = append(dst, svc.name...)
		dst = append(dst, ` msg="`...)
		dst = append(dst, pick(r, messages)...)
	}
	dst = append(dst, `" path=`...)
	dst = append(dst, pick(r, svc.paths)...)
	dst = append(dst, " status="...)
	dst = appendUint(dst, uint64(pick(r, statuses)))
	dst = append(dst, " duration_ms="...)
	dst = appendUint(dst, uint64(r.intn(2000)))
	dst = append(dst, " user="...)
	dst = appendLetters(dst, r, 8)
	if k&KindSSN != 0 {
		dst = append(dst, " ssn="...)
		dst = appendSSN(dst, r)
	}
	if k&KindCard != 0 {
		dst = append(dst, " card="...)
		dst = appendCard(dst, r)
	}
	if k&KindEmail != 0 {
		dst = append(dst, " email="...)
		dst = appendEmail(dst, r)
	}
	return dst
}

func appendJSON(dst []byte, r *rng, k Kind, src string, seq uint64, ts int64) []byte {
	dst = appendHead(dst, true, src, seq, ts)
	dst = append(dst, `,"severityText":"`...)
	svc := pick(r, services)
	esc := k&KindEscaped != 0
	if k&KindDebug != 0 {
		dst = append(dst, `DEBUG","body":"DEBUG `...)
		dst = append(dst, pick(r, debugMessages)...)
	} else {
		dst = append(dst, pick(r, levels)...)
		dst = append(dst, `","body":"`...)
		dst = append(dst, pick(r, messages)...)
	}
	if esc {
		dst = append(dst, ` \"`...)
		dst = append(dst, pick(r, words)...)
		dst = append(dst, `\"`...)
	}
	dst = append(dst, `","resource":{"attributes":{"service.name":"`...)
	dst = append(dst, svc.name...)
	dst = append(dst, `"}},"attributes":{"http.target":"`...)
	if esc {
		dst = appendEscaped(dst, pick(r, svc.paths), '/', `\/`)
	} else {
		dst = append(dst, pick(r, svc.paths)...)
	}
	dst = append(dst, `","http.status_code":`...)
	dst = appendUint(dst, uint64(pick(r, statuses)))
	dst = append(dst, `,"duration_ms":`...)
	dst = appendUint(dst, uint64(r.intn(2000)))
	dst = append(dst, `,"user.id":"`...)
	dst = appendLetters(dst, r, 8)
	dst = append(dst, '"')
	if k&KindSSN != 0 {
		dst = append(dst, `,"user.ssn":"`...)
		at := len(dst)
		dst = escapeFrom(appendSSN(dst, r), at, esc)
		dst = append(dst, '"')
	}
	if k&KindCard != 0 {
		dst = append(dst, `,"payment.card":"`...)
		at := len(dst)
		dst = escapeFrom(appendCard(dst, r), at, esc)
		dst = append(dst, '"')
	}
	if k&KindEmail != 0 {
		dst = append(dst, `,"user.email":"`...)
		at := len(dst)
		dst = escapeFrom(appendEmail(dst, r), at, esc)
		dst = append(dst, '"')
	}
	return dst
}

// escapeFrom rewrites, when esc is set, the PII value in dst[start:] with
// its separators as \uXXXX escapes: '-' and ' ' (an SSN's or a card's) and
// '@'.
func escapeFrom(dst []byte, start int, esc bool) []byte {
	if !esc {
		return dst
	}
	var buf [64]byte
	v := append(buf[:0], dst[start:]...)
	dst = dst[:start]
	for _, c := range v {
		switch c {
		case '-':
			dst = append(dst, `\u002d`...)
		case ' ':
			dst = append(dst, `\u0020`...)
		case '@':
			dst = append(dst, `\u0040`...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendEscaped appends s with every c written as esc.
func appendEscaped(dst []byte, s string, c byte, esc string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			dst = append(dst, esc...)
		} else {
			dst = append(dst, s[i])
		}
	}
	return dst
}

// appendPadding closes the line, filling it with lower-case words so that the
// appended part is n bytes long when n allows it.
func appendPadding(dst []byte, r *rng, json bool, n int) []byte {
	open, closing := ` detail="`, `"`
	if json {
		open, closing = `,"detail":"`, `"}}`
	}
	if n < len(open)+len(closing)+1 {
		if json {
			dst = append(dst, "}}"...)
		}
		return dst
	}
	dst = append(dst, open...)
	n -= len(open) + len(closing)
	for n > 0 {
		// A random window of the filler text; a window never starts or
		// ends with a blank.
		k := min(n, len(filler)/2)
		off := r.intn(len(filler) - k)
		for filler[off] == ' ' {
			off++
		}
		dst = append(dst, filler[off:off+k]...)
		if dst[len(dst)-1] == ' ' {
			dst[len(dst)-1] = 's'
		}
		n -= k
		if n > 0 {
			dst = append(dst, ' ')
			n--
		}
	}
	return append(dst, closing...)
}

// filler is the padding text: the words in a fixed pseudo-random order.
var filler = func() string {
	r := rng{s: 42}
	var b []byte
	for len(b) < 8192 {
		b = append(b, pick(&r, words)...)
		b = append(b, ' ')
	}
	return string(b)
}()

// appendSSN appends a valid-looking SSN: area 001..899 except 666, group
// 01..99, serial 0001..9999.
func appendSSN(dst []byte, r *rng) []byte {
	area := 1 + r.intn(899)
	if area == 666 {
		area = 667
	}
	dst = appendDigits(dst, area, 3)
	dst = append(dst, '-')
	dst = appendDigits(dst, 1+r.intn(99), 2)
	dst = append(dst, '-')
	return appendDigits(dst, 1+r.intn(9999), 4)
}

type issuer struct {
	prefix string
	length int
	groups []int
}

var issuers = []issuer{
	{"4", 16, []int{4, 4, 4, 4}},    // Visa
	{"51", 16, []int{4, 4, 4, 4}},   // Mastercard
	{"55", 16, []int{4, 4, 4, 4}},   // Mastercard
	{"2221", 16, []int{4, 4, 4, 4}}, // Mastercard 2-series
	{"34", 15, []int{4, 6, 5}},      // American Express
	{"37", 15, []int{4, 6, 5}},      // American Express
	{"6011", 16, []int{4, 4, 4, 4}}, // Discover
}

// appendCard appends a Luhn-valid card number with a real issuer prefix,
// grouped by spaces, dashes or nothing.
func appendCard(dst []byte, r *rng) []byte {
	is := pick(r, issuers)
	var d [19]byte
	n := copy(d[:], is.prefix)
	for ; n < is.length-1; n++ {
		d[n] = byte('0' + r.intn(10))
	}
	d[n] = '0' + luhnCheck(d[:n])
	sep := [...]byte{' ', '-', 0}[r.intn(3)]
	i := 0
	for gi, g := range is.groups {
		if gi > 0 && sep != 0 {
			dst = append(dst, sep)
		}
		dst = append(dst, d[i:i+g]...)
		i += g
	}
	return dst
}

// luhnCheck returns the check digit that makes payload followed by it
// Luhn-valid.
func luhnCheck(payload []byte) byte {
	sum := 0
	double := true
	for i := len(payload) - 1; i >= 0; i-- {
		v := int(payload[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return byte((10 - sum%10) % 10)
}

func appendEmail(dst []byte, r *rng) []byte {
	dst = append(dst, pick(r, firstNames)...)
	dst = append(dst, '.')
	dst = append(dst, pick(r, lastNames)...)
	dst = append(dst, '@')
	return append(dst, pick(r, domains)...)
}

func appendDigits(dst []byte, v, width int) []byte {
	var b [8]byte
	for i := width - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, b[:width]...)
}

func appendLetters(dst []byte, r *rng, n int) []byte {
	x := r.next()
	for i := 0; i < n; i++ {
		dst = append(dst, byte('a'+x%26))
		x /= 26
	}
	return dst
}

func pick[T any](r *rng, s []T) T { return s[r.intn(len(s))] }

// rng is splitmix64: tiny, fast and good enough for picking words.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (r *rng) u32() uint64 { return r.next() >> 32 }

func (r *rng) intn(n int) int { return int((r.next() >> 32) * uint64(n) >> 32) }

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// digitPairs holds "00" to "99".
const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// pow10 holds 10⁰ to 10¹⁹.
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// decimalLen returns how many decimal digits v has, 1 for 0, without a
// division per digit: log10 from the bit length (1233/4096 is just over
// log10(2)), one too many when v is under the power of ten it gives.
func decimalLen(v uint64) int {
	t := bits.Len64(v|1) * 1233 >> 12
	if v|1 < pow10[t] { // 0 has the digits of 1, and no power of ten is odd but 1
		return t
	}
	return t + 1
}

// appendUint appends v in decimal, as strconv.AppendUint(dst, v, 10)
// does, writing the digits in place: every line takes several numbers,
// and the copy strconv makes of each was a fifth of the sender's time.
func appendUint(dst []byte, v uint64) []byte {
	n := decimalLen(v)
	dst = slices.Grow(dst, n)
	end := len(dst) + n
	dst = dst[:end]
	i := end
	for v >= 100 {
		q := v / 100
		j := 2 * (v - q*100)
		i -= 2
		dst[i], dst[i+1] = digitPairs[j], digitPairs[j+1]
		v = q
	}
	if v >= 10 {
		i -= 2
		dst[i], dst[i+1] = digitPairs[2*v], digitPairs[2*v+1]
	} else {
		i--
		dst[i] = byte('0' + v)
	}
	return dst
}

// appendInt appends v in decimal, as strconv.AppendInt(dst, v, 10) does.
func appendInt(dst []byte, v int64) []byte {
	if v < 0 {
		return appendUint(append(dst, '-'), uint64(-v))
	}
	return appendUint(dst, uint64(v))
}
