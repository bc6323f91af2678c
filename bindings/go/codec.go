package flume

/*
#include <stdlib.h>
#include <flume/flume.h>

// The decoder's outputs live in C memory: flume_decoder_next may point them into the caller's
// bytes (Go memory), and C must not store Go pointers in Go memory.
typedef struct go_flume_decoded {
	flume_frame frame;
	size_t consumed;
} go_flume_decoded;
*/
import "C"

import (
	"strings"
	"sync"
	"unsafe"
)

// FrameType is a frame's type byte (docs/protocol.md §3).
type FrameType uint8

// The frame types of flume.h.
const (
	FrameHello        FrameType = C.FLUME_FRAME_HELLO
	FrameOK           FrameType = C.FLUME_FRAME_OK
	FrameError        FrameType = C.FLUME_FRAME_ERROR
	FramePing         FrameType = C.FLUME_FRAME_PING
	FramePong         FrameType = C.FLUME_FRAME_PONG
	FrameSubscribe    FrameType = C.FLUME_FRAME_SUBSCRIBE
	FrameUnsubscribe  FrameType = C.FLUME_FRAME_UNSUBSCRIBE
	FramePublish      FrameType = C.FLUME_FRAME_PUBLISH
	FrameMessage      FrameType = C.FLUME_FRAME_MESSAGE
	FrameSubscription FrameType = C.FLUME_FRAME_SUBSCRIPTION
	FrameDropped      FrameType = C.FLUME_FRAME_DROPPED
)

// String is the type's wire name ("publish"), or "unknown".
func (t FrameType) String() string { return C.GoString(C.flume_frame_type_name(C.uint8_t(t))) }

// Frame is one decoded frame. Subject is the pattern for SUBSCRIBE.
type Frame struct {
	Type    FrameType
	Subject string
	Payload []byte
}

// AppendFrame encodes one frame and appends it to dst. maxPayload 0 means the default (64 KiB).
// Errors: ErrMissingSubject, ErrUnexpectedSubject, ErrInvalidSubject, ErrInvalidPattern (for
// SUBSCRIBE), ErrPayloadTooLarge.
func AppendFrame(dst []byte, t FrameType, subject string, payload []byte, maxPayload uint32) ([]byte, error) {
	size := int(C.flume_frame_size(C.size_t(len(subject)), C.size_t(len(payload))))
	start := len(dst)
	dst = append(dst, make([]byte, size)...)
	var pp unsafe.Pointer
	if len(payload) > 0 {
		pp = unsafe.Pointer(&payload[0])
	}
	s, sn := cstr(subject)
	var written C.size_t
	err := check(func() C.int {
		return C.flume_frame_encode(unsafe.Pointer(&dst[start]), C.size_t(size), &written,
			C.uint8_t(t), s, sn, pp, C.size_t(len(payload)), C.uint32_t(maxPayload))
	})
	if err != nil {
		return dst[:start], err
	}
	return dst[:start+int(written)], nil
}

// Decoder decodes one stream of frames, fed in pieces of any size. Safe for one goroutine at a
// time (calls are serialised); Close frees it.
type Decoder struct {
	mu  sync.Mutex
	h   *C.flume_decoder
	out *C.go_flume_decoded
}

// NewDecoder makes a decoder; maxPayload 0 means the default (64 KiB).
func NewDecoder(maxPayload uint32) (*Decoder, error) {
	var o C.flume_decoder_options
	C.flume_decoder_options_init(&o, C.sizeof_flume_decoder_options)
	if maxPayload > 0 {
		o.max_payload = C.uint32_t(maxPayload)
	}
	var h *C.flume_decoder
	if err := check(func() C.int { return C.flume_decoder_new(&h, &o) }); err != nil {
		return nil, err
	}
	out := (*C.go_flume_decoded)(C.calloc(1, C.sizeof_go_flume_decoded))
	return &Decoder{h: h, out: out}, nil
}

// Next consumes bytes from data and returns how many it consumed. ok is true when a frame is
// complete (call again with data[consumed:] for the rest); false when data was used up without
// completing one. A frame whose subject is invalid for its type comes back with ok true and an
// error matching ErrInvalidSubject or ErrInvalidPattern: decoding may go on. Any other error is
// permanent for this decoder.
func (d *Decoder) Next(data []byte) (frame Frame, consumed int, ok bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.h == nil {
		return Frame{}, 0, false, errorf(CodeClosed, "the decoder is closed")
	}
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	var rc C.int
	err = check(func() C.int {
		rc = C.flume_decoder_next(&d.out.frame, &d.out.consumed, d.h, p, C.size_t(len(data)))
		return rc
	})
	consumed = int(d.out.consumed)
	recoverable := err != nil && (isCode(err, CodeInvalidSubject) || isCode(err, CodeInvalidPattern))
	if rc == 1 || recoverable {
		f := &d.out.frame
		frame.Type = FrameType(f._type)
		if f.subject_length > 0 {
			frame.Subject = strings.Clone(unsafe.String((*byte)(unsafe.Pointer(f.subject)), int(f.subject_length)))
		}
		frame.Payload = make([]byte, int(f.payload_length))
		if f.payload_length > 0 {
			copy(frame.Payload, unsafe.Slice((*byte)(f.payload), int(f.payload_length)))
		}
		ok = true
	}
	return frame, consumed, ok, err
}

// Finish is to be called at the end of the stream: nil if it ended between frames, an error
// matching ErrTruncated if inside one (or the decoder's permanent error).
func (d *Decoder) Finish() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.h == nil {
		return errorf(CodeClosed, "the decoder is closed")
	}
	return check(func() C.int { return C.flume_decoder_finish(d.h) })
}

// Close frees the decoder. Idempotent.
func (d *Decoder) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.h != nil {
		C.flume_decoder_free(d.h)
		C.free(unsafe.Pointer(d.out))
		d.h, d.out = nil, nil
	}
}
