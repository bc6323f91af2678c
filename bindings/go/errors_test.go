package flume_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"flume.example.org/go/flume"
	"go.uber.org/goleak"
)

func TestEveryCodeHasASentinel(t *testing.T) {
	known := map[flume.Code]bool{}
	for _, e := range flume.Sentinels() {
		known[e.Code] = true
		if !errors.Is(&flume.Error{Code: e.Code, Message: "x"}, e) {
			t.Fatalf("errors.Is fails for %s", e.Code.Name())
		}
	}
	// Every code libflume names must have a sentinel here (a new FLUME_E* in flume.h fails this).
	for code := -1; code >= -200; code-- {
		if name := flume.Code(code).Name(); name != "FLUME_E?" && !known[flume.Code(code)] {
			t.Errorf("%s (%d) has no sentinel in errors.go", name, code)
		}
	}
	if errors.Is(&flume.Error{Code: flume.CodeTLS, Message: "x"}, flume.ErrClosed) {
		t.Fatal("a TLS error matches ErrClosed")
	}
}

// Every bad input gets an error that says what is wrong, with the right code.
func TestBadInputsGetClearErrors(t *testing.T) {
	b := startBroker(t)
	c := connect(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, subErr := c.Subscribe(ctx, "a..b")
	_, subEmpty := c.Subscribe(ctx, "")
	_, subBadOpt := c.Subscribe(ctx, "a", flume.WithQueueLimit(0))
	_, subBatch := c.Subscribe(ctx, "a", flume.WithBatch(0))
	_, subOverflow := c.Subscribe(ctx, "a", flume.WithOverflow(9))
	_, connEmpty := flume.Connect(ctx, "")
	_, connBadURL := flume.Connect(ctx, "flume://host:notaport")
	_, connBadOpt := flume.Connect(ctx, b.URL(), flume.WithConnectTimeout(-time.Second))
	_, connBackoff := flume.Connect(ctx, b.URL(), flume.WithReconnectBackoff(time.Second, time.Millisecond))
	_, connTwoTrusts := flume.Connect(ctx, b.URL(), flume.WithCAFile(b.CertificatePath()), flume.WithInsecure())
	_, connNoCA := flume.Connect(ctx, b.URL(), flume.WithCAFile(filepath.Join(t.TempDir(), "missing.pem")))
	_, brokerBad := flume.StartBroker(flume.BrokerListen("not an address"), flume.BrokerDataDir(t.TempDir()))
	_, brokerCert := flume.StartBroker(flume.BrokerCertificate("/nonexistent.pem", "/nonexistent.key"),
		flume.BrokerDataDir(t.TempDir()))
	_, encodeNoSubject := flume.AppendFrame(nil, flume.FramePublish, "", nil, 0)
	cases := []struct {
		name string
		err  error
		want *flume.Error
		says string
	}{
		{"publish to an invalid subject", c.Publish("a..b", nil), flume.ErrInvalidSubject, ""},
		{"publish to an empty subject", c.Publish("", []byte("x")), flume.ErrInvalidSubject, ""},
		{"publish to a wildcard", c.Publish("a.*", nil), flume.ErrInvalidSubject, ""},
		{"publish over the payload limit", c.Publish("a", make([]byte, 65537)), flume.ErrPayloadTooLarge, ""},
		{"subscribe to an invalid pattern", subErr, flume.ErrInvalidPattern, ""},
		{"subscribe to an empty pattern", subEmpty, flume.ErrInvalidPattern, ""},
		{"queue limit 0", subBadOpt, flume.ErrInvalid, "WithQueueLimit"},
		{"batch 0", subBatch, flume.ErrInvalid, "WithBatch"},
		{"unknown overflow policy", subOverflow, flume.ErrInvalid, "WithOverflow"},
		{"empty URL", connEmpty, flume.ErrInvalid, "URL"},
		{"bad port", connBadURL, flume.ErrInvalid, "port"},
		{"negative connect timeout", connBadOpt, flume.ErrInvalid, "WithConnectTimeout"},
		{"backoff min > max", connBackoff, flume.ErrInvalid, "WithReconnectBackoff"},
		{"two ways to trust", connTwoTrusts, flume.ErrInvalid, ""},
		{"missing CA file", connNoCA, nil, "missing.pem"},
		{"bad listen address", brokerBad, flume.ErrInvalid, ""},
		{"missing certificate", brokerCert, flume.ErrInvalid, "nonexistent"},
		{"encode PUBLISH without subject", encodeNoSubject, flume.ErrMissingSubject, ""},
		{"validate subject", flume.ValidateSubject("a b"), flume.ErrInvalidSubject, ""},
		{"validate pattern", flume.ValidatePattern("a.>.b"), flume.ErrInvalidPattern, ""},
	}
	for _, tc := range cases {
		var fe *flume.Error
		switch {
		case tc.err == nil:
			t.Errorf("%s: no error", tc.name)
		case !errors.As(tc.err, &fe):
			t.Errorf("%s: %T %v is not a *flume.Error", tc.name, tc.err, tc.err)
		case tc.want != nil && !errors.Is(tc.err, tc.want):
			t.Errorf("%s: %v, want %s", tc.name, tc.err, tc.want.Code.Name())
		case fe.Message == "":
			t.Errorf("%s: %v has no message", tc.name, tc.err)
		case tc.says != "" && !strings.Contains(fe.Message, tc.says):
			t.Errorf("%s: %q does not mention %q", tc.name, fe.Message, tc.says)
		default:
			t.Logf("%s: %v", tc.name, tc.err)
		}
	}
}

func TestUntrustedCertificateIsATLSError(t *testing.T) {
	b := startBroker(t)
	other := startBroker(t) // another self-signed certificate
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := flume.Connect(ctx, b.URL(), flume.WithCAFile(other.CertificatePath()))
	if !errors.Is(err, flume.ErrTLS) {
		t.Fatalf("Connect with the wrong CA: %v, want ErrTLS", err)
	}
	c, err := flume.Connect(ctx, b.URL(), flume.WithPinSHA256(b.Fingerprint()))
	if err != nil {
		t.Fatalf("Connect pinned: %v", err)
	}
	c.Close()
}

func TestCallsAfterCloseReturnErrClosed(t *testing.T) {
	b := startBroker(t)
	c := connect(t, b)
	s := subscribe(t, c, "x")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Next(ctx); !errors.Is(err, flume.ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	if _, err := s.Stats(); !errors.Is(err, flume.ErrClosed) {
		t.Fatalf("Stats after Close: %v", err)
	}
	if err := s.Unsubscribe(); !errors.Is(err, flume.ErrClosed) {
		t.Fatalf("Unsubscribe after Close: %v", err)
	}
	s2 := subscribe(t, c, "y")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for name, err := range map[string]error{
		"Publish": c.Publish("x", nil), "Flush": c.Flush(ctx),
	} {
		if !errors.Is(err, flume.ErrClosed) {
			t.Fatalf("%s after Close: %v", name, err)
		}
	}
	if _, err := c.Subscribe(ctx, "x"); !errors.Is(err, flume.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
	if _, err := s2.Next(ctx); !errors.Is(err, flume.ErrClosed) {
		t.Fatalf("a subscription's Next after its client's Close: %v", err)
	}
}

func TestUnsubscribeDrainsThenEnds(t *testing.T) {
	b := startBroker(t)
	c := connect(t, b)
	s := subscribe(t, c, "drain")
	for i := 0; i < 3; i++ {
		c.Publish("drain", []byte{byte(i)})
	}
	flush(t, c)
	waitReceived(t, s, 3)
	if err := s.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if m := next(t, s); m.Data[0] != byte(i) {
			t.Fatalf("message %d: %v", i, m.Data)
		}
	}
	_, err := s.Next(context.Background())
	var fe *flume.Error
	if !errors.As(err, &fe) || fe.Code != flume.CodeClosed || !strings.Contains(fe.Message, "unsubscribed") {
		t.Fatalf("after the queued messages: %v", err)
	}
}

// A UDP socket that never answers: a QUIC handshake to it waits until its timeout.
func silentPeer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return "flume://" + pc.LocalAddr().String()
}

// Every blocking call returns promptly when its context is cancelled or its deadline passes.
func TestContextEndsEveryBlockingCall(t *testing.T) {
	b := startBroker(t)
	c := connect(t, b)
	s := subscribe(t, c, "quiet")
	within := func(name string, limit time.Duration, want error, f func(ctx context.Context) error) {
		t.Helper()
		for _, mode := range []string{"cancel", "deadline"} {
			var ctx context.Context
			var cancel context.CancelFunc
			if mode == "cancel" {
				ctx, cancel = context.WithCancel(context.Background())
				time.AfterFunc(100*time.Millisecond, cancel)
			} else {
				ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
			}
			start := time.Now()
			err := f(ctx)
			took := time.Since(start)
			cancel()
			wantErr := want
			if wantErr == nil {
				wantErr = map[string]error{"cancel": context.Canceled, "deadline": context.DeadlineExceeded}[mode]
			}
			if !errors.Is(err, wantErr) {
				t.Errorf("%s (%s): %v, want %v", name, mode, err, wantErr)
			}
			if took > limit {
				t.Errorf("%s (%s) took %v", name, mode, took)
			}
		}
	}
	within("Next", time.Second, nil, func(ctx context.Context) error { _, err := s.Next(ctx); return err })
	within("Connect to a silent peer", time.Second, nil, func(ctx context.Context) error {
		_, err := flume.Connect(ctx, silentPeer(t), flume.WithInsecure(), flume.WithConnectTimeout(300*time.Millisecond))
		return err
	})
	// Flush and Subscribe wait for the broker's answer: a relay that stops forwarding (the
	// connection is not known lost before the idle timeout) makes them wait.
	r := startRelay(t, b)
	rc := connectURL(t, r.url, b)
	r.pause()
	within("Flush with the broker silent", time.Second, nil, func(ctx context.Context) error { return rc.Flush(ctx) })
	within("Subscribe with the broker silent", time.Second, nil, func(ctx context.Context) error {
		_, err := rc.Subscribe(ctx, "never")
		return err
	})
	// Already ended: nothing waits.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Next(done); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with an ended ctx: %v", err)
	}
	if _, err := flume.Connect(done, "flume://127.0.0.1:1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Connect with an ended ctx: %v", err)
	}
	// A cancelled Connect's background attempt ends within its own timeout (goleak checks).
	time.Sleep(1500 * time.Millisecond)
}

func TestCloseWakesEveryWaiter(t *testing.T) {
	b := startBroker(t)
	c := connect(t, b)
	s := subscribe(t, c, "waiters")
	ch := s.Chan()
	errs := make(chan error, 10)
	for i := 0; i < 10; i++ {
		go func() { _, err := s.Next(context.Background()); errs <- err }()
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	c.Close()
	for i := 0; i < 10; i++ {
		select {
		case err := <-errs:
			if !errors.Is(err, flume.ErrClosed) {
				t.Fatalf("waiter %d: %v", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("waiter %d still waiting after Close", i)
		}
	}
	if _, ok := <-ch; ok {
		t.Fatal("Chan delivered after Close")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Close took %v", took)
	}
}

// Close ends every goroutine the package started for a client and its subscriptions: Chan's
// feeders and waiters in Next.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	b, err := flume.StartBroker(flume.BrokerDataDir(t.TempDir()), flume.BrokerShutdownGrace(0))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := flume.Connect(ctx, b.URL(), flume.WithCAFile(b.CertificatePath()))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	for i := 0; i < 20; i++ {
		s, err := c.Subscribe(ctx, "leak."+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		s.Chan()
		go func() { s.Next(context.Background()); done <- struct{}{} }()
	}
	c.Publish("leak.0", []byte("x"))
	c.Flush(ctx)
	c.Close()
	for i := 0; i < 20; i++ {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("a Next still waits after Close")
		}
	}
}

// Err answers at once, also while another goroutine waits in Next.
func TestErrDoesNotWaitForAWaitingNext(t *testing.T) {
	b := startBroker(t)
	c := connect(t, b)
	s := subscribe(t, c, "err")
	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan struct{})
	go func() { s.Next(ctx); close(waiting) }()
	time.Sleep(50 * time.Millisecond)
	answered := make(chan error, 1)
	go func() { answered <- s.Err() }()
	select {
	case err := <-answered:
		if err != nil {
			t.Fatalf("Err of a live subscription: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Err waited for Next")
	}
	cancel()
	<-waiting
}
