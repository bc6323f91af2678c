// Package flume is the Go binding of Flume, publish/subscribe over QUIC with one stream per
// subscription. It is a thin layer over libflume's C ABI (flume.h) through cgo: the protocol,
// routing and transport all live in libflume.
//
//	b, _ := flume.StartBroker()                        // or a flume-broker elsewhere
//	c, _ := flume.Connect(ctx, b.URL(), flume.WithCAFile(b.CertificatePath()))
//	sub, _ := c.Subscribe(ctx, "orders.>")
//	c.Publish("orders.eu.created", []byte("hello"))
//	msg, _ := sub.Next(ctx)                            // or range sub.Chan()
//
// Every blocking call takes a context.Context. A goroutine waiting in Next parks on Go's
// netpoller, not in C, so a thousand waiting subscriptions cost no thread each. Errors are
// *Error values carrying libflume's FLUME_E* code and message, comparable with the sentinels
// (errors.Is(err, flume.ErrClosed)).
//
// Linking: by default libflume.so through pkg-config (`#cgo pkg-config: flume`); with
// `-tags flume_static`, libflume.a and ngtcp2 are linked in, GnuTLS stays shared. See docs/go.md.
package flume
