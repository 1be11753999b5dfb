package match

var awsSecretAccessKey = Detector{
	Name:     "aws_secret_access_key",
	Category: CategorySecrets,
	Summary:  "AWS secret access key: 40 base64 characters named by a context word",
	Doc: "An AWS secret access key: 40 characters of the base64 alphabet [A-Za-z0-9/+] (a key is 30 " +
		"random bytes in base64, so it has no '=' padding), not preceded by one of them nor followed by " +
		"one of them or '='; a '/' may be written \\/ as JSON encoders may escape it. The finding is the 40 " +
		"characters alone, and only with context, always required. " + pairContextDoc,
	Context: awsSecretContext,
	Find:    findAWSSecretAccessKey,
	Examples: []Example{
		{"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", []string{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}},
		{`{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}`, []string{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}},
		{"sha=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY aws_secret=short", nil},
	},
}

// awsSecretContext are the context words of awsSecretAccessKey. Each
// longer spelling, such as aws_secret_access_key, holds one of them.
var awsSecretContext = []string{"aws_secret", "aws secret", "secret_access_key", "secretaccesskey"}

// awsSecretLen is the length of a secret access key.
const awsSecretLen = 40

// awsSecretBytes are the bytes a key may be written with: the base64
// alphabet, and '\\' for the escape \/.
var awsSecretBytes = newSecretsByteSet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/\\")

// findAWSSecretAccessKey finds AWS secret access keys; see
// awsSecretAccessKey. It skips to runs of at least 40 bytes that a key may
// be written with, then splits them at backslashes that escape no '/'.
func findAWSSecretAccessKey(line []byte, from int) (int, int) {
	for i := from; ; {
		rs, re := secretsNextRun(line, i, awsSecretLen, awsSecretBytes)
		if rs < 0 {
			return -1, -1
		}
		for s := rs; s < re; {
			e, n := awsSecretRun(line, s, re)
			if n == awsSecretLen && (s == 0 || !secretsIsB64(line[s-1])) && (e == len(line) || line[e] != '=') &&
				pairContext(line, s, from, awsSecretContext) {
				return s, e
			}
			s = e + 1 // past the backslash that ended the run
		}
		i = re
	}
}

// awsSecretRun returns the end of the run of base64 characters that
// starts at line[s] and ends by re at the latest, with \/ as one
// character, and the number of characters in it.
func awsSecretRun(line []byte, s, re int) (end, chars int) {
	i := s
	for i < re {
		if w := secretsSlash(line, i); w > 0 {
			i += w
		} else if secretsIsB64(line[i]) {
			i++
		} else {
			break
		}
		chars++
	}
	return i, chars
}
