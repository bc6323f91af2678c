package flume

/*
#include <flume/flume.h>
*/
import "C"

import "fmt"

// HeaderVersion is the FLUME_VERSION of the flume.h this package was compiled against.
const HeaderVersion = C.FLUME_VERSION

// headerVersionNumber is FLUME_VERSION_NUMBER (MAJOR*1000000 + MINOR*1000 + PATCH).
const headerVersionNumber = C.FLUME_VERSION_NUMBER

// LinkMode is "dynamic" (the default, libflume.so through pkg-config) or "static" (built with
// -tags flume_static).
const LinkMode = linkMode

// Version is the version of the libflume the program runs with, "MAJOR.MINOR.PATCH".
func Version() string { return C.GoString(C.flume_version()) }

// versionErr is non-nil when the library loaded at run time is older than the header this
// package was compiled against, or of another major version: then every call that makes a
// client or broker fails with it instead of misbehaving (a dynamic libflume.so can differ from
// the flume.h that cgo compiled against; the compile-time guard in link_*.go covers the header).
var versionErr = func() error {
	lib := int(C.flume_version_number())
	if lib/1000000 != headerVersionNumber/1000000 || lib < headerVersionNumber {
		return errorf(CodeInvalid, fmt.Sprintf(
			"libflume %s is loaded, but this program was built against flume.h %s: install a "+
				"libflume of the same major version, at least as new as the header",
			Version(), HeaderVersion))
	}
	return nil
}()
