package flume

/*
#include <flume/flume.h>
*/
import "C"

import "unsafe"

func cstr(s string) (*C.char, C.size_t) {
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s))), C.size_t(len(s))
}

// ValidateSubject returns nil for a valid subject ("orders.eu.created"), else an error matching
// ErrInvalidSubject that says why.
func ValidateSubject(subject string) error {
	p, n := cstr(subject)
	return check(func() C.int { return C.flume_subject_validate(p, n) })
}

// ValidatePattern returns nil for a valid subscription pattern ("orders.*", "sensors.>"), else an
// error matching ErrInvalidPattern.
func ValidatePattern(pattern string) error {
	p, n := cstr(pattern)
	return check(func() C.int { return C.flume_pattern_validate(p, n) })
}

// PatternMatches reports whether pattern matches subject; an invalid either is an error.
func PatternMatches(pattern, subject string) (bool, error) {
	p, pn := cstr(pattern)
	s, sn := cstr(subject)
	var rc C.int
	err := check(func() C.int { rc = C.flume_pattern_matches(p, pn, s, sn); return rc })
	return rc == 1, err
}
