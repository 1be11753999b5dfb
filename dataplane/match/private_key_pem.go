package match

import "bytes"

var privateKeyPEM = Detector{
	Name:     "private_key_pem",
	Category: CategorySecrets,
	Summary:  "PEM private key block, from BEGIN to END",
	Doc: "A PEM private key: from -----BEGIN <type>PRIVATE KEY----- to the first -----END <type>PRIVATE " +
		"KEY----- with the same type after it, whatever stands between: real line breaks, or \\n written " +
		"as two characters, as logs carry them. The type is empty or one word of upper-case letters and " +
		"digits and a space: RSA, EC, DSA, OPENSSH and ENCRYPTED keys and plain PKCS #8 PRIVATE KEY " +
		"blocks are all found. A key holds no '\"', so the block ends at the end of the line or at the " +
		"first '\"' (a backslash escaping it left out), whichever comes first: when the END line is " +
		"missing there, as in a truncated line, the finding runs to that end, since a truncated key is " +
		"still a key.",
	Find:     findPrivateKeyPEM,
	Prefix:   string(pemBegin),
	AtPrefix: privateKeyPEMAt,
	Examples: []Example{
		{`key="-----BEGIN RSA PRIVATE KEY-----\nMIIEFAKEkeyFORdocs\n-----END RSA PRIVATE KEY-----\n" user=bob`, []string{`-----BEGIN RSA PRIVATE KEY-----\nMIIEFAKEkeyFORdocs\n-----END RSA PRIVATE KEY-----`}},
		{`truncated -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEFAKE`, []string{`-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEFAKE`}},
		{"-----BEGIN PUBLIC KEY-----\\nMIIBFAKE\\n-----END PUBLIC KEY----- -----BEGIN CERTIFICATE-----", nil},
	},
}

var (
	pemBegin = []byte("-----BEGIN ")
	pemEnd   = []byte("-----END ")
	pemKey   = []byte("PRIVATE KEY-----")
)

// privateKeyPEMAt returns the end of the private key block that starts at
// line[s], or -1.
func privateKeyPEMAt(line []byte, s int) int {
	t := s + len(pemBegin) // the type
	p := t
	if !bytes.HasPrefix(line[t:], pemKey) {
		for p < len(line) && (line[p]-'A' < 26 || isDigit(line[p])) {
			p++
		}
		if p == t || p == len(line) || line[p] != ' ' || !bytes.HasPrefix(line[p+1:], pemKey) {
			return -1
		}
		p++
	}
	label := line[t : p+len(pemKey)] // "RSA PRIVATE KEY-----"
	h := p + len(pemKey)
	scope := len(line)
	if q := bytes.IndexByte(line[h:], '"'); q >= 0 {
		scope = h + q
	}
	for i := h; ; {
		j := bytes.Index(line[i:scope], pemEnd)
		if j < 0 {
			break
		}
		l := i + j + len(pemEnd)
		if bytes.HasPrefix(line[l:scope], label) {
			return l + len(label)
		}
		i = l
	}
	if scope < len(line) && line[scope-1] == '\\' {
		scope--
	}
	return scope
}

// findPrivateKeyPEM is AtPrefix at each place of the prefix, found by its
// BEGIN: the dashes before it are common in logs, and each would cost a
// search of its own.
func findPrivateKeyPEM(line []byte, from int) (int, int) {
	return secretsFindAnchored(line, from, pemBegin, len("-----"), privateKeyPEMAt)
}
