package match

var usITIN = Detector{
	Name:     "us_itin",
	Category: CategoryGovernmentID,
	Summary:  "US Individual Taxpayer Identification Number: 9xx-xx-xxxx in the IRS's group ranges",
	Doc: "A US Individual Taxpayer Identification Number written ddd-dd-dddd or ddd dd dddd (one kind " +
		"of separator per number), or as nine digits together when a context word (itin, taxpayer) " +
		"stands before it. The first digit is 9 and the group (fourth and fifth digits) is in 50 to 65, " +
		"70 to 88, 90 to 92 or 94 to 99, the ranges the IRS issues ITINs in. " + govABoundsDoc + " " +
		contextDoc,
	Context: usITINContext,
	Runs:    1<<3 | 1<<9,
	Joined:  1 << 3,
	Joins:   "- ",
	At:      usITINAt,
	Examples: []Example{
		{"itin=912-70-1234 filed", []string{"912-70-1234"}},
		{"taxpayer id 987654321 and 900 94 5678", []string{"987654321", "900 94 5678"}},
		{"ref 912701234 itin 900-89-1234 912-93-1234 123-45-6789", nil},
	},
}

var usITINContext = []string{"itin", "taxpayer"}

// usITINAt returns the ITIN that starts with the run of digits at line[i],
// or -1, -1.
func usITINAt(line []byte, i, r int) (int, int) {
	if line[i] != '9' || r-i == 3 && !govASepAt(line, r, "- ") {
		return -1, -1
	}
	e, sep, area, group, _ := govAUSNumber(line, i)
	if e < 0 || area < 900 || !usITINGroup(group) || sep == 0 && !hasContext(line, i, usITINContext) {
		return -1, -1
	}
	return i, e
}

// usITINGroup reports whether g, the fourth and fifth digits, is in a
// range the IRS issues ITINs in.
func usITINGroup(g int) bool {
	return g >= 50 && g <= 65 || g >= 70 && g <= 88 || g >= 90 && g <= 92 || g >= 94 && g <= 99
}
