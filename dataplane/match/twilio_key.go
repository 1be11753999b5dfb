package match

import "bytes"

var twilioKey = Detector{
	Name:     "twilio_key",
	Category: CategorySecrets,
	Summary:  "Twilio API key SID (SK...), and account SID (AC...) after the word twilio",
	Doc: "A Twilio API key SID: SK followed by 32 lower-case hexadecimal digits [0-9a-f], not preceded " +
		"or followed by a letter or digit; it is always a finding. A Twilio account SID, AC and 32 such " +
		"digits, is a finding only with the context word twilio, since AC and 32 hex digits is a common " +
		"shape. " + pairContextDoc,
	Context: twilioContext,
	Find:    findTwilioKey,
	Examples: []Example{
		{"twilio api_key=SK0123456789abcdef0123456789abcdef", []string{"SK0123456789abcdef0123456789abcdef"}},
		{"POST https://api.twilio.com/2010-04-01/Accounts/ACdeadbeefdeadbeefdeadbeefdeadbeef/Messages.json", []string{"ACdeadbeefdeadbeefdeadbeefdeadbeef"}},
		{"sid=ACdeadbeefdeadbeefdeadbeefdeadbeef key=SK0123456789ABCDEF0123456789ABCDEF TASK0123456789abcdef0123456789abcdef", nil},
	},
}

// twilioContext are the context words of an account SID.
var twilioContext = []string{"twilio"}

var (
	twilioKeyPrefix     = []byte("SK")
	twilioAccountPrefix = []byte("AC")
)

// twilioSIDLen is the length of a SID, prefix included.
const twilioSIDLen = 34

// findTwilioKey finds Twilio API key SIDs, and account SIDs with context;
// see twilioKey.
func findTwilioKey(line []byte, from int) (int, int) {
	sk := twilioIndex(line, from, twilioKeyPrefix)
	ac := twilioIndex(line, from, twilioAccountPrefix)
	for sk >= 0 || ac >= 0 {
		if ac < 0 || sk >= 0 && sk < ac {
			if twilioSIDAt(line, sk) {
				return sk, sk + twilioSIDLen
			}
			sk = twilioIndex(line, sk+1, twilioKeyPrefix)
			continue
		}
		if twilioSIDAt(line, ac) && pairContext(line, ac, from, twilioContext) {
			return ac, ac + twilioSIDLen
		}
		ac = twilioIndex(line, ac+1, twilioAccountPrefix)
	}
	return -1, -1
}

// twilioIndex returns the index of the first prefix at or after i in
// line, or -1.
func twilioIndex(line []byte, i int, prefix []byte) int {
	if i >= len(line) {
		return -1
	}
	j := bytes.Index(line[i:], prefix)
	if j < 0 {
		return -1
	}
	return i + j
}

// twilioSIDAt reports whether a SID starts at line[s], its prefix checked.
func twilioSIDAt(line []byte, s int) bool {
	e := s + twilioSIDLen
	return e <= len(line) && secretsAll(line[s+2:e], secretsIsHexLower) && secretsBounded(line, s, e, isAlnum)
}
