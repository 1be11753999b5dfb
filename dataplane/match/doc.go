// Package match holds the matching engines the processors call into: literal
// prefilters (Literals), regular expressions with a fast path for fixed
// shapes (Regex), replacement of what they find (Replacer), hand-written
// detectors of personal data and secrets (Detector), and lookups in JSON
// lines that do not decode them (LookupJSON).
//
// Engines see one line at a time, as a byte slice they never keep. None of
// them allocates on a line without a match; where one allocates on a match,
// its doc comment says so.
//
// A detector is one file plus one line in detectors.go: a Detector value
// with its Find function, a summary, its documentation and examples that the
// tests check and the reference shows. ssn.go is the one to copy.
package match
