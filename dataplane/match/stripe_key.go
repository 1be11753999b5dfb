package match

import "bytes"

var stripeKey = Detector{
	Name:     "stripe_key",
	Category: CategorySecrets,
	Summary:  "Stripe secret or restricted API key (sk_live_, rk_test_...)",
	Doc: "A Stripe secret (sk_) or restricted (rk_) API key, live or test: sk_live_, sk_test_, rk_live_ " +
		"or rk_test_ followed by at least 24 letters and digits, not preceded or followed by a letter, " +
		"digit or '_'. Publishable keys (pk_) are left alone: Stripe means them to be public, shipped in " +
		"web pages, and they grant no access to an account.",
	Find:   findStripeKey,
	Lead:   [leadBytes]string{"rs", "k", "_", "lt"},
	AtLead: stripeKeyLead,
	Examples: []Example{
		{"stripe.api_key=sk_live_FAKEkeyFORdocsONLY00000000 charge ok", []string{"sk_live_FAKEkeyFORdocsONLY00000000"}},
		{`{"key":"rk_test_FAKEkeyFORdocsONLY00000000"}`, []string{"rk_test_FAKEkeyFORdocsONLY00000000"}},
		{"pk_live_FAKEkeyFORdocsONLY00000000 sk_live_FAKEshort task_test_FAKEkeyFORdocsONLY00000000", nil},
	},
}

var (
	stripeAnchor = []byte("k_")
	stripeLive   = []byte("live_")
	stripeTest   = []byte("test_")
)

// stripeMinKey is the fewest characters after the prefix.
const stripeMinKey = 24

// findStripeKey finds Stripe keys; see stripeKey. Every prefix holds k_.
func findStripeKey(line []byte, from int) (int, int) {
	s, e := secretsFind(line, max(from+1, 1), stripeAnchor, stripeKeyAt)
	if s < 0 {
		return -1, -1
	}
	return s - 1, e
}

// stripeKeyLead is the AtLead of stripe_key: the end of the key that
// starts at line[s], or -1.
func stripeKeyLead(line []byte, s int) int {
	if s+3 > len(line) || line[s+1] != 'k' || line[s+2] != '_' {
		return -1
	}
	return stripeKeyAt(line, s+1)
}

// stripeKeyAt returns the end of the Stripe key whose "k_" stands at
// line[k], or -1.
func stripeKeyAt(line []byte, k int) int {
	s := k - 1
	if c := line[s]; c != 's' && c != 'r' || s > 0 && secretsIsWord(line[s-1]) {
		return -1
	}
	m := k + len(stripeAnchor)
	if !bytes.HasPrefix(line[m:], stripeLive) && !bytes.HasPrefix(line[m:], stripeTest) {
		return -1
	}
	b := m + len(stripeLive)
	e := secretsRun(line, b, isAlnum)
	if e-b < stripeMinKey || e < len(line) && line[e] == '_' {
		return -1
	}
	return e
}
