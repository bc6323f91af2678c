package flume

import "time"

// Option configures Connect.
type Option func(*clientConfig)

type clientConfig struct {
	name             string
	serverName       string
	caFile           string
	pinSHA256        string
	insecure         bool
	token            []byte
	connectTimeout   time.Duration
	reconnect        *bool
	reconnectMin     time.Duration
	reconnectMax     time.Duration
	maxPendingBytes  int
	publishTimeout   time.Duration
	publishNoWait    bool
	keepAlive        time.Duration
	keepAliveDisable bool
	err              error
}

func (c *clientConfig) fail(msg string) {
	if c.err == nil {
		c.err = errorf(CodeInvalid, msg)
	}
}

// WithName is the client name sent to the broker (default "flume-go").
func WithName(name string) Option { return func(c *clientConfig) { c.name = name } }

// WithServerName is the name the broker's certificate must carry (default: the URL's host).
func WithServerName(name string) Option { return func(c *clientConfig) { c.serverName = name } }

// WithCAFile trusts the CA (or the broker's self-signed certificate) in a PEM file.
// Without WithCAFile, WithPinSHA256 or WithInsecure the system's CA store is used, and for a broker
// on this machine the self-signed cert.pem in the default data directory.
func WithCAFile(path string) Option { return func(c *clientConfig) { c.caFile = path } }

// WithPinSHA256 trusts exactly the certificate with this SHA-256 fingerprint ("AB:CD:...", as
// Broker.Fingerprint gives it).
func WithPinSHA256(fingerprint string) Option {
	return func(c *clientConfig) { c.pinSHA256 = fingerprint }
}

// WithInsecure turns certificate verification off. For tests only.
func WithInsecure() Option { return func(c *clientConfig) { c.insecure = true } }

// WithToken is sent to the broker for authentication. The bytes are copied.
func WithToken(token []byte) Option {
	return func(c *clientConfig) { c.token = append([]byte(nil), token...) }
}

// WithConnectTimeout bounds the handshake and HELLO (default 5 s). A context deadline sooner
// than this wins.
func WithConnectTimeout(d time.Duration) Option {
	return func(c *clientConfig) {
		if d <= 0 {
			c.fail("WithConnectTimeout: the timeout must be positive")
		}
		c.connectTimeout = d
	}
}

// WithReconnect turns reconnecting after a lost connection on (the default) or off; off, a lost
// connection ends the client and calls report ErrClosed.
func WithReconnect(on bool) Option { return func(c *clientConfig) { c.reconnect = &on } }

// WithReconnectBackoff sets the first and the longest back-off between reconnect attempts
// (defaults 100 ms and 5 s).
func WithReconnectBackoff(min, max time.Duration) Option {
	return func(c *clientConfig) {
		if min <= 0 || max < min {
			c.fail("WithReconnectBackoff: need 0 < min <= max")
		}
		c.reconnectMin, c.reconnectMax = min, max
	}
}

// WithMaxPendingBytes bounds the published bytes waiting in the client for the network
// (default 8 MiB); Publish waits for room up to the publish timeout.
func WithMaxPendingBytes(n int) Option {
	return func(c *clientConfig) {
		if n <= 0 {
			c.fail("WithMaxPendingBytes: the limit must be positive")
		}
		c.maxPendingBytes = n
	}
}

// WithPublishTimeout is how long Publish waits for room under the pending-bytes limit before
// failing with ErrTimedOut (default 5 s); 0 makes it fail at once.
func WithPublishTimeout(d time.Duration) Option {
	return func(c *clientConfig) {
		if d < 0 {
			c.fail("WithPublishTimeout: the timeout must not be negative")
		}
		c.publishTimeout, c.publishNoWait = d, d == 0
	}
}

// WithKeepAlive sends a QUIC PING after this long without sending (default 1 s, at least
// 100 ms), so an idle subscriber notices a restarted broker; 0 turns keep-alives off.
func WithKeepAlive(d time.Duration) Option {
	return func(c *clientConfig) {
		if d < 0 {
			c.fail("WithKeepAlive: the interval must not be negative")
		}
		c.keepAlive, c.keepAliveDisable = d, d == 0
	}
}

// Overflow is what the broker does when a subscription's queue there is full.
type Overflow int

// The overflow policies of flume.h (FLUME_OVERFLOW_*).
const (
	DropOldest      Overflow = 1 // drop the oldest queued message (the default)
	DropNewest      Overflow = 2 // drop the new message
	CloseOnOverflow Overflow = 3 // end the subscription (ErrClosed, "SLOW_CONSUMER")
)

// SubOption configures Subscribe.
type SubOption func(*subConfig)

type subConfig struct {
	overflow        Overflow
	queueLimit      uint32
	localQueueLimit int
	batch           int
	chanSize        int
	noWait          bool
	gaps            bool
	err             error
}

func (c *subConfig) fail(msg string) {
	if c.err == nil {
		c.err = errorf(CodeInvalid, msg)
	}
}

// WithOverflow sets the broker's policy for this subscription's full queue.
func WithOverflow(p Overflow) SubOption {
	return func(c *subConfig) {
		if p < DropOldest || p > CloseOnOverflow {
			c.fail("WithOverflow: unknown policy")
		}
		c.overflow = p
	}
}

// WithQueueLimit asks the broker to queue up to n messages for this subscription (the broker
// may grant less).
func WithQueueLimit(n uint32) SubOption {
	return func(c *subConfig) {
		if n == 0 {
			c.fail("WithQueueLimit: the limit must be positive")
		}
		c.queueLimit = n
	}
}

// WithLocalQueueLimit bounds the messages held in this process for Next (default 65536).
func WithLocalQueueLimit(n int) SubOption {
	return func(c *subConfig) {
		if n <= 0 {
			c.fail("WithLocalQueueLimit: the limit must be positive")
		}
		c.localQueueLimit = n
	}
}

// WithBatch is how many messages one receive takes from libflume at most (default 1024): one
// crossing into C per batch.
func WithBatch(n int) SubOption {
	return func(c *subConfig) {
		if n <= 0 || n > 1<<16 {
			c.fail("WithBatch: the batch must be 1 .. 65536")
		}
		c.batch = n
	}
}

// WithChanSize is the buffer of the channel Chan returns (default 1024).
func WithChanSize(n int) SubOption {
	return func(c *subConfig) {
		if n < 0 {
			c.fail("WithChanSize: the size must not be negative")
		}
		c.chanSize = n
	}
}

// WithoutWaitReady makes Subscribe return as soon as the subscription is asked for, without
// waiting for the broker's answer (a refusal then shows in Next as ErrClosed).
func WithoutWaitReady() SubOption { return func(c *subConfig) { c.noWait = true } }

// WithGaps makes the subscription report where messages were missed: Next and Chan then also
// return items whose Gap is non-nil (no subject, no data), each in the place of what is missing:
// messages dropped by the broker or here, and a resubscription after a lost connection. Without
// it, drops show only as jumps in Msg.Sequence and in Stats.
func WithGaps() SubOption { return func(c *subConfig) { c.gaps = true } }

// BrokerOption configures StartBroker.
type BrokerOption func(*brokerConfig)

type brokerConfig struct {
	listen           string
	certFile         string
	keyFile          string
	dataDir          string
	maxPayload       uint32
	maxConnections   uint32
	maxSubscriptions uint32
	queueLimit       uint32
	maxPendingBytes  uint64
	maxMemoryBytes   uint64
	shutdownGrace    time.Duration
	shutdownNow      bool
}

// BrokerListen is the address to listen on (default "127.0.0.1:0": a free port on loopback).
func BrokerListen(addr string) BrokerOption { return func(c *brokerConfig) { c.listen = addr } }

// BrokerCertificate is the PEM certificate chain and private key to present. Without it the
// broker makes (once) and reuses a self-signed pair in its data directory.
func BrokerCertificate(certFile, keyFile string) BrokerOption {
	return func(c *brokerConfig) { c.certFile, c.keyFile = certFile, keyFile }
}

// BrokerDataDir is where the self-signed certificate lives (default $FLUME_DATA_DIR, else
// $XDG_DATA_HOME/flume, else ~/.local/share/flume).
func BrokerDataDir(dir string) BrokerOption { return func(c *brokerConfig) { c.dataDir = dir } }

// BrokerMaxPayload is the largest payload accepted (default 64 KiB).
func BrokerMaxPayload(n uint32) BrokerOption { return func(c *brokerConfig) { c.maxPayload = n } }

// BrokerMaxConnections is how many clients may be connected at once (default 10000).
func BrokerMaxConnections(n uint32) BrokerOption {
	return func(c *brokerConfig) { c.maxConnections = n }
}

// BrokerMaxSubscriptions is how many subscriptions one connection may have (default 10000).
func BrokerMaxSubscriptions(n uint32) BrokerOption {
	return func(c *brokerConfig) { c.maxSubscriptions = n }
}

// BrokerQueueLimit is the messages queued per subscription that asks for no size (default 1024).
func BrokerQueueLimit(n uint32) BrokerOption { return func(c *brokerConfig) { c.queueLimit = n } }

// BrokerMaxPendingBytes bounds the bytes queued for one connection (default 64 MiB).
func BrokerMaxPendingBytes(n uint64) BrokerOption {
	return func(c *brokerConfig) { c.maxPendingBytes = n }
}

// BrokerMaxMemory bounds the bytes all queues may hold together (default: a quarter of memory).
func BrokerMaxMemory(n uint64) BrokerOption { return func(c *brokerConfig) { c.maxMemoryBytes = n } }

// BrokerShutdownGrace is how long Stop lets clients leave on their own (default 2 s); 0 closes
// them at once.
func BrokerShutdownGrace(d time.Duration) BrokerOption {
	return func(c *brokerConfig) { c.shutdownGrace, c.shutdownNow = d, d <= 0 }
}
