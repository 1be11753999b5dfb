package match

import "bytes"

var awsAccessKeyID = Detector{
	Name:     "aws_access_key_id",
	Category: CategorySecrets,
	Summary:  "AWS access key ID, such as AKIA followed by 16 characters",
	Doc: "An AWS access key ID: one of the prefixes AKIA, ASIA, ABIA, ACCA, AGPA, AIDA, AIPA, ANPA, " +
		"ANVA, AROA, APKA or ASCA followed by 16 characters of the base32 alphabet [A-Z2-7], 20 in all, " +
		"not preceded or followed by a letter or digit. The ID alone grants nothing without its secret, " +
		"but names the account and the user or role it belongs to.",
	Find:   findAWSAccessKeyID,
	Lead:   [leadBytes]string{"A", "BCGIKNPRS", "CDIKOPV", "A"}, // isAWSKeyIDPrefix's
	AtLead: awsAccessKeyIDLead,
	Examples: []Example{
		{"aws_access_key_id=AKIAIOSFODNN7EXAMPLE region=us-east-1", []string{"AKIAIOSFODNN7EXAMPLE"}},
		{`{"AccessKeyId":"ASIAIOSFODNN7EXAMPLE"}`, []string{"ASIAIOSFODNN7EXAMPLE"}},
		{"id=AKIAIOSFODNN7EXAMPL1 XAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLE2", nil},
	},
}

// awsKeyIDLen is the length of an access key ID, prefix included.
const awsKeyIDLen = 20

// findAWSAccessKeyID finds AWS access key IDs; see awsAccessKeyID. Every
// prefix starts with 'A'.
func findAWSAccessKeyID(line []byte, from int) (int, int) {
	for i := from; i+awsKeyIDLen <= len(line); {
		j := bytes.IndexByte(line[i:len(line)-awsKeyIDLen+1], 'A')
		if j < 0 {
			break
		}
		s := i + j
		e := s + awsKeyIDLen
		if isAWSKeyIDPrefix(line[s:s+4]) && secretsAll(line[s+4:e], isAWSBase32) && secretsBounded(line, s, e, isAlnum) {
			return s, e
		}
		i = s + 1
	}
	return -1, -1
}

// awsAccessKeyIDLead is the AtLead of aws_access_key_id: the end of the
// key ID that starts at line[s], or -1.
func awsAccessKeyIDLead(line []byte, s int) int {
	e := s + awsKeyIDLen
	if e <= len(line) && isAWSKeyIDPrefix(line[s:s+4]) && secretsAll(line[s+4:e], isAWSBase32) && secretsBounded(line, s, e, isAlnum) {
		return e
	}
	return -1
}

// isAWSKeyIDPrefix reports whether p, four bytes, is the prefix of an
// access key ID.
func isAWSKeyIDPrefix(p []byte) bool {
	switch string(p) {
	case "AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA", "APKA", "ASCA":
		return true
	}
	return false
}

// isAWSBase32 reports whether c is of the base32 alphabet [A-Z2-7].
func isAWSBase32(c byte) bool { return c-'A' < 26 || c-'2' < 6 }
