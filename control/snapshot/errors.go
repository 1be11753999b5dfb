package snapshot

import "errors"

// ErrNewerFormat means the snapshot was written in a format version newer
// than this build reads: it is left as it is, and the caller should refuse
// to start rather than run without it.
var ErrNewerFormat = errors.New("written by a newer streamgate")
