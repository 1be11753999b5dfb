package match

// Most detectors of secrets find tokens that start with a fixed prefix,
// such as "ghp_" or "AIza". Such a detector sets Prefix and AtPrefix
// instead of Find, and a set of them (NewSet) walks a line's tokens once
// for all of them (tokenSet); one by one, each would search the line for
// its own.

// prefixFind returns the Find of a detector given by prefix and at.
func prefixFind(prefix string, at func(line []byte, s int) int) func(line []byte, from int) (int, int) {
	p := []byte(prefix)
	return func(line []byte, from int) (int, int) {
		return secretsFind(line, from, p, at)
	}
}
