package match

var cnResidentID = Detector{
	Name:     "cn_resident_id",
	Category: CategoryGovernmentID,
	Summary:  "Chinese resident identity card number with a valid check character",
	Doc: "A Chinese resident identity card number: 17 digits and a check character, 0 to 9 or X " +
		"(upper or lower case), that is the ISO 7064 MOD 11-2 check of the digits (weights " +
		"7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2; the sum modulo 11, 0 to 10, gives 1,0,X,9,8,7,6,5,4,3,2). " +
		"Digits 7 to 14 must be a date of birth YYYYMMDD that exists, from 1900 to 2099. It must not " +
		"touch a letter, digit or '_', nor be joined to one by '.' or '-', nor to a digit by '/'.",
	Checksum: "ISO 7064 MOD 11-2",
	Runs:     1<<17 | 1<<18,
	At:       cnResidentIDAt,
	Examples: []Example{
		{"applicant id_card=11010519491231002X ok", []string{"11010519491231002X"}},
		{`{"sfz":"440308200002291231"}`, []string{"440308200002291231"}},
		{"bad check 110105194912310021, no such day 110105194902310026", nil},
	},
}

// cnResidentIDAt returns the resident identity number that is the run of
// digits line[i:j], or those 17 digits and an X, or -1, -1.
func cnResidentIDAt(line []byte, i, j int) (int, int) {
	e := j
	if j-i == 17 {
		if j == len(line) || line[j]|0x20 != 'x' {
			return -1, -1
		}
		e++
	}
	if !govBBounded(line, i, e, false) || !cnResidentIDValid(line[i:e]) {
		return -1, -1
	}
	return i, e
}

// cnResidentIDValid reports whether the 17 ASCII digits of v are followed
// by their check character and hold a date of birth that exists.
func cnResidentIDValid(v []byte) bool {
	return v[17]&^0x20 == cnResidentIDCheck(v[:17])&^0x20 && govBDate(v[6:14])
}

// cnResidentIDWeights are the ISO 7064 MOD 11-2 weights of the 17 digits,
// 2^(17-k) modulo 11 for the k-th from the left.
var cnResidentIDWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// cnResidentIDCheck returns the check character of the 17 ASCII digits d:
// '0' to '9' or 'X'.
func cnResidentIDCheck(d []byte) byte {
	sum := 0
	for k, c := range d {
		sum += cnResidentIDWeights[k] * int(c-'0')
	}
	return "10X98765432"[sum%11]
}

// govBDate reports whether the 8 ASCII digits d are a date YYYYMMDD that
// exists, from 1900 to 2099.
func govBDate(d []byte) bool {
	year := int(d[0]-'0')*1000 + int(d[1]-'0')*100 + int(d[2]-'0')*10 + int(d[3]-'0')
	month := int(d[4]-'0')*10 + int(d[5]-'0')
	day := int(d[6]-'0')*10 + int(d[7]-'0')
	if year < 1900 || year > 2099 || month < 1 || month > 12 || day < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day <= days
}
