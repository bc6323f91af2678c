package flume

/*
#include <stdlib.h>
#include <flume/flume.h>
*/
import "C"

import (
	"context"
	"fmt"
	"sync"
	"time"
	"unsafe"
)

// Client is one connection to a broker. Every method may be called from any number of
// goroutines at once. A client reconnects after a lost connection (unless WithReconnect(false))
// and subscribes again to everything it had.
type Client struct {
	// mu is held for reading by every call that uses h, for writing by Close: libflume's rule is
	// that no call on a handle may race with (or follow) the call that frees it.
	mu sync.RWMutex
	h  *C.flume_client

	subsMu sync.Mutex
	subs   map[*Subscription]struct{}
}

// errClientClosed is what calls on a closed Client return.
var errClientClosed = errorf(CodeClosed, "the client is closed")

// cOptions holds C copies of a client's option strings until the call that reads them returns.
type cOptions struct {
	o     C.flume_client_options
	frees []unsafe.Pointer
}

func (c *cOptions) str(s string) *C.char {
	if s == "" {
		return nil
	}
	p := C.CString(s)
	c.frees = append(c.frees, unsafe.Pointer(p))
	return p
}

func (c *cOptions) free() {
	for _, p := range c.frees {
		C.free(p)
	}
}

// millis converts a positive duration to the C ABI's milliseconds, rounding up and clamping.
func millis(d time.Duration) C.int {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms < 1 {
		ms = 1
	}
	if ms > 1<<30 {
		ms = 1 << 30
	}
	return C.int(ms)
}

// Connect connects to a broker at url ("flume://host:port", "host:port" or "host"; port 7337
// by default) and returns once the broker accepted the client. The connect timeout is the
// sooner of WithConnectTimeout (5 s by default) and ctx's deadline; cancelling ctx returns
// ctx.Err() at once (a connection still being made in the background is then closed when it
// completes, within the timeout).
func Connect(ctx context.Context, url string, opts ...Option) (*Client, error) {
	if versionErr != nil {
		return nil, versionErr
	}
	cfg := clientConfig{name: "flume-go"}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	timeout := cfg.connectTimeout
	if timeout == 0 {
		timeout = time.Duration(C.FLUME_DEFAULT_CONNECT_TIMEOUT_MS) * time.Millisecond
	}
	ctxBound := false // the timeout is ctx's deadline
	if deadline, ok := ctx.Deadline(); ok {
		if left := time.Until(deadline); left < timeout {
			timeout, ctxBound = left, true
		}
		if timeout <= 0 {
			return nil, context.DeadlineExceeded
		}
	}
	co := &cOptions{}
	C.flume_client_options_init(&co.o, C.sizeof_flume_client_options)
	o := &co.o
	o.client_name = co.str(cfg.name)
	o.server_name = co.str(cfg.serverName)
	o.ca_file = co.str(cfg.caFile)
	o.pin_sha256 = co.str(cfg.pinSHA256)
	if cfg.insecure {
		o.insecure = C.FLUME_ON
	}
	if len(cfg.token) > 0 {
		p := C.CBytes(cfg.token)
		co.frees = append(co.frees, p)
		o.token, o.token_length = p, C.size_t(len(cfg.token))
	}
	o.connect_timeout_ms = millis(timeout)
	if cfg.reconnect != nil && !*cfg.reconnect {
		o.reconnect = C.FLUME_OFF
	}
	if cfg.reconnectMin > 0 {
		o.reconnect_min_ms, o.reconnect_max_ms = millis(cfg.reconnectMin), millis(cfg.reconnectMax)
	}
	if cfg.maxPendingBytes > 0 {
		o.max_pending_bytes = C.size_t(cfg.maxPendingBytes)
	}
	if cfg.publishNoWait {
		o.publish_timeout_ms = C.FLUME_NO_WAIT
	} else if cfg.publishTimeout > 0 {
		o.publish_timeout_ms = millis(cfg.publishTimeout)
	}
	if cfg.keepAliveDisable {
		o.keep_alive_ms = C.FLUME_WAIT_FOREVER
	} else if cfg.keepAlive > 0 {
		o.keep_alive_ms = millis(cfg.keepAlive)
	}
	curl := co.str(url)

	type result struct {
		h   *C.flume_client
		err error
	}
	connect := func() result {
		defer co.free()
		var h *C.flume_client
		if url == "" {
			return result{nil, errorf(CodeInvalid, "the URL is empty")}
		}
		err := check(func() C.int { return C.flume_client_connect(&h, curl, &co.o) })
		return result{h, err}
	}
	var r result
	if ctx.Done() == nil {
		r = connect()
	} else {
		// The C call cannot be interrupted: it runs on its own goroutine (bounded by the timeout
		// above) so that a cancelled ctx returns at once.
		done := make(chan result, 1)
		go func() { done <- connect() }()
		select {
		case r = <-done:
		case <-ctx.Done():
			go func() {
				if late := <-done; late.h != nil {
					C.flume_client_close(late.h)
				}
			}()
			return nil, ctx.Err()
		}
	}
	if r.err != nil {
		if ctxBound && (isCode(r.err, CodeTimedOut) || isCode(r.err, CodeUnreachable)) {
			// Out of time because ctx's deadline came: both errors.Is(err,
			// context.DeadlineExceeded) and the libflume error hold.
			return nil, fmt.Errorf("%w: %w", context.DeadlineExceeded, r.err)
		}
		return nil, r.err
	}
	return &Client{h: r.h, subs: make(map[*Subscription]struct{})}, nil
}

// Publish sends data to subject. It copies both into the client's send queue and returns
// without waiting for the network; only while the pending-bytes limit is reached does it wait
// for room, up to the publish timeout (ErrTimedOut). Errors: ErrInvalidSubject,
// ErrPayloadTooLarge, ErrNotConnected (reconnecting: not sent), ErrClosed. Flush waits until the
// broker has everything published before it.
func (c *Client) Publish(subject string, data []byte) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.h == nil {
		return errClientClosed
	}
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	s := (*C.char)(unsafe.Pointer(unsafe.StringData(subject)))
	return check(func() C.int {
		return C.flume_client_publish(c.h, s, C.size_t(len(subject)), p, C.size_t(len(data)))
	})
}

// slice is how long one blocking C call may wait before a loop checks its ctx again: the most
// a cancellation waits, and how long such a call holds an OS thread at a time.
const slice = 50 * time.Millisecond

// sliceOf is the wait for the next slice of a ctx-bounded loop: at most slice, at most what is
// left before ctx's deadline.
func sliceOf(ctx context.Context) (C.int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	d := slice
	if deadline, ok := ctx.Deadline(); ok {
		left := time.Until(deadline)
		if left <= 0 {
			return 0, context.DeadlineExceeded
		}
		if left < d {
			d = left
		}
	}
	return millis(d), nil
}

// Flush waits until the broker has processed everything this client published, subscribed and
// unsubscribed before the call: a round trip. It returns ctx.Err() when ctx ends first,
// ErrNotConnected when the connection was lost (what was not processed is gone), ErrClosed.
func (c *Client) Flush(ctx context.Context) error {
	for {
		ms, err := sliceOf(ctx)
		if err != nil {
			return err
		}
		err = c.flushFor(ms)
		if err == nil || !isCode(err, CodeTimedOut) {
			return err
		}
	}
}

func (c *Client) flushFor(ms C.int) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.h == nil {
		return errClientClosed
	}
	return check(func() C.int { return C.flume_client_flush(c.h, ms) })
}

func isCode(err error, code Code) bool {
	e, ok := err.(*Error)
	return ok && e.Code == code
}

// MaxPayload is the broker's payload limit in bytes, as it announced when the client connected.
func (c *Client) MaxPayload() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.h == nil {
		return 0
	}
	return int(C.flume_client_max_payload(c.h))
}

// ClientStats are a client's counters (flume_client_stats).
type ClientStats struct {
	MessagesOut     uint64 // accepted by Publish
	BytesOut        uint64 // their payload bytes
	MessagesIn      uint64 // received for any subscription
	BytesIn         uint64 // their payload bytes
	DroppedByBroker uint64 // messages the broker dropped for this client's subscriptions
	Reconnects      uint64 // connections re-established after a loss
	PublishErrors   uint64 // publishes the broker refused later
	PublishesUnsent uint64 // accepted by Publish but lost with the connection before sending
	Connected       bool   // connected and past HELLO
}

// Stats returns the client's counters.
func (c *Client) Stats() (ClientStats, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.h == nil {
		return ClientStats{}, errClientClosed
	}
	var s C.flume_client_stats
	C.flume_client_stats_init(&s, C.sizeof_flume_client_stats)
	if err := check(func() C.int { return C.flume_client_get_stats(&s, c.h) }); err != nil {
		return ClientStats{}, err
	}
	return ClientStats{
		MessagesOut: uint64(s.messages_out), BytesOut: uint64(s.bytes_out),
		MessagesIn: uint64(s.messages_in), BytesIn: uint64(s.bytes_in),
		DroppedByBroker: uint64(s.dropped_by_broker), Reconnects: uint64(s.reconnects),
		PublishErrors: uint64(s.publish_errors), PublishesUnsent: uint64(s.publishes_unsent),
		Connected: s.connected != 0,
	}, nil
}

// Close closes every subscription of the client (their queued messages are discarded; a Next
// waiting in another goroutine returns ErrClosed), says goodbye to the broker (about 0.5 s at
// most) and frees the client. It first waits for calls already inside libflume to return (a
// Publish waiting for room: up to the publish timeout; a Flush slice: up to 50 ms). Calls after
// Close return ErrClosed. Idempotent. A client that is never closed keeps its loop thread and
// connection until the process ends: there is no finalizer.
func (c *Client) Close() error {
	c.mu.Lock()
	h := c.h
	c.h = nil
	c.mu.Unlock()
	if h == nil {
		return nil
	}
	c.subsMu.Lock()
	subs := make([]*Subscription, 0, len(c.subs))
	for s := range c.subs {
		subs = append(subs, s)
	}
	c.subsMu.Unlock()
	for _, s := range subs {
		s.Close()
	}
	return check(func() C.int { return C.flume_client_close(h) })
}

func (c *Client) forget(s *Subscription) {
	c.subsMu.Lock()
	delete(c.subs, s)
	c.subsMu.Unlock()
}
