// Command flume-go-bench measures how fast one Go process receives through the binding.
//
// Side by side (the default): a flume-broker process, the C++ `flume bench --subscribers 1`
// (its publisher and its subscriber, as fast as they can) and, in this process, a Go subscriber
// on the same subject. Both subscribers are fed by the same publisher in the same run, so the
// ratio of their receive rates compares the receive paths. Latency is from the time the
// publisher meant to send each message (the first 8 bytes of its payload, CLOCK_MONOTONIC) to
// Next handing it to Go.
//
//	flume-go-bench -flume build/release/tools/flume -broker build/release/broker/flume-broker
//
// Queued (-mode queued): an embedded broker; N messages are published and left queued in the
// subscription, then taken with Next (and again with Chan): the cost of the receive path alone.
//
//	flume-go-bench -mode queued -n 2000000
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"time"
	"unsafe"

	"flume.example.org/go/flume"
)

func main() {
	mode := flag.String("mode", "side-by-side", "side-by-side or queued")
	flumeBin := flag.String("flume", "build/release/tools/flume", "the flume CLI (side-by-side)")
	brokerBin := flag.String("broker", "build/release/broker/flume-broker", "flume-broker (side-by-side)")
	duration := flag.Float64("duration", 5, "seconds measured (side-by-side)")
	warmup := flag.Float64("warmup", 1, "seconds before measuring (side-by-side)")
	queue := flag.Uint("queue", 0, "the broker's queue per subscription, for both subscribers (0: its default)")
	size := flag.Int("size", 128, "payload bytes")
	rate := flag.Float64("rate", 0, "publish rate, msg/s (side-by-side; 0: as fast as possible)")
	n := flag.Int("n", 1000000, "messages (queued)")
	asJSON := flag.Bool("json", false, "print one JSON object")
	flag.Parse()
	var out map[string]any
	var err error
	switch *mode {
	case "side-by-side":
		out, err = sideBySide(*flumeBin, *brokerBin, *duration, *warmup, uint32(*queue), *size, *rate)
	case "queued":
		out, err = queued(*n, *size)
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "flume-go-bench:", err)
		os.Exit(1)
	}
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(out)
	}
}

// monotonic is CLOCK_MONOTONIC in nanoseconds (the clock flume bench stamps payloads with), read
// once and then advanced with Go's own monotonic clock, which is cheaper than a syscall.
var monoBase, monoAt = func() (int64, time.Time) {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1 /* CLOCK_MONOTONIC */, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano(), time.Now()
}()

func monotonic() int64 { return monoBase + int64(time.Since(monoAt)) }

type cppResult struct {
	Publish struct {
		Messages uint64
		Rate     float64
	}
	Receive struct {
		Messages uint64
		Rate     float64
	}
	LatencyUS map[string]float64 `json:"latency_us"`
	Drops     map[string]float64 `json:"drops"`
	Duration  float64            `json:"duration_s"`
}

func sideBySide(flumeBin, brokerBin string, duration, warmup float64, queue uint32, size int, rate float64) (map[string]any, error) {
	dir, err := os.MkdirTemp("", "flume-go-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	broker := exec.Command(brokerBin, "-l", addr, "--data-dir", dir, "--log-level", "warn")
	broker.Stderr = os.Stderr
	if err := broker.Start(); err != nil {
		return nil, err
	}
	defer func() { broker.Process.Signal(syscall.SIGINT); broker.Wait() }()
	url, cert := "flume://"+addr, filepath.Join(dir, "cert.pem")
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(duration+warmup+30)*time.Second)
	defer cancel()
	var c *flume.Client
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err = flume.Connect(ctx, url, flume.WithCAFile(cert), flume.WithName("flume-go-bench"))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the broker at %s does not answer: %w", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer c.Close()
	var subOpts []flume.SubOption
	if queue > 0 {
		subOpts = append(subOpts, flume.WithQueueLimit(queue))
	}
	sub, err := c.Subscribe(ctx, "bench", subOpts...)
	if err != nil {
		return nil, err
	}
	args := []string{"bench", "-s", url, "--ca", cert, "--subscribers", "1", "--size", fmt.Sprint(size),
		"--duration", fmt.Sprint(duration), "--warmup", fmt.Sprint(warmup), "--json"}
	if queue > 0 {
		args = append(args, "--queue", fmt.Sprint(queue))
	}
	if rate > 0 {
		args = append(args, "--rate", fmt.Sprint(rate))
	}
	cpp := exec.Command(flumeBin, args...)
	cpp.Stderr = os.Stderr
	stdout, err := cpp.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cpp.Start(); err != nil {
		return nil, err
	}
	cppDone := make(chan []byte, 1)
	go func() {
		var buf []byte
		tmp := make([]byte, 4096)
		for {
			k, err := stdout.Read(tmp)
			buf = append(buf, tmp[:k]...)
			if err != nil {
				break
			}
		}
		cpp.Wait()
		cppDone <- buf
	}()

	// The window: flume bench's publishers start at its plan's start; the first message's stamp
	// is that start, so the measured window is [first + warmup, first + warmup + duration).
	var first, windowStart, windowEnd int64
	var received, measured uint64
	latencies := make([]int64, 0, 1<<22)
	var cppOut []byte
	for cppOut == nil {
		waitCtx, stop := context.WithTimeout(ctx, 100*time.Millisecond)
		m, err := sub.Next(waitCtx)
		stop()
		now := monotonic()
		if err != nil {
			select {
			case cppOut = <-cppDone:
			default:
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue
		}
		received++
		if len(m.Data) < 16 {
			continue
		}
		stamp := int64(binary.LittleEndian.Uint64(m.Data))
		if first == 0 {
			first = stamp
			windowStart = first + int64(warmup*1e9)
			windowEnd = windowStart + int64(duration*1e9)
		}
		if now >= windowStart && now < windowEnd {
			measured++
		}
		if stamp >= windowStart && stamp < windowEnd {
			latencies = append(latencies, now-stamp)
		}
	}
	var r cppResult
	if err := json.Unmarshal(cppOut, &r); err != nil {
		return nil, fmt.Errorf("flume bench printed %q: %w", cppOut, err)
	}
	st, _ := sub.Stats()
	goRate := float64(measured) / duration
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(q float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[min(len(latencies)-1, int(q*float64(len(latencies))))]) / 1e3
	}
	pace := "as fast as possible"
	if rate > 0 {
		pace = fmt.Sprintf("%.0f msg/s", rate)
	}
	fmt.Printf("flume-go-bench: 1 C++ publisher (%s) -> 1 C++ subscriber + 1 Go subscriber, %d-byte messages, %.1f s measured after %.1f s warm-up, broker queue %s\n",
		pace, size, duration, warmup, map[bool]string{true: fmt.Sprint(queue), false: "default"}[queue > 0])
	fmt.Printf("publish        %.0f msg/s (C++)\n", r.Publish.Rate)
	fmt.Printf("receive C++    %.0f msg/s   latency p50 %.0f µs  p90 %.0f µs  p99 %.0f µs  p99.9 %.0f µs\n",
		r.Receive.Rate, r.LatencyUS["p50"], r.LatencyUS["p90"], r.LatencyUS["p99"], r.LatencyUS["p99_9"])
	fmt.Printf("receive Go     %.0f msg/s   latency p50 %.0f µs  p90 %.0f µs  p99 %.0f µs  p99.9 %.0f µs  (%d samples)\n",
		goRate, pct(0.5), pct(0.9), pct(0.99), pct(0.999), len(latencies))
	ratio := 0.0
	if r.Receive.Rate > 0 {
		ratio = goRate / r.Receive.Rate
	}
	fmt.Printf("Go / C++       %.2f   (target >= 0.90)\n", ratio)
	fmt.Printf("drops          C++ %.0f by the broker, %.0f locally; Go %d by the broker, %d locally (%d received in all)\n", r.Drops["broker"], r.Drops["local"], st.DroppedByBroker, st.DroppedLocally, received)
	return map[string]any{
		"size": size, "duration_s": duration, "queue": queue, "rate_target": rate,
		"publish_rate": r.Publish.Rate, "cpp_receive_rate": r.Receive.Rate, "go_receive_rate": goRate,
		"ratio":                ratio,
		"cpp_latency_us":       r.LatencyUS,
		"go_latency_us":        map[string]float64{"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "p99.9": pct(0.999)},
		"go_dropped_by_broker": st.DroppedByBroker, "go_dropped_locally": st.DroppedLocally,
	}, nil
}

func freePort() (string, error) {
	// Bound and released: the broker binds it right after (a race only with other processes).
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return "", err
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return "", err
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port), nil
}

func queued(n, size int) (map[string]any, error) {
	dir, err := os.MkdirTemp("", "flume-go-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	b, err := flume.StartBroker(flume.BrokerDataDir(dir), flume.BrokerShutdownGrace(0))
	if err != nil {
		return nil, err
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := flume.Connect(ctx, b.URL(), flume.WithCAFile(b.CertificatePath()))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	out := map[string]any{"messages": n, "size": size}
	fmt.Printf("flume-go-bench: taking %d already-queued %d-byte messages\n", n, size)
	for _, form := range []string{"Next", "Chan"} {
		sub, err := c.Subscribe(ctx, "queued."+form, flume.WithQueueLimit(65536), flume.WithLocalQueueLimit(n))
		if err != nil {
			return nil, err
		}
		payload := make([]byte, size)
		for i := 0; i < n; i++ {
			if err := c.Publish("queued."+form, payload); err != nil {
				return nil, err
			}
			if i%16384 == 16383 {
				// Paced by the subscriber's arrivals, so that the broker's queue (65536) never
				// overflows while the local queue grows.
				for {
					st, err := sub.Stats()
					if err != nil {
						return nil, err
					}
					if st.Received+32768 >= uint64(i) || ctx.Err() != nil {
						break
					}
					time.Sleep(time.Millisecond)
				}
			}
		}
		for {
			st, err := sub.Stats()
			if err != nil {
				return nil, err
			}
			if st.Received+st.DroppedByBroker+st.DroppedLocally >= uint64(n) {
				if st.Received < uint64(n) {
					return nil, fmt.Errorf("%d of %d messages were dropped before the measurement (%+v)", uint64(n)-st.Received, n, st)
				}
				break
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			time.Sleep(10 * time.Millisecond)
		}
		start := time.Now()
		var bytes int
		if form == "Next" {
			for i := 0; i < n; i++ {
				m, err := sub.Next(ctx)
				if err != nil {
					return nil, err
				}
				bytes += len(m.Data)
			}
		} else {
			ch := sub.Chan()
			for i := 0; i < n; i++ {
				bytes += len((<-ch).Data)
			}
		}
		took := time.Since(start)
		sub.Close()
		rate := float64(n) / took.Seconds()
		fmt.Printf("%-5s %.2fM msg/s (%.0f ns per message, %d bytes)\n", form, rate/1e6, float64(took.Nanoseconds())/float64(n), bytes)
		out[form+"_rate"] = rate
	}
	return out, nil
}
