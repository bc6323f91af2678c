//go:build flume_static

package flume

// -tags flume_static: libflume.a and ngtcp2 (libngtcp2.a, libngtcp2_crypto_gnutls.a) are linked
// into the program; GnuTLS (LGPL), libstdc++ and libc stay shared libraries, present on every
// Debian-like system. pkg-config supplies the include path and the library directory (without
// --static, which would ask for the static dependencies of GnuTLS too); the flags below make the
// linker take the archives, searched in that directory first. -Wl,--as-needed then drops the
// shared libflume.so that pkg-config's own -lflume would otherwise add as a dependency.
// scripts/go-static-lib.sh makes a prefix with exactly these archives for machines without the
// Debian package.

/*
#cgo pkg-config: flume
#cgo LDFLAGS: -Wl,-Bstatic -lflume -lngtcp2_crypto_gnutls -lngtcp2 -Wl,-Bdynamic
#cgo LDFLAGS: -lgnutls -lstdc++ -lm -lpthread -Wl,--as-needed
#include <flume/flume.h>
#if FLUME_VERSION_MAJOR != 1 || FLUME_VERSION_NUMBER < 1002000
#error "this Go package needs libflume 1.x, at least 1.2.0 (flume/version.h says otherwise)"
#endif
*/
import "C"

const linkMode = "static"
