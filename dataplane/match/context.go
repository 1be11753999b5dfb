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
// Each family of detectors counts it as its own Doc says.
const contextWindow = 32

// luhn reports whether the digit values d (0 to 9, not ASCII) pass the Luhn
// check.
func luhn(d []byte) bool {
	sum := 0
	for k := range d {
		v := int(d[len(d)-1-k])
		if k%2 == 1 {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}
