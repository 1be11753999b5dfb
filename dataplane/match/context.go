package match

// Categories of detectors.
const (
	CategoryPayments     = "payments"
	CategoryGovernmentID = "government_id"
	CategoryContact      = "contact"
	CategoryNetwork      = "network"
	CategorySecrets      = "secrets"
)

// contextWindow is how far before a finding its context keyword may stand.
const contextWindow = 32

// hasContext reports whether one of words, lower-case ASCII, stands in the
// contextWindow bytes before line[start], compared without case.
func hasContext(line []byte, start int, words []string) bool {
	w := line[max(0, start-contextWindow):start]
	for _, k := range words {
		if indexFold(w, []byte(k)) >= 0 {
			return true
		}
	}
	return false
}
