package flume_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"flume.example.org/go/flume"
)

// exampleDataDir keeps the examples' self-signed certificates out of the user's data directory.
func exampleDataDir() (string, func()) {
	dir, err := os.MkdirTemp("", "flume-example-")
	if err != nil {
		panic(err)
	}
	return dir, func() { os.RemoveAll(dir) }
}

// Publish and receive through an embedded broker.
func Example() {
	dir, cleanup := exampleDataDir()
	defer cleanup()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	broker, err := flume.StartBroker(flume.BrokerDataDir(dir))
	if err != nil {
		panic(err)
	}
	defer broker.Close()

	client, err := flume.Connect(ctx, broker.URL(), flume.WithCAFile(broker.CertificatePath()))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	sub, err := client.Subscribe(ctx, "orders.>")
	if err != nil {
		panic(err)
	}
	if err := client.Publish("orders.eu.created", []byte("order 1")); err != nil {
		panic(err)
	}
	msg, err := sub.Next(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: %s\n", msg.Subject, msg.Data)
	// Output: orders.eu.created: order 1
}

// Receive from a channel fed by batch receives; it closes when the subscription ends.
func ExampleSubscription_Chan() {
	dir, cleanup := exampleDataDir()
	defer cleanup()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	broker, _ := flume.StartBroker(flume.BrokerDataDir(dir))
	defer broker.Close()
	client, _ := flume.Connect(ctx, broker.URL(), flume.WithPinSHA256(broker.Fingerprint()))
	defer client.Close()

	sub, _ := client.Subscribe(ctx, "sensors.*.temp")
	for _, room := range []string{"kitchen", "attic", "cellar"} {
		client.Publish("sensors."+room+".temp", []byte(room))
	}
	for i := 0; i < 3; i++ {
		msg := <-sub.Chan()
		fmt.Println(msg.Subject)
	}
	sub.Unsubscribe() // the channel closes once what was queued is taken
	for msg := range sub.Chan() {
		fmt.Println("late:", msg.Subject)
	}
	fmt.Println(errors.Is(sub.Err(), flume.ErrClosed))
	// Output:
	// sensors.kitchen.temp
	// sensors.attic.temp
	// sensors.cellar.temp
	// true
}

// Errors carry libflume's code and message; compare them with errors.Is and read them with errors.As.
func ExampleError() {
	err := flume.ValidateSubject("orders..eu")
	fmt.Println(errors.Is(err, flume.ErrInvalidSubject))
	var fe *flume.Error
	if errors.As(err, &fe) {
		fmt.Println(fe.Code.Name())
	}
	// Output:
	// true
	// FLUME_EINVALID_SUBJECT
}

// Next honours the context: a deadline ends the wait.
func ExampleSubscription_Next() {
	dir, cleanup := exampleDataDir()
	defer cleanup()
	ctx := context.Background()
	broker, _ := flume.StartBroker(flume.BrokerDataDir(dir))
	defer broker.Close()
	client, _ := flume.Connect(ctx, broker.URL(), flume.WithCAFile(broker.CertificatePath()))
	defer client.Close()
	sub, _ := client.Subscribe(ctx, "quiet")

	waitCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := sub.Next(waitCtx)
	fmt.Println(err)
	// Output: context deadline exceeded
}

// WithGaps: where messages were missed, Next returns a gap item (Gap non-nil) in their place.
func ExampleWithGaps() {
	dir, cleanup := exampleDataDir()
	defer cleanup()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	broker, _ := flume.StartBroker(flume.BrokerDataDir(dir))
	defer broker.Close()
	client, _ := flume.Connect(ctx, broker.URL(), flume.WithCAFile(broker.CertificatePath()))
	defer client.Close()

	// Small queues and nobody reading while 2000 messages come: most are dropped.
	sub, _ := client.Subscribe(ctx, "ticks", flume.WithGaps(),
		flume.WithQueueLimit(16), flume.WithLocalQueueLimit(16))
	for i := 0; i < 2000; i++ {
		client.Publish("ticks", make([]byte, 1024))
	}
	client.Flush(ctx)

	var received, missed uint64
	for received+missed < 2000 {
		msg, err := sub.Next(ctx)
		if err != nil {
			panic(err)
		}
		if gap := msg.Gap; gap != nil {
			// Resubscribed: the connection was lost for gap.Disconnected, the loss is unknown.
			missed += gap.DroppedByBroker + gap.DroppedLocally
			continue
		}
		received++ // msg.Sequence is its number: 1, 2, 3, ... counting the missed ones
	}
	fmt.Println(received+missed, missed > 0)
	// Output: 2000 true
}
