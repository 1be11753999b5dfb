package match

import "bytes"

var slackWebhook = Detector{
	Name:     "slack_webhook",
	Category: CategorySecrets,
	Summary:  "Slack incoming webhook URL (hooks.slack.com/services/...)",
	Doc: "A Slack incoming webhook URL: hooks.slack.com/services/T<team>/B<hook>/<secret>, where team " +
		"and hook are upper-case letters and digits and the secret is 24 letters and digits, not " +
		"followed by a letter or digit. The finding is the whole URL, from https:// or http:// when it " +
		"is there (which must not follow a letter or digit), else from the host (which must not follow " +
		"a letter, digit, '.' or '-'). A '/' may be written \\/ as JSON encoders may escape it.",
	Find:   findSlackWebhook,
	Lead:   [leadBytes]string{"h", "ot", "ot", "pk"},
	AtLead: slackWebhookLead,
	Examples: []Example{
		{"notify url=https://hooks.slack.com/services/T00000000/B00000000/FAKEexampleSECRET0000000 ok", []string{"https://hooks.slack.com/services/T00000000/B00000000/FAKEexampleSECRET0000000"}},
		{`{"webhook":"https:\/\/hooks.slack.com\/services\/T00000000\/B00000000\/FAKEexampleSECRET0000000"}`, []string{`https:\/\/hooks.slack.com\/services\/T00000000\/B00000000\/FAKEexampleSECRET0000000`}},
		{"https://hooks.slack.com/services/T00000000/B00000000/FAKEshort https://api.slack.com/apps", nil},
	},
}

var (
	slackHost     = []byte("hooks.slack.com")
	slackServices = []byte("services")
	// slackSchemes are what may stand before the host, longest first.
	slackSchemes = [...][]byte{[]byte(`https:\/\/`), []byte(`http:\/\/`), []byte("https://"), []byte("http://")}
)

// slackSecretLen is the length of a webhook's secret.
const slackSecretLen = 24

// findSlackWebhook finds Slack webhook URLs; see slackWebhook.
// It looks for the host from its 'k' on, rarer in logs than 'h': each 'h'
// of a line would cost a search of its own.
func findSlackWebhook(line []byte, from int) (int, int) {
	const k = len("hoo")
	for i := from + k; i <= len(line); {
		j := bytes.Index(line[i:], slackHost[k:])
		if j < 0 {
			return -1, -1
		}
		h := i + j - k
		if !bytes.Equal(line[h:h+k], slackHost[:k]) {
			i = h + k + 1
			continue
		}
		if e := slackWebhookPath(line, h+len(slackHost)); e > 0 {
			if s := slackWebhookStart(line, from, h); s >= 0 {
				return s, e
			}
		}
		i = h + k + 1
	}
	return -1, -1
}

// slackWebhookStart returns where the URL whose host starts at line[h]
// starts: at its scheme if it has one, else at h; -1 if what it starts
// with does not stand alone. A scheme before from, in an earlier finding,
// leaves the host: so the finding does not depend on from, as a set's
// walk over tokens needs (slackWebhookLead).
func slackWebhookStart(line []byte, from, h int) int {
	if s := slackScheme(line, h); s >= 0 {
		switch {
		case s > 0 && isAlnum(line[s-1]):
			return -1
		case s < from:
			return h
		}
		return s
	}
	if h > 0 && (isAlnum(line[h-1]) || line[h-1] == '.' || line[h-1] == '-') {
		return -1
	}
	return h
}

// slackScheme returns where the scheme that stands right before the host
// at line[h] starts, or -1 if none does.
func slackScheme(line []byte, h int) int {
	for _, sch := range slackSchemes {
		if s := h - len(sch); s >= 0 && bytes.Equal(line[s:h], sch) {
			return s
		}
	}
	return -1
}

// slackWebhookLead is the AtLead of slack_webhook: the end of the URL
// that starts at line[t], from its scheme or its host, or -1. A set's
// walk over the tokens of a line meets a URL's scheme before its host, so
// it reaches a host with a scheme before it only when the scheme lies
// before from, where Find takes the URL from the host as well.
func slackWebhookLead(line []byte, t int) int {
	// Most tokens that start like a URL are neither "hooks." nor a
	// scheme: "http.target", "https", "hookup".
	if t > 0 && isAlnum(line[t-1]) || t+5 >= len(line) || line[t+4] != ':' && line[t+4] != 's' {
		return -1
	}
	h := t
	for _, sch := range slackSchemes {
		if bytes.HasPrefix(line[t:], sch) {
			h = t + len(sch)
			break
		}
	}
	if h == t && slackWebhookStart(line, t, h) < 0 {
		return -1
	}
	if !bytes.HasPrefix(line[h:], slackHost) {
		return -1
	}
	return slackWebhookPath(line, h+len(slackHost))
}

// slackWebhookPath returns the end of the path /services/T.../B.../secret
// that starts at line[i], or -1.
func slackWebhookPath(line []byte, i int) int {
	if i = slackSlash(line, i); i < 0 || !bytes.HasPrefix(line[i:], slackServices) {
		return -1
	}
	i += len(slackServices)
	for _, id := range [...]byte{'T', 'B'} {
		if i = slackSlash(line, i); i < 0 || i == len(line) || line[i] != id {
			return -1
		}
		e := secretsRun(line, i+1, slackIsIDByte)
		if e == i+1 {
			return -1
		}
		i = e
	}
	if i = slackSlash(line, i); i < 0 {
		return -1
	}
	if e := secretsRun(line, i, isAlnum); e-i == slackSecretLen {
		return e
	}
	return -1
}

// slackSlash returns the index after the '/' or "\/" at line[i], or -1.
func slackSlash(line []byte, i int) int {
	if w := secretsSlash(line, i); w > 0 {
		return i + w
	}
	return -1
}

// slackIsIDByte reports whether c may be in a team or hook ID: an
// upper-case letter or a digit.
func slackIsIDByte(c byte) bool { return c-'A' < 26 || isDigit(c) }
