//go:build !flume_static

package flume

// The default link mode: libflume.so found through pkg-config, as the Debian package or
// `cmake --install` put it (PKG_CONFIG_PATH=<prefix>/lib/pkgconfig for a prefix of your own).

/*
#cgo pkg-config: flume
#include <flume/flume.h>
#if FLUME_VERSION_MAJOR != 1 || FLUME_VERSION_NUMBER < 1002000
#error "this Go package needs libflume 1.x, at least 1.2.0 (flume/version.h says otherwise)"
#endif
*/
import "C"

const linkMode = "dynamic"
