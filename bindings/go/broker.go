package flume

/*
#include <stdlib.h>
#include <flume/flume.h>
*/
import "C"

import (
	"sync"
)

// Broker is a broker running inside this process on its own thread: the same broker as
// flume-broker, for tests and devices.
type Broker struct {
	mu          sync.Mutex
	h           *C.flume_broker
	addr        string
	cert        string
	fingerprint string
	port        int
}

// StartBroker starts an embedded broker: it loads or makes its certificate, binds (by default
// to a free port on 127.0.0.1) and serves until Close. Errors: ErrInvalid (a bad option, an
// unreadable certificate), ErrIO (cannot bind).
func StartBroker(opts ...BrokerOption) (*Broker, error) {
	if versionErr != nil {
		return nil, versionErr
	}
	cfg := brokerConfig{}
	for _, opt := range opts {
		opt(&cfg)
	}
	co := &cOptions{}
	defer co.free()
	var o C.flume_broker_options
	C.flume_broker_options_init(&o, C.sizeof_flume_broker_options)
	if cfg.listen != "" {
		o.listen = co.str(cfg.listen)
	}
	o.cert_file = co.str(cfg.certFile)
	o.key_file = co.str(cfg.keyFile)
	o.data_dir = co.str(cfg.dataDir)
	if cfg.maxPayload > 0 {
		o.max_payload = C.uint32_t(cfg.maxPayload)
	}
	if cfg.maxConnections > 0 {
		o.max_connections = C.uint32_t(cfg.maxConnections)
	}
	if cfg.maxSubscriptions > 0 {
		o.max_subscriptions = C.uint32_t(cfg.maxSubscriptions)
	}
	if cfg.queueLimit > 0 {
		o.queue_limit = C.uint32_t(cfg.queueLimit)
	}
	if cfg.maxPendingBytes > 0 {
		o.max_pending_bytes = C.uint64_t(cfg.maxPendingBytes)
	}
	if cfg.maxMemoryBytes > 0 {
		o.max_memory_bytes = C.uint64_t(cfg.maxMemoryBytes)
	}
	if cfg.shutdownNow {
		o.shutdown_grace_ms = C.FLUME_NO_WAIT
	} else if cfg.shutdownGrace > 0 {
		o.shutdown_grace_ms = millis(cfg.shutdownGrace)
	}
	var h *C.flume_broker
	if err := check(func() C.int { return C.flume_broker_start(&h, &o) }); err != nil {
		return nil, err
	}
	return &Broker{
		h:           h,
		addr:        C.GoString(C.flume_broker_address(h)),
		cert:        C.GoString(C.flume_broker_certificate_path(h)),
		fingerprint: C.GoString(C.flume_broker_fingerprint(h)),
		port:        int(C.flume_broker_port(h)),
	}, nil
}

// Addr is the address the broker listens on, "127.0.0.1:40001".
func (b *Broker) Addr() string { return b.addr }

// URL is what Connect takes to reach the broker: "flume://" and Addr.
func (b *Broker) URL() string { return "flume://" + b.addr }

// Port is the UDP port the broker listens on.
func (b *Broker) Port() int { return b.port }

// CertificatePath is the PEM certificate the broker presents: clients trust it with WithCAFile.
func (b *Broker) CertificatePath() string { return b.cert }

// Fingerprint is the SHA-256 fingerprint of its certificate: clients pin it with WithPinSHA256.
func (b *Broker) Fingerprint() string { return b.fingerprint }

// BrokerStats are some of a broker's counters (flume_broker_stats).
type BrokerStats struct {
	Connections       uint64 // now
	Subscriptions     uint64 // now
	MessagesIn        uint64 // PUBLISH routed
	MessagesOut       uint64 // MESSAGE frames sent to subscribers
	MessagesUnmatched uint64 // published messages no subscription matched
	DroppedOldest     uint64 // dropped by policy drop-oldest
	DroppedNewest     uint64 // dropped by policy drop-newest
	DroppedSlow       uint64 // lost when policy close ended a subscription
}

// Stats returns the broker's counters (one round trip to its thread).
func (b *Broker) Stats() (BrokerStats, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.h == nil {
		return BrokerStats{}, errorf(CodeClosed, "the broker is stopped")
	}
	var s C.flume_broker_stats
	C.flume_broker_stats_init(&s, C.sizeof_flume_broker_stats)
	if err := check(func() C.int { return C.flume_broker_get_stats(&s, b.h) }); err != nil {
		return BrokerStats{}, err
	}
	return BrokerStats{
		Connections: uint64(s.connections), Subscriptions: uint64(s.subscriptions),
		MessagesIn: uint64(s.messages_in), MessagesOut: uint64(s.messages_out),
		MessagesUnmatched: uint64(s.messages_unmatched), DroppedOldest: uint64(s.dropped_oldest),
		DroppedNewest: uint64(s.dropped_newest), DroppedSlow: uint64(s.dropped_slow_consumer),
	}, nil
}

// Close stops the broker gracefully: clients are told it is shutting down and get the shutdown
// grace (2 s by default) to leave before they are closed. Idempotent.
func (b *Broker) Close() error {
	b.mu.Lock()
	h := b.h
	b.h = nil
	b.mu.Unlock()
	if h != nil {
		C.flume_broker_stop(h)
	}
	return nil
}
