package flume_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"flume.example.org/go/flume"
)

// brokerBinary finds flume-broker: $FLUME_BROKER (then it must exist), else a build of this tree,
// else PATH. Without one the test is skipped, unless FLUME_GO_REQUIRE_BROKER=1 (scripts/test.sh).
func brokerBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("FLUME_BROKER"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("FLUME_BROKER=%s: %v", p, err)
		}
		return p
	}
	for _, p := range []string{"../../build/release/broker/flume-broker", "../../build/dev-release/broker/flume-broker"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("flume-broker"); err == nil {
		return p
	}
	if os.Getenv("FLUME_GO_REQUIRE_BROKER") == "1" {
		t.Fatal("no flume-broker binary (set FLUME_BROKER)")
	}
	t.Skip("no flume-broker binary: set FLUME_BROKER or build the release preset")
	return ""
}

// freeUDPPort is a port nothing listens on right now (another process could take it before the
// broker does; the broker then fails to bind and the test says so).
func freeUDPPort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// startBrokerProcess runs flume-broker on loopback and returns its URL and certificate; the
// process is interrupted (then killed, if it does not exit) when the test ends.
func startBrokerProcess(t *testing.T) (url, cert string) {
	t.Helper()
	bin := brokerBinary(t)
	dir := t.TempDir()
	addr := freeUDPPort(t)
	cmd := exec.Command(bin, "-l", addr, "--data-dir", dir, "--shutdown-grace", "0", "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Error("flume-broker did not exit on SIGINT within 5 s")
		}
	})
	url, cert = "flume://"+addr, filepath.Join(dir, "cert.pem")
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("flume-broker exited: %v", err)
		default:
		}
		if _, err := os.Stat(cert); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			c, err := flume.Connect(ctx, url, flume.WithCAFile(cert), flume.WithReconnect(false))
			cancel()
			if err == nil {
				c.Close()
				return url, cert
			}
			if time.Now().After(deadline) {
				t.Fatalf("flume-broker at %s does not answer: %v", url, err)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("flume-broker made no certificate in %s", dir)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWithBrokerBinary(t *testing.T) {
	url, cert := startBrokerProcess(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := flume.Connect(ctx, url, flume.WithCAFile(cert), flume.WithName("go-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	all, err := c.Subscribe(ctx, "binary.>")
	if err != nil {
		t.Fatal(err)
	}
	one, err := c.Subscribe(ctx, "binary.*.one")
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for i := 0; i < n; i++ {
		subject := "binary.x.two"
		if i%2 == 0 {
			subject = "binary.x.one"
		}
		if err := c.Publish(subject, []byte{byte(i), byte(i >> 8)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		m, err := all.Next(ctx)
		if err != nil {
			t.Fatalf("binary.> after %d: %v", i, err)
		}
		if int(m.Data[0])|int(m.Data[1])<<8 != i {
			t.Fatalf("binary.>: message %d out of order", i)
		}
	}
	for i := 0; i < n; i += 2 {
		m, err := one.Next(ctx)
		if err != nil || m.Subject != "binary.x.one" || int(m.Data[0])|int(m.Data[1])<<8 != i {
			t.Fatalf("binary.*.one: %v %v", m, err)
		}
	}
	// Nothing else came: the odd messages did not match.
	short, stop := context.WithTimeout(ctx, 100*time.Millisecond)
	defer stop()
	if _, err := one.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("binary.*.one got more: %v", err)
	}
}
