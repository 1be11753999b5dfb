package match

// anyScan reports whether indexAny4 and indexAny8 read 16 bytes at a
// time, as they do in assembly on amd64.
const anyScan = true

// indexAny4 returns the index of the first byte of s, of at least 16
// bytes, that is one of set's first 4, or -1. Each byte of set is given
// 16 times, as the compares take it.
//
//go:noescape
func indexAny4(s []byte, set *[8][16]byte) int

// indexAny8 is indexAny4 with all 8 bytes of set.
//
//go:noescape
func indexAny8(s []byte, set *[8][16]byte) int
