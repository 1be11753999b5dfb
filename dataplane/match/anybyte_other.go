//go:build !amd64

package match

// anyScan reports whether indexAny4 and indexAny8 read 16 bytes at a
// time. They do not here: Literals searches for each literal in turn.
const anyScan = false

// indexAny4 returns the index of the first byte of s that is one of
// set's first 4, or -1. Each byte of set is given 16 times.
func indexAny4(s []byte, set *[8][16]byte) int { return indexAnyOf(s, set[:4]) }

// indexAny8 is indexAny4 with all 8 bytes of set.
func indexAny8(s []byte, set *[8][16]byte) int { return indexAnyOf(s, set[:]) }

func indexAnyOf(s []byte, set [][16]byte) int {
	for i, c := range s {
		for _, x := range set {
			if c == x[0] {
				return i
			}
		}
	}
	return -1
}
