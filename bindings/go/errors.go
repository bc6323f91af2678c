package flume

/*
#include <flume/flume.h>
*/
import "C"

import (
	"runtime"
)

// Code is one of the C ABI's FLUME_E* codes (negative; capi/error_codes.def lists them).
type Code int

// The codes of flume.h, by the meaning their names in flume.h give.
const (
	CodeInvalid           Code = C.FLUME_EINVAL
	CodeNoMemory          Code = C.FLUME_ENOMEM
	CodeBufferSize        Code = C.FLUME_EBUFSIZE
	CodeOptions           Code = C.FLUME_EOPTIONS
	CodeUnknownType       Code = C.FLUME_EUNKNOWN_TYPE
	CodeMissingSubject    Code = C.FLUME_EMISSING_SUBJECT
	CodeUnexpectedSubject Code = C.FLUME_EUNEXPECTED_SUBJECT
	CodePayloadTooLarge   Code = C.FLUME_EPAYLOAD_TOO_LARGE
	CodeTruncated         Code = C.FLUME_ETRUNCATED
	CodeProperty          Code = C.FLUME_EPROPERTY
	CodeInvalidSubject    Code = C.FLUME_EINVALID_SUBJECT
	CodeInvalidPattern    Code = C.FLUME_EINVALID_PATTERN
	CodeTimedOut          Code = C.FLUME_ETIMEDOUT
	CodeUnreachable       Code = C.FLUME_EUNREACHABLE
	CodeTLS               Code = C.FLUME_ETLS
	CodeALPN              Code = C.FLUME_EALPN
	CodeRejected          Code = C.FLUME_EREJECTED
	CodeNotConnected      Code = C.FLUME_ENOTCONN
	CodeClosed            Code = C.FLUME_ECLOSED
	CodeProtocol          Code = C.FLUME_EPROTOCOL
	CodeAgain             Code = C.FLUME_EAGAIN
	CodeIO                Code = C.FLUME_EIO
)

// Name is the code's symbolic name in flume.h ("FLUME_ETLS"), or "FLUME_E?" for an unknown code.
func (c Code) Name() string { return C.GoString(C.flume_error_name(C.int(c))) }

// Error is every error that libflume reports: the FLUME_E* code and libflume's message, which
// says why. Compare with the sentinels using errors.Is (errors.Is(err, flume.ErrTLS)); read the
// code and message with errors.As.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "flume: " + e.Code.Name()
	}
	return "flume: " + e.Message + " (" + e.Code.Name() + ")"
}

// Is makes errors.Is(err, ErrX) true for every *Error carrying ErrX's code: a sentinel is an
// *Error without a message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Sentinels, one per FLUME_E* code: errors.Is(err, flume.ErrClosed).
var (
	ErrInvalid           = &Error{Code: CodeInvalid}           // an argument or option is invalid
	ErrNoMemory          = &Error{Code: CodeNoMemory}          // out of memory
	ErrBufferSize        = &Error{Code: CodeBufferSize}        // an output buffer is too small
	ErrOptions           = &Error{Code: CodeOptions}           // an option struct has an unknown size
	ErrUnknownType       = &Error{Code: CodeUnknownType}       // a frame type byte is not known
	ErrMissingSubject    = &Error{Code: CodeMissingSubject}    // the frame type needs a subject
	ErrUnexpectedSubject = &Error{Code: CodeUnexpectedSubject} // the frame type takes no subject
	ErrPayloadTooLarge   = &Error{Code: CodePayloadTooLarge}   // payload over the limit
	ErrTruncated         = &Error{Code: CodeTruncated}         // a stream ended inside a frame
	ErrProperty          = &Error{Code: CodeProperty}          // a properties payload is malformed
	ErrInvalidSubject    = &Error{Code: CodeInvalidSubject}    // not a valid subject (the message says why)
	ErrInvalidPattern    = &Error{Code: CodeInvalidPattern}    // not a valid pattern
	ErrTimedOut          = &Error{Code: CodeTimedOut}          // an operation ran out of time and was abandoned
	ErrUnreachable       = &Error{Code: CodeUnreachable}       // nobody answered at that address
	ErrTLS               = &Error{Code: CodeTLS}               // certificate verification or another TLS failure
	ErrALPN              = &Error{Code: CodeALPN}              // the server does not speak flume/1
	ErrRejected          = &Error{Code: CodeRejected}          // the broker refused the client or the subscription
	ErrNotConnected      = &Error{Code: CodeNotConnected}      // the connection is down, being re-established
	ErrClosed            = &Error{Code: CodeClosed}            // the client or subscription is closed (the message says why)
	ErrProtocol          = &Error{Code: CodeProtocol}          // the broker broke the protocol
	ErrAgain             = &Error{Code: CodeAgain}             // nothing yet: try again
	ErrIO                = &Error{Code: CodeIO}                // an operating-system call failed
)

// sentinels: every code flume.h declares; errors_test.go checks it against flume_error_name.
var sentinels = []*Error{
	ErrInvalid, ErrNoMemory, ErrBufferSize, ErrOptions, ErrUnknownType, ErrMissingSubject,
	ErrUnexpectedSubject, ErrPayloadTooLarge, ErrTruncated, ErrProperty, ErrInvalidSubject,
	ErrInvalidPattern, ErrTimedOut, ErrUnreachable, ErrTLS, ErrALPN, ErrRejected,
	ErrNotConnected, ErrClosed, ErrProtocol, ErrAgain, ErrIO,
}

// codeName is flume_error_name for the tests (which cannot use cgo themselves).
func codeName(code int) string { return Code(code).Name() }

// check runs one C call and, when it fails, reads its message. flume_last_error() is
// thread-local, so the goroutine stays on its OS thread from the call to the read.
func check(call func() C.int) error {
	runtime.LockOSThread()
	rc := call()
	if rc >= 0 {
		runtime.UnlockOSThread()
		return nil
	}
	msg := C.GoString(C.flume_last_error())
	runtime.UnlockOSThread()
	return &Error{Code: Code(rc), Message: msg}
}

// errorf makes an *Error for a failure found on the Go side (a bad argument, a closed handle).
func errorf(code Code, msg string) error { return &Error{Code: code, Message: msg} }
