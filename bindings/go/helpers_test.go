package flume_test

import (
	"context"
	"testing"
	"time"

	"flume.example.org/go/flume"
	"go.uber.org/goleak"
)

// Every test of the package ends with no goroutine of this package's left running.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startBroker starts an embedded broker on a free loopback port with its certificate in a
// temporary directory; it stops when the test ends.
func startBroker(t testing.TB, opts ...flume.BrokerOption) *flume.Broker {
	t.Helper()
	opts = append([]flume.BrokerOption{flume.BrokerDataDir(t.TempDir()),
		flume.BrokerShutdownGrace(0)}, opts...)
	b, err := flume.StartBroker(opts...)
	if err != nil {
		t.Fatalf("StartBroker: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// connect connects to b, trusting its certificate; the client closes when the test ends.
func connect(t testing.TB, b *flume.Broker, opts ...flume.Option) *flume.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts = append([]flume.Option{flume.WithCAFile(b.CertificatePath())}, opts...)
	c, err := flume.Connect(ctx, b.URL(), opts...)
	if err != nil {
		t.Fatalf("Connect(%s): %v", b.URL(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func subscribe(t testing.TB, c *flume.Client, pattern string, opts ...flume.SubOption) *flume.Subscription {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.Subscribe(ctx, pattern, opts...)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", pattern, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func flush(t testing.TB, c *flume.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// next takes one message within a bounded time, failing the test otherwise.
func next(t testing.TB, s *flume.Subscription) *flume.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("Next on %q: %v", s.Pattern(), err)
	}
	return m
}

// noMessage checks that nothing arrives on s within d.
func noMessage(t testing.TB, s *flume.Subscription, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if m, err := s.Next(ctx); err == nil {
		t.Fatalf("%q received %q (%q), expected nothing", s.Pattern(), m.Subject, m.Data)
	}
}

// waitReceived waits (bounded) until s's client has received n messages for it.
func waitReceived(t testing.TB, s *flume.Subscription, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := s.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.Received >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q: %d of %d messages arrived (%+v)", s.Pattern(), st.Received, n, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func withBigQueues() []flume.SubOption {
	return []flume.SubOption{flume.WithQueueLimit(65536), flume.WithLocalQueueLimit(1 << 20)}
}
