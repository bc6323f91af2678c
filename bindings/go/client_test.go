package flume_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"flume.example.org/go/flume"
)

func TestRoundTrip(t *testing.T) {
	b := startBroker(t)
	c := connect(t, b)
	s := subscribe(t, c, "greetings.world")
	if err := c.Publish("greetings.world", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	m := next(t, s)
	if m.Subject != "greetings.world" || string(m.Data) != "hello" || m.Sub != s {
		t.Fatalf("got %q %q", m.Subject, m.Data)
	}
	// Binary payloads of every size the broker takes, and the empty one, arrive intact.
	sizes := []int{0, 1, 127, 128, 1500, 65536}
	for _, n := range sizes {
		p := bytes.Repeat([]byte{byte(n), 0, 0xff}, n/3+1)[:n]
		if err := c.Publish("greetings.world", p); err != nil {
			t.Fatalf("publish %d bytes: %v", n, err)
		}
	}
	for _, n := range sizes {
		m := next(t, s)
		if want := bytes.Repeat([]byte{byte(n), 0, 0xff}, n/3+1)[:n]; !bytes.Equal(m.Data, want) {
			t.Fatalf("payload of %d bytes came back as %d bytes", n, len(m.Data))
		}
	}
	if c.MaxPayload() != 65536 {
		t.Fatalf("MaxPayload = %d", c.MaxPayload())
	}
	st, err := s.Stats()
	if err != nil || st.Received != uint64(1+len(sizes)) || st.State != 1 {
		t.Fatalf("stats %+v %v", st, err)
	}
}

func TestMessagesKeptAfterNextStayIntact(t *testing.T) {
	b := startBroker(t)
	c := connect(t, b)
	s := subscribe(t, c, "keep", flume.WithQueueLimit(65536))
	var kept []*flume.Msg
	for i := 0; i < 3000; i++ {
		if err := c.Publish("keep", []byte(fmt.Sprintf("m%d", i))); err != nil {
			t.Fatal(err)
		}
		if i%500 == 0 {
			flush(t, c)
		}
	}
	for i := 0; i < 3000; i++ {
		kept = append(kept, next(t, s))
	}
	for i, m := range kept {
		if string(m.Data) != fmt.Sprintf("m%d", i) {
			t.Fatalf("message %d is %q", i, m.Data)
		}
	}
}

func TestWildcards(t *testing.T) {
	b := startBroker(t)
	c := connect(t, b)
	star := subscribe(t, c, "orders.*.created")
	tail := subscribe(t, c, "orders.>")
	exact := subscribe(t, c, "orders.eu.created")
	for _, subj := range []string{"orders.eu.created", "orders.us.created", "orders.eu.cancelled",
		"orders.eu.created.late", "orders", "shipments.eu.created"} {
		if err := c.Publish(subj, []byte(subj)); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, c)
	expect := map[*flume.Subscription][]string{
		star:  {"orders.eu.created", "orders.us.created"},
		tail:  {"orders.eu.created", "orders.us.created", "orders.eu.cancelled", "orders.eu.created.late"},
		exact: {"orders.eu.created"},
	}
	for s, subjects := range expect {
		for _, want := range subjects {
			if m := next(t, s); m.Subject != want || string(m.Data) != want {
				t.Fatalf("%q: got %q, want %q", s.Pattern(), m.Subject, want)
			}
		}
		noMessage(t, s, 100*time.Millisecond)
	}
	if ok, err := flume.PatternMatches("orders.*", "orders.eu"); !ok || err != nil {
		t.Fatalf("PatternMatches: %v %v", ok, err)
	}
	if ok, err := flume.PatternMatches("orders.*", "orders.eu.x"); ok || err != nil {
		t.Fatalf("PatternMatches: %v %v", ok, err)
	}
}

func TestChanDeliversAndClosesWhenUnsubscribed(t *testing.T) {
	b := startBroker(t)
	c := connect(t, b)
	s := subscribe(t, c, "chan.>", flume.WithQueueLimit(65536))
	ch := s.Chan()
	if s.Chan() != ch {
		t.Fatal("Chan returned a second channel")
	}
	const n = 5000
	for i := 0; i < n; i++ {
		if err := c.Publish(fmt.Sprintf("chan.%d", i%7), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, c)
	// Flush means the broker has routed them, not that they arrived: wait until they have
	// (libflume's queue or the channel), then unsubscribe; the rest is drained, then the close.
	waitReceived(t, s, n)
	if err := s.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	got := 0
	timeout := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case m, ok := <-ch:
			if !ok {
				done = true
				break
			}
			if m.Data[0] != byte(got) || m.Subject != fmt.Sprintf("chan.%d", got%7) {
				t.Fatalf("message %d: %q %v", got, m.Subject, m.Data)
			}
			got++
		case <-timeout:
			t.Fatalf("channel not closed after %d messages", got)
		}
	}
	if got != n {
		st, _ := s.Stats()
		t.Fatalf("received %d of %d (%+v)", got, n, st)
	}
	if err := s.Err(); !errors.Is(err, flume.ErrClosed) {
		t.Fatalf("Err = %v", err)
	}
}

func TestThousandSubscriptions(t *testing.T) {
	b := startBroker(t)
	c := connect(t, b)
	const n = 1000
	subs := make([]*flume.Subscription, n)
	for i := range subs {
		subs[i] = subscribe(t, c, fmt.Sprintf("many.%d", i))
	}
	for i := 0; i < n; i++ {
		if err := c.Publish(fmt.Sprintf("many.%d", i), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, c)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			m, err := s.Next(ctx)
			if err != nil {
				errs <- err
			} else if string(m.Data) != fmt.Sprint(i) {
				errs <- fmt.Errorf("subscription %d got %q", i, m.Data)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestFanInFanOut(t *testing.T) {
	b := startBroker(t)
	const publishers, subscribers, each = 8, 8, 500
	pubs := make([]*flume.Client, 2)
	for i := range pubs {
		pubs[i] = connect(t, b)
	}
	subClient := connect(t, b)
	subs := make([]*flume.Subscription, subscribers)
	for i := range subs {
		// Every subscriber sees every message: fan-out; many publishers: fan-in.
		subs[i] = subscribe(t, subClient, "fan.>", flume.WithQueueLimit(65536))
	}
	var wg sync.WaitGroup
	for p := 0; p < publishers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := pubs[p%len(pubs)]
			for i := 0; i < each; i++ {
				if err := c.Publish(fmt.Sprintf("fan.%d", p), []byte{byte(p), byte(i), byte(i >> 8)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, c := range pubs {
		flush(t, c)
	}
	results := make(chan error, subscribers)
	for _, s := range subs {
		go func() {
			lastSeen := make([]int, publishers)
			for i := range lastSeen {
				lastSeen[i] = -1
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for k := 0; k < publishers*each; k++ {
				m, err := s.Next(ctx)
				if err != nil {
					results <- fmt.Errorf("after %d messages: %w", k, err)
					return
				}
				p, i := int(m.Data[0]), int(m.Data[1])|int(m.Data[2])<<8
				if i != lastSeen[p]+1 { // per publisher, in publish order
					results <- fmt.Errorf("publisher %d: message %d after %d", p, i, lastSeen[p])
					return
				}
				lastSeen[p] = i
			}
			results <- nil
		}()
	}
	for range subs {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
}

func TestSlowConsumerDoesNotHoldFastOne(t *testing.T) {
	b := startBroker(t)
	pub := connect(t, b)
	slowClient := connect(t, b)
	fastClient := connect(t, b)
	// The slow one never reads; its broker queue (16) and local queue (16) overflow, dropping.
	slow := subscribe(t, slowClient, "stream", flume.WithQueueLimit(16), flume.WithLocalQueueLimit(16))
	fast := subscribe(t, fastClient, "stream", flume.WithQueueLimit(65536))
	const n = 20000
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for i := 0; i < n; i++ {
			m, err := fast.Next(ctx)
			if err != nil {
				done <- fmt.Errorf("fast subscriber after %d: %w", i, err)
				return
			}
			if got := int(m.Data[0]) | int(m.Data[1])<<8 | int(m.Data[2])<<16; got != i {
				done <- fmt.Errorf("fast subscriber: message %d is %d", i, got)
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < n; i++ {
		if err := pub.Publish("stream", []byte{byte(i), byte(i >> 8), byte(i >> 16)}); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 999 {
			flush(t, pub)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st, err := slow.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Received >= n || st.DroppedByBroker+st.DroppedLocally == 0 {
		t.Fatalf("the slow subscriber dropped nothing: %+v", st)
	}
}

func TestManyGoroutinesShareOneClientAndSubscription(t *testing.T) {
	b := startBroker(t)
	c := connect(t, b)
	s := subscribe(t, c, "shared", flume.WithQueueLimit(65536))
	const goroutines, each = 16, 300
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := c.Publish("shared", []byte{byte(g)}); err != nil {
					t.Error(err)
					return
				}
			}
			_ = c.Flush(context.Background())
		}()
	}
	counts := make([]int, goroutines)
	var mu sync.Mutex
	var rg sync.WaitGroup
	total := goroutines * each
	taken := make(chan struct{}, total)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for r := 0; r < 8; r++ {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for {
				m, err := s.Next(ctx)
				if err != nil {
					return
				}
				mu.Lock()
				counts[m.Data[0]]++
				mu.Unlock()
				taken <- struct{}{}
			}
		}()
	}
	wg.Wait()
	for i := 0; i < total; i++ {
		select {
		case <-taken:
		case <-ctx.Done():
			t.Fatalf("received %d of %d", i, total)
		}
	}
	cancel()
	rg.Wait()
	for g, n := range counts {
		if n != each {
			t.Fatalf("goroutine %d: %d of %d", g, n, each)
		}
	}
}
