package flume_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"flume.example.org/go/flume"
)

// osThreads is this process's thread count (Linux /proc).
func osThreads(t *testing.T) int {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Fatal("no Threads: line in /proc/self/status")
	return 0
}

// 1000 goroutines waiting in Next park on the netpoller: they add no OS thread each. (A blocking
// recv in C would hold 1000 threads. On a quiet machine the count does not move at all; on a loaded
// one the runtime starts threads for the goroutines whose first, non-waiting C call is still
// running when others start theirs, and those threads then sit idle. The goroutines start in
// batches of 50 so that burst stays small, and the bound is a fifth: 1000 blocked waiters would
// be five times over it. One CI run on a busy machine saw +124 with all 1000 started at once.)
func TestThousandWaitingNextsUseNoThreadEach(t *testing.T) {
	b := startBroker(t)
	c := connect(t, b)
	const n = 1000
	subs := make([]*flume.Subscription, n)
	for i := range subs {
		subs[i] = subscribe(t, c, fmt.Sprintf("idle.%d", i))
	}
	before := osThreads(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	got := make(chan string, n)
	for i, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if m, err := s.Next(ctx); err == nil {
				got <- m.Subject
			}
		}()
		if i%50 == 49 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(500 * time.Millisecond) // every goroutine is parked in Next by now
	waiting := osThreads(t)
	t.Logf("OS threads: %d before, %d with %d goroutines waiting in Next (+%d)", before, waiting, n, waiting-before)
	if waiting-before > n/5 {
		t.Errorf("%d waiting Nexts added %d OS threads", n, waiting-before)
	}
	// And they all wake for their message.
	for i := 0; i < n; i++ {
		if err := c.Publish(fmt.Sprintf("idle.%d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if len(got) != n {
		t.Fatalf("%d of %d waiters received their message", len(got), n)
	}
}
