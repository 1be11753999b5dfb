package match

import "bytes"

var slackToken = Detector{
	Name:     "slack_token",
	Category: CategorySecrets,
	Summary:  "Slack API token (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xoxe-)",
	Doc: "A Slack token: xoxb- (bot), xoxp- (user), xoxa- (app), xoxr- (refresh), xoxs- (session) or " +
		"xoxe- (rotating) followed by groups of letters and digits joined by single dashes, the first " +
		"group all digits, at least two groups and at least 10 characters after the prefix, as in " +
		"xoxb-<team>-<bot>-<secret>, xoxp-<team>-<user>-<id>-<secret> or xoxe-1-<secret>. Not preceded " +
		"by a letter or digit. The token ends with its last group: a dash after it is punctuation. The " +
		"xoxe. before a configuration token (xoxe.xoxp-1-...) is part of the finding.",
	Find:   findSlackToken,
	Lead:   [leadBytes]string{"x", "o", "x", "abeprs"},
	AtLead: slackTokenLead,
	Examples: []Example{
		{"SLACK_BOT_TOKEN=xoxb-0000000000-0000000000000-FAKEexampleTOKEN00000000", []string{"xoxb-0000000000-0000000000000-FAKEexampleTOKEN00000000"}},
		{"refresh=xoxe.xoxp-1-FAKEexampleTOKENforDOCS0000", []string{"xoxe.xoxp-1-FAKEexampleTOKENforDOCS0000"}},
		{"xoxb-FAKE-0000000000 xoxb-12-345 xoxo-0000000000-FAKE", nil},
	},
}

var (
	slackPrefix = []byte("xox")
	slackConfig = []byte("xoxe.")
)

// slackMinBody is the fewest characters after the prefix.
const slackMinBody = 10

// findSlackToken finds Slack tokens; see slackToken.
func findSlackToken(line []byte, from int) (int, int) {
	s, e := secretsFind(line, from, slackPrefix, slackTokenAt)
	if c := s - len(slackConfig); c >= from && bytes.Equal(line[c:s], slackConfig) && (c == 0 || !isAlnum(line[c-1])) {
		s = c
	}
	return s, e
}

// slackTokenLead is the AtLead of slack_token: the end of the token that
// starts at line[s], or -1.
func slackTokenLead(line []byte, s int) int {
	if t := s + len(slackConfig); bytes.HasPrefix(line[s:], slackConfig) && bytes.HasPrefix(line[t:], slackPrefix) {
		if e := slackTokenAt(line, t); e > 0 {
			return e
		}
	}
	if !bytes.HasPrefix(line[s:], slackPrefix) {
		return -1
	}
	return slackTokenAt(line, s)
}

// slackTokenAt returns the end of the Slack token that starts at line[s],
// or -1.
func slackTokenAt(line []byte, s int) int {
	b := s + len("xoxb-")
	if b > len(line) || line[b-1] != '-' || s > 0 && isAlnum(line[s-1]) {
		return -1
	}
	switch line[s+3] {
	case 'b', 'p', 'a', 'r', 's', 'e':
	default:
		return -1
	}
	// Groups of letters and digits joined by single dashes.
	e := secretsRun(line, b, isDigit)
	if e == b || e < len(line) && isAlnum(line[e]) {
		return -1 // the first group is not all digits
	}
	groups := 1
	for e+1 < len(line) && line[e] == '-' && isAlnum(line[e+1]) {
		e = secretsRun(line, e+1, isAlnum)
		groups++
	}
	if groups < 2 || e-b < slackMinBody {
		return -1
	}
	return e
}
