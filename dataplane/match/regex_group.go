package match

// Group returns the text of the n-th capture group of the leftmost match of
// r in line, and whether r matches with that group taking part.
func (r *Regex) Group(line []byte, n int) ([]byte, bool) {
	if !r.mayMatch(line) {
		return nil, false
	}
	loc := r.re.FindSubmatchIndex(line)
	if 2*n+1 >= len(loc) || loc[2*n] < 0 {
		return nil, false
	}
	return line[loc[2*n]:loc[2*n+1]], true
}

// Groups is the number of capture groups of r.
func (r *Regex) Groups() int { return r.re.NumSubexp() }
