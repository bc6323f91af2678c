package flume

/*
#include <fcntl.h>
#include <flume/flume.h>

// One crossing for a batch: take what is queued (never waiting) and describe it.
static int go_flume_take(flume_message **msgs, size_t capacity, size_t *count,
                         flume_message_view *views, flume_subscription *sub) {
	int rc = flume_subscription_recv_batch(msgs, capacity, count, sub, FLUME_NO_WAIT);
	if (rc < 0) return rc;
	rc = flume_message_views(views, sizeof(flume_message_view), msgs, *count);
	if (rc < 0) flume_message_free_batch(msgs, *count);
	return rc;
}

static int go_flume_dup_cloexec(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, 0); }
*/
import "C"

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Msg is one received message, or, on a subscription made WithGaps, a gap item (Gap non-nil).
// It is the caller's: nothing in it refers to libflume's memory.
type Msg struct {
	Subject string
	Data    []byte
	// Sub is the subscription the message came through.
	Sub *Subscription
	// Sequence is the message's number in its subscription: 1, 2, 3, ..., counting every message
	// the broker routed to it, also those dropped on the way, so a jump of n+1 means n were
	// dropped; it goes on after a resubscription. For a gap item: the number of the last message
	// before the gap (0: none).
	Sequence uint64
	// Gap is nil for a message. On a subscription made WithGaps, a non-nil Gap marks a gap item:
	// messages are missing here (Subject and Data are empty). Gaps waiting together in libflume
	// are merged, but one already taken can be followed by another.
	Gap *Gap
}

// Gap says what is missing where a gap item stands (flume_message_view's gap_* fields).
type Gap struct {
	DroppedByBroker uint64 // the broker's queue for the subscription was full
	DroppedLocally  uint64 // the local queue was full (not taken fast enough)
	// Resubscribed: the connection was lost and the subscription made again on a new one; what
	// was published meanwhile was missed, and how much is unknown.
	Resubscribed bool
	Disconnected time.Duration // from noticing the lost connection to subscribing again
}

// Subscription receives the messages whose subject matches its pattern, with Next or Chan. Any
// number of goroutines may call its methods at once (each message goes to one of them).
//
// Waiting costs no OS thread: a goroutine in Next parks on Go's netpoller, which watches the
// subscription's event file descriptor, and takes messages without waiting once it is readable.
type Subscription struct {
	client  *Client
	pattern string
	id      uint32
	batch   int

	// mu is held for reading around every C call on h (and the wait), for writing by Close,
	// which frees h.
	mu     sync.RWMutex
	h      *C.flume_subscription
	file   *os.File // a duplicate of libflume's event fd, registered with the netpoller
	raw    syscall.RawConn
	done   chan struct{} // closed by Close
	closed sync.Once

	// turn is held (a token in a one-slot channel, so that waiting for it honours ctx) by the one
	// goroutine that receives: it owns the fields below.
	turn chan struct{}
	// What one take hands to C. They start small and double, up to batch, whenever a take fills
	// them: a thousand quiet subscriptions do not hold a thousand full-size arrays.
	cmsgs   []*C.flume_message
	views   []C.flume_message_view
	pending []Msg
	next    int
	subject string // the last subject seen: consecutive messages on one subject share its string

	errMu sync.Mutex
	err   error // why the subscription ended, once it has and everything was taken

	// The deadline of the netpoller wait is set by a ctx's AfterFunc; gen tells a late one from
	// the current wait.
	dlMu sync.Mutex
	gen  uint64

	chanOnce sync.Once
	ch       chan *Msg
	chanSize int
	wg       sync.WaitGroup
	ctx      context.Context // cancelled by Close: ends Chan's goroutine
	cancel   context.CancelFunc
}

// Subscribe subscribes to pattern ("orders.*", "sensors.>"; see docs/protocol.md) and, unless
// WithoutWaitReady, waits for the broker's answer: a refusal is ErrRejected, ctx ending first
// returns ctx.Err() and nothing stays subscribed.
func (c *Client) Subscribe(ctx context.Context, pattern string, opts ...SubOption) (*Subscription, error) {
	cfg := subConfig{batch: 1024, chanSize: 1024}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := c.subscribe(pattern, &cfg)
	if err != nil {
		return nil, err
	}
	if !cfg.noWait {
		if err := s.waitReady(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func (c *Client) subscribe(pattern string, cfg *subConfig) (*Subscription, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.h == nil {
		return nil, errClientClosed
	}
	var o C.flume_subscription_options
	C.flume_subscription_options_init(&o, C.sizeof_flume_subscription_options)
	if cfg.overflow != 0 {
		o.overflow_policy = C.int(cfg.overflow)
	}
	o.queue_limit = C.uint32_t(cfg.queueLimit)
	if cfg.localQueueLimit > 0 {
		o.local_queue_limit = C.size_t(cfg.localQueueLimit)
	}
	if cfg.gaps {
		o.report_gaps = C.FLUME_ON
	}
	var h *C.flume_subscription
	p := (*C.char)(unsafe.Pointer(unsafe.StringData(pattern)))
	if err := check(func() C.int {
		return C.flume_client_subscribe(&h, c.h, p, C.size_t(len(pattern)), &o, nil)
	}); err != nil {
		return nil, err
	}
	s := &Subscription{
		client: c, pattern: pattern, h: h, id: uint32(C.flume_subscription_id(h)),
		batch: cfg.batch, chanSize: cfg.chanSize,
		done: make(chan struct{}), turn: make(chan struct{}, 1),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.watch(); err != nil {
		s.cancel()
		C.flume_subscription_free(h)
		return nil, err
	}
	c.subsMu.Lock()
	c.subs[s] = struct{}{}
	c.subsMu.Unlock()
	return s, nil
}

// watch registers a duplicate of the subscription's event fd (an eventfd, non-blocking) with
// the netpoller. The duplicate is ours to close; libflume's own fd stays untouched.
func (s *Subscription) watch() error {
	var fd C.int
	if err := check(func() C.int { fd = C.flume_subscription_fd(s.h); return fd }); err != nil {
		return err
	}
	dup, err := C.go_flume_dup_cloexec(fd)
	if dup < 0 {
		return errorf(CodeIO, "cannot duplicate the subscription's event fd: "+err.Error())
	}
	s.file = os.NewFile(uintptr(dup), "flume-subscription")
	raw, rerr := s.file.SyscallConn()
	if rerr != nil {
		s.file.Close()
		return errorf(CodeIO, "the subscription's event fd cannot be watched: "+rerr.Error())
	}
	s.raw = raw
	return nil
}

// Pattern is the pattern the subscription was made with.
func (s *Subscription) Pattern() string { return s.pattern }

// ID is the subscription's id within its client.
func (s *Subscription) ID() uint32 { return s.id }

func (s *Subscription) waitReady(ctx context.Context) error {
	for {
		ms, err := sliceOf(ctx)
		if err != nil {
			return err
		}
		err = s.use(func(h *C.flume_subscription) error {
			return check(func() C.int { return C.flume_subscription_wait_ready(h, ms) })
		})
		if err == nil || !isCode(err, CodeAgain) {
			return err
		}
	}
}

var errSubClosed = errorf(CodeClosed, "the subscription is closed")

// use runs f with the handle unless the subscription is closed.
func (s *Subscription) use(f func(h *C.flume_subscription) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.h == nil {
		return errSubClosed
	}
	return f(s.h)
}

// acquire takes the receive turn, or gives up when ctx ends or the subscription is closed.
func (s *Subscription) acquire(ctx context.Context) error {
	select {
	case s.turn <- struct{}{}:
		return nil
	default:
	}
	select {
	case s.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return errSubClosed
	}
}

func (s *Subscription) release() { <-s.turn }

// Next returns the next message, waiting until one comes, ctx ends (ctx.Err()) or the
// subscription ends: then it returns an error matching ErrClosed whose message says why
// ("unsubscribed", "client closed", "the broker ended the subscription: SLOW_CONSUMER"), after
// every message already queued was taken.
func (s *Subscription) Next(ctx context.Context) (*Msg, error) {
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	if s.next == len(s.pending) {
		if err := s.fill(ctx); err != nil {
			return nil, err
		}
	}
	m := &s.pending[s.next]
	s.next++
	return m, nil
}

// fill takes the next batch into s.pending, waiting on the netpoller while none is queued.
// Called with the turn held and s.pending used up.
func (s *Subscription) fill(ctx context.Context) error {
	if err := s.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.h == nil {
		return errSubClosed
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// The first take happens inside RawConn.Read's callback, after the netpoller's readiness
		// was reset: an eventfd write after an empty take is then never missed.
		var took error
		stop := s.armDeadline(ctx)
		werr := s.raw.Read(func(uintptr) bool {
			took = s.take()
			return !isCode(took, CodeAgain)
		})
		s.disarmDeadline(stop)
		if werr == nil {
			if took != nil && isCode(took, CodeClosed) {
				s.ended(took)
			}
			return took
		}
		if errors.Is(werr, os.ErrDeadlineExceeded) {
			continue // ctx ended (checked at the top), or a stale deadline from an earlier wait
		}
		select {
		case <-s.done:
			// Close closed the file while this waited: take what is left, if anything.
			if err := s.take(); err == nil {
				return nil
			}
			return errSubClosed
		default:
			return errorf(CodeIO, "waiting for the subscription's event fd: "+werr.Error())
		}
	}
}

// aLongTimeAgo is a deadline in the past: it wakes a netpoller wait at once.
var aLongTimeAgo = time.Unix(1, 0)

func (s *Subscription) armDeadline(ctx context.Context) func() bool {
	if ctx.Done() == nil {
		return nil
	}
	s.dlMu.Lock()
	gen := s.gen
	s.dlMu.Unlock()
	return context.AfterFunc(ctx, func() {
		s.dlMu.Lock()
		if s.gen == gen {
			s.file.SetReadDeadline(aLongTimeAgo)
		}
		s.dlMu.Unlock()
	})
}

func (s *Subscription) disarmDeadline(stop func() bool) {
	if stop == nil {
		return
	}
	if !stop() {
		// The AfterFunc ran (or is running): clear what it set, and make a late one a no-op.
		s.dlMu.Lock()
		s.gen++
		s.file.SetReadDeadline(time.Time{})
		s.dlMu.Unlock()
	}
}

// take moves what is queued into s.pending without waiting: nil, or an *Error (CodeAgain when
// nothing is queued, CodeClosed once the subscription ended and everything was taken).
func (s *Subscription) take() error {
	if len(s.cmsgs) == 0 {
		s.grow(min(s.batch, 16))
	}
	var count C.size_t
	err := check(func() C.int {
		return C.go_flume_take(&s.cmsgs[0], C.size_t(len(s.cmsgs)), &count, &s.views[0], s.h)
	})
	if err != nil {
		return err
	}
	n := int(count)
	views := s.views[:n]
	total := 0
	for i := range views {
		total += int(views[i].payload_length)
	}
	// One allocation for the messages and one for all their payloads: a kept Msg keeps its
	// batch's payload block alive (at most batch × payload size).
	data := make([]byte, total)
	msgs := make([]Msg, n)
	off := 0
	for i := range views {
		off = s.convert(&msgs[i], &views[i], data, off)
	}
	C.flume_message_free_batch(&s.cmsgs[0], count)
	s.pending, s.next = msgs, 0
	if n == len(s.cmsgs) && n < s.batch {
		s.grow(min(s.batch, 2*n))
	}
	return nil
}

func (s *Subscription) grow(n int) {
	s.cmsgs = make([]*C.flume_message, n)
	s.views = make([]C.flume_message_view, n)
}

// convert fills m from one view; data is the batch's payload block, off where m's payload goes.
// The one place that reads a flume_message_view.
func (s *Subscription) convert(m *Msg, v *C.flume_message_view, data []byte, off int) int {
	m.Sub = s
	m.Sequence = uint64(v.sequence)
	if v.kind == C.FLUME_MESSAGE_GAP {
		m.Data = []byte{}
		m.Gap = &Gap{
			DroppedByBroker: uint64(v.gap_dropped_by_broker),
			DroppedLocally:  uint64(v.gap_dropped_locally),
			Resubscribed:    v.gap_resubscribed != 0,
			Disconnected:    time.Duration(v.gap_disconnected_ms) * time.Millisecond,
		}
		return off
	}
	subject := unsafe.String((*byte)(unsafe.Pointer(v.subject)), int(v.subject_length))
	if subject != s.subject {
		s.subject = strings.Clone(subject) // the view's bytes go with the batch
	}
	n := int(v.payload_length)
	m.Subject = s.subject
	if n > 0 {
		copy(data[off:off+n], unsafe.Slice((*byte)(v.payload), n))
		m.Data = data[off : off+n : off+n]
	} else {
		m.Data = []byte{}
	}
	return off + n
}

// Chan returns a channel fed from batch receives by one goroutine; it is closed when the
// subscription ends (Err then says why) or is closed. The first call starts the goroutine; later
// calls return the same channel. Mixing Chan and Next splits the messages between them.
func (s *Subscription) Chan() <-chan *Msg {
	s.chanOnce.Do(func() {
		s.ch = make(chan *Msg, s.chanSize)
		s.wg.Add(1)
		go s.feed()
	})
	return s.ch
}

func (s *Subscription) feed() {
	defer s.wg.Done()
	defer close(s.ch)
	for {
		batch, err := s.takeAll(s.ctx)
		if err != nil {
			return
		}
		for i := range batch {
			select {
			case s.ch <- &batch[i]:
			case <-s.done:
				return
			}
		}
	}
}

// takeAll returns every message prefetched or, when none is, the next batch: one turn per
// batch instead of one per message.
func (s *Subscription) takeAll(ctx context.Context) ([]Msg, error) {
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	if s.next == len(s.pending) {
		if err := s.fill(ctx); err != nil {
			return nil, err
		}
	}
	batch := s.pending[s.next:]
	s.pending, s.next = nil, 0
	return batch, nil
}

// Err is why the subscription ended (an error matching ErrClosed), or nil while it has not, or
// not every queued message was taken yet. It does not wait.
func (s *Subscription) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	if s.err == nil {
		select {
		case <-s.done:
			return errSubClosed
		default:
		}
	}
	return s.err
}

func (s *Subscription) ended(err error) {
	s.errMu.Lock()
	s.err = err
	s.errMu.Unlock()
}

// Unsubscribe ends the subscription now and tells the broker. Messages already queued stay
// readable; after them Next returns ErrClosed ("unsubscribed"). Idempotent.
func (s *Subscription) Unsubscribe() error {
	return s.use(func(h *C.flume_subscription) error {
		return check(func() C.int { return C.flume_subscription_unsubscribe(h) })
	})
}

// SubscriptionStats are a subscription's counters (flume_subscription_stats).
type SubscriptionStats struct {
	Received        uint64 // delivered to this process
	DroppedByBroker uint64 // the broker's queue for it overflowed
	DroppedLocally  uint64 // the local queue overflowed (not taken fast enough)
	Queued          uint64 // waiting for Next now (in libflume and in this package)
	QueuedHighWater uint64 // the most that waited in libflume at once
	QueueLimit      uint32 // the broker's queue limit as granted; 0 until it answered
	State           int    // 0 pending, 1 active, 2 ended
	Resubscribed    uint64 // made again on a new connection after one was lost (each: a loss)
	LastSequence    uint64 // the Sequence of the last message received
}

// Stats returns the subscription's counters.
func (s *Subscription) Stats() (SubscriptionStats, error) {
	var st C.flume_subscription_stats
	C.flume_subscription_stats_init(&st, C.sizeof_flume_subscription_stats)
	err := s.use(func(h *C.flume_subscription) error {
		return check(func() C.int { return C.flume_subscription_get_stats(&st, h) })
	})
	if err != nil {
		return SubscriptionStats{}, err
	}
	out := SubscriptionStats{
		Received: uint64(st.received), DroppedByBroker: uint64(st.dropped_by_broker),
		DroppedLocally: uint64(st.dropped_locally), Queued: uint64(st.queued),
		QueuedHighWater: uint64(st.queued_high_water), QueueLimit: uint32(st.queue_limit),
		State: int(st.state), Resubscribed: uint64(st.resubscribed),
		LastSequence: uint64(st.last_sequence),
	}
	select {
	case s.turn <- struct{}{}:
		out.Queued += uint64(len(s.pending) - s.next)
		s.release()
	default: // a receiver holds the turn: its prefetched batch is not counted
	}
	return out, nil
}

// Close unsubscribes, wakes every goroutine waiting in Next (they return ErrClosed), stops
// Chan's goroutine and frees the subscription. Messages not yet taken are discarded. Idempotent.
func (s *Subscription) Close() error {
	s.closed.Do(func() {
		close(s.done)
		s.cancel()
		s.mu.RLock()
		if s.h != nil {
			C.flume_subscription_unsubscribe(s.h) // makes the fd readable: a waiter wakes
		}
		s.mu.RUnlock()
		s.file.Close() // and any wait still parked returns
		s.mu.Lock()
		h := s.h
		s.h = nil
		s.mu.Unlock()
		C.flume_subscription_free(h)
		s.wg.Wait()
		s.client.forget(s)
	})
	return nil
}
