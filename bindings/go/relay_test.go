package flume_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"flume.example.org/go/flume"
)

// relay forwards UDP datagrams between one client and a broker, on loopback, until paused:
// then it drops everything, so the broker falls silent without the connection failing at once.
type relay struct {
	url    string
	paused atomic.Bool
}

func (r *relay) pause() { r.paused.Store(true) }

func startRelay(t *testing.T, b *flume.Broker) *relay {
	t.Helper()
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	baddr, err := net.ResolveUDPAddr("udp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	back, err := net.DialUDP("udp", nil, baddr)
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{url: "flume://" + front.LocalAddr().String()}
	var client atomic.Pointer[net.UDPAddr]
	done := make(chan struct{}, 2)
	go func() { // client -> broker; ends when the sockets close
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 65536)
		for {
			n, from, err := front.ReadFromUDP(buf)
			if err != nil {
				return
			}
			client.Store(from)
			if !r.paused.Load() {
				back.Write(buf[:n])
			}
		}
	}()
	go func() { // broker -> client
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 65536)
		for {
			n, err := back.Read(buf)
			if err != nil {
				return
			}
			if to := client.Load(); to != nil && !r.paused.Load() {
				front.WriteToUDP(buf[:n], to)
			}
		}
	}()
	t.Cleanup(func() {
		front.Close()
		back.Close()
		<-done
		<-done
	})
	return r
}

// connectURL connects to url trusting b's certificate (a relay in front of b).
func connectURL(t *testing.T, url string, b *flume.Broker) *flume.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := flume.Connect(ctx, url, flume.WithCAFile(b.CertificatePath()))
	if err != nil {
		t.Fatalf("Connect(%s): %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
