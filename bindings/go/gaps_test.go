package flume_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"flume.example.org/go/flume"
)

// numbered is a ~1 KiB payload carrying i in its first 8 bytes.
func numbered(i uint64) []byte {
	b := make([]byte, 1024)
	binary.BigEndian.PutUint64(b, i)
	return b
}

func number(m *flume.Msg) uint64 { return binary.BigEndian.Uint64(m.Data) }

// drainItems takes everything s yields until it is quiet for quiet.
func drainItems(t *testing.T, s *flume.Subscription, quiet time.Duration) []*flume.Msg {
	t.Helper()
	var items []*flume.Msg
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), quiet)
		m, err := s.Next(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return items
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		items = append(items, m)
	}
	t.Fatal("the subscription did not go quiet")
	return nil
}

func TestSequenceNumbersMessages(t *testing.T) {
	b := startBroker(t)
	c := connect(t, b)
	s := subscribe(t, c, "numbered.>")
	for i := range 100 {
		if err := c.Publish("numbered.x", numbered(uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		m := next(t, s)
		if m.Sequence != uint64(i+1) || m.Gap != nil {
			t.Fatalf("message %d: Sequence %d, Gap %v", i, m.Sequence, m.Gap)
		}
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.LastSequence != 100 || st.Resubscribed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A subscriber that does not read: what arrived and what was counted add up to what was
// published, with gap items where the drops were (WithGaps) or only jumps in Sequence.
func TestDropsAddUpToWhatWasPublished(t *testing.T) {
	for _, gaps := range []bool{false, true} {
		t.Run(fmt.Sprintf("gaps=%v", gaps), func(t *testing.T) {
			b := startBroker(t)
			c := connect(t, b)
			opts := []flume.SubOption{flume.WithQueueLimit(16), flume.WithLocalQueueLimit(16)}
			if gaps {
				opts = append(opts, flume.WithGaps())
			}
			s := subscribe(t, c, "drops.x", opts...)
			const published = 2000
			for i := range published {
				if err := c.Publish("drops.x", numbered(uint64(i))); err != nil {
					t.Fatal(err)
				}
			}
			flush(t, c)
			items := drainItems(t, s, 500*time.Millisecond)
			st, err := s.Stats()
			if err != nil {
				t.Fatal(err)
			}
			dropped := st.DroppedByBroker + st.DroppedLocally
			if dropped == 0 {
				t.Fatal("nothing dropped: nothing tested")
			}
			var messages, gapItems, counted uint64
			var previous *flume.Msg
			var since uint64 // what the gaps since the previous message count
			for _, m := range items {
				if m.Gap != nil {
					gapItems++
					if !gaps {
						t.Fatal("a gap item without WithGaps")
					}
					if m.Gap.Resubscribed || m.Gap.DroppedByBroker+m.Gap.DroppedLocally == 0 || m.Subject != "" || len(m.Data) != 0 {
						t.Fatalf("gap %+v %+v", m, *m.Gap)
					}
					// libflume merges a new gap only into one still queued (flume.h): one
					// already taken can be followed by another (seen under -race). The second then stands after what the first
					// counts: its Sequence is the first's plus the first's count.
					want := since
					if previous != nil {
						want += previous.Sequence
					}
					if m.Sequence != want {
						t.Fatalf("gap Sequence %d, want %d", m.Sequence, want)
					}
					counted += m.Gap.DroppedByBroker + m.Gap.DroppedLocally
					since += m.Gap.DroppedByBroker + m.Gap.DroppedLocally
					continue
				}
				messages++
				if previous != nil {
					if m.Sequence-previous.Sequence != number(m)-number(previous) {
						t.Fatalf("Sequence %d after %d, numbers %d after %d", m.Sequence, previous.Sequence, number(m), number(previous))
					}
					if gaps && m.Sequence != previous.Sequence+1+since {
						t.Fatalf("Sequence %d after %d and gaps counting %d", m.Sequence, previous.Sequence, since)
					}
				}
				previous, since = m, 0
			}
			if messages+dropped != published {
				t.Fatalf("%d messages + %d dropped != %d", messages, dropped, published)
			}
			if gaps && (gapItems == 0 || counted != dropped) {
				t.Fatalf("%d gaps counting %d, %d dropped", gapItems, counted, dropped)
			}
			if st.LastSequence != published {
				t.Fatalf("LastSequence %d", st.LastSequence)
			}
		})
	}
}

// Chan carries gap items too.
func TestChanCarriesGaps(t *testing.T) {
	b := startBroker(t)
	c := connect(t, b)
	s := subscribe(t, c, "drops.chan", flume.WithQueueLimit(16), flume.WithLocalQueueLimit(16),
		flume.WithGaps(), flume.WithChanSize(0))
	for i := range 2000 {
		if err := c.Publish("drops.chan", numbered(uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, c)
	time.Sleep(200 * time.Millisecond)
	var messages, counted uint64
	ch := s.Chan()
	for quiet := false; !quiet; {
		select {
		case m := <-ch:
			if m.Gap != nil {
				counted += m.Gap.DroppedByBroker + m.Gap.DroppedLocally
			} else {
				messages++
			}
		case <-time.After(500 * time.Millisecond):
			quiet = true
		}
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if counted == 0 || counted != st.DroppedByBroker+st.DroppedLocally || messages+counted != 2000 {
		t.Fatalf("%d messages, %d counted in gaps, stats %+v", messages, counted, st)
	}
}

// A broker stopped and started again on its port and data directory: one gap, Resubscribed.
func TestBrokerRestartIsOneResubscribedGap(t *testing.T) {
	dir := t.TempDir()
	first, err := flume.StartBroker(flume.BrokerDataDir(dir), flume.BrokerShutdownGrace(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	addr := first.Addr()
	c := connect(t, first, flume.WithConnectTimeout(5*time.Second),
		flume.WithReconnectBackoff(50*time.Millisecond, 250*time.Millisecond))
	s := subscribe(t, c, "restart.>", flume.WithGaps())
	if err := c.Publish("restart.x", numbered(0)); err != nil {
		t.Fatal(err)
	}
	if m := next(t, s); m.Gap != nil || m.Sequence != 1 {
		t.Fatalf("first: %+v", m)
	}
	first.Close()
	second, err := flume.StartBroker(flume.BrokerDataDir(dir), flume.BrokerListen(addr),
		flume.BrokerShutdownGrace(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := s.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.Resubscribed == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not resubscribed: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	flush(t, c)
	if err := c.Publish("restart.x", numbered(1)); err != nil {
		t.Fatal(err)
	}
	g := next(t, s)
	if g.Gap == nil || !g.Gap.Resubscribed || g.Gap.DroppedByBroker+g.Gap.DroppedLocally != 0 || g.Sequence != 1 {
		t.Fatalf("expected a resubscribed gap after 1, got %+v (%+v)", g, g.Gap)
	}
	if g.Gap.Disconnected <= 0 || g.Gap.Disconnected >= 10*time.Second {
		t.Fatalf("Disconnected %v", g.Gap.Disconnected)
	}
	m := next(t, s)
	if m.Gap != nil || number(m) != 1 || m.Sequence != 2 {
		t.Fatalf("after the gap: %+v", m)
	}
}
