package flume_test

import (
	"context"
	"testing"
	"time"
)

// BenchmarkNextQueued: taking messages already queued in the subscription (128 bytes), the
// receive path alone. The messages are published outside the timer, in rounds.
func BenchmarkNextQueued(b *testing.B) {
	br := startBroker(b)
	c := connect(b, br)
	const round = 100000
	s := subscribe(b, c, "bench.queued", withBigQueues()...)
	payload := make([]byte, 128)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(round, b.N-done)
		b.StopTimer()
		for i := 0; i < n; i++ {
			if err := c.Publish("bench.queued", payload); err != nil {
				b.Fatal(err)
			}
		}
		st, _ := s.Stats()
		waitReceived(b, s, st.Received-st.Queued+uint64(n))
		b.StartTimer()
		for i := 0; i < n; i++ {
			if _, err := s.Next(ctx); err != nil {
				b.Fatal(err)
			}
		}
		done += n
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkPublish: one goroutine publishing 128-byte messages (Flush every 16384).
func BenchmarkPublish(b *testing.B) {
	br := startBroker(b)
	c := connect(b, br)
	payload := make([]byte, 128)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Publish("bench.publish", payload); err != nil {
			b.Fatal(err)
		}
		if i%16384 == 16383 {
			if err := c.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}
