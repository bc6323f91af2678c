package flume_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"flume.example.org/go/flume"
)

// The shared codec vectors, generated from docs/protocol.md (tests/vectors/generate.py).
// Their properties vectors are not reachable: flume.h exposes no properties codec.
type vectors struct {
	Frames []struct {
		Name, Hex, Subject string
		PayloadHex         string `json:"payload_hex"`
		SubjectHex         string `json:"subject_hex"`
		Type               uint8
		TypeName           string `json:"type_name"`
		MaxPayload         uint32 `json:"max_payload"`
	}
	Malformed []struct {
		Name, Hex, Code string
		Recoverable     bool
		MaxPayload      uint32 `json:"max_payload"`
	}
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	path := filepath.Join("..", "..", "tests", "vectors", "frames.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the shared vectors: %v", err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Frames) < 10 || len(v.Malformed) < 10 {
		t.Fatalf("too few vectors: %d frames, %d malformed", len(v.Frames), len(v.Malformed))
	}
	return v
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVectorsEncodeAndDecode(t *testing.T) {
	for _, f := range loadVectors(t).Frames {
		wire := unhex(t, f.Hex)
		payload := unhex(t, f.PayloadHex)
		subject := string(unhex(t, f.SubjectHex))
		got, err := flume.AppendFrame([]byte("prefix"), flume.FrameType(f.Type), subject, payload, f.MaxPayload)
		if err != nil || !bytes.Equal(got[6:], wire) || string(got[:6]) != "prefix" {
			t.Errorf("%s: encoded %x (%v), want %x", f.Name, got, err, wire)
		}
		if name := flume.FrameType(f.Type).String(); name != f.TypeName {
			t.Errorf("%s: type name %q, want %q", f.Name, name, f.TypeName)
		}
		// Decoded whole, and fed one byte at a time.
		for _, step := range []int{len(wire), 1} {
			d, err := flume.NewDecoder(f.MaxPayload)
			if err != nil {
				t.Fatal(err)
			}
			var frames []flume.Frame
			for off := 0; off < len(wire); {
				end := min(off+step, len(wire))
				chunk := wire[off:end]
				for len(chunk) > 0 {
					fr, used, ok, err := d.Next(chunk)
					if err != nil {
						t.Fatalf("%s: %v", f.Name, err)
					}
					if ok {
						frames = append(frames, fr)
					}
					chunk = chunk[used:]
					if !ok {
						break
					}
				}
				off = end
			}
			if err := d.Finish(); err != nil {
				t.Errorf("%s: Finish: %v", f.Name, err)
			}
			d.Close()
			if len(frames) != 1 || frames[0].Type != flume.FrameType(f.Type) ||
				frames[0].Subject != subject || !bytes.Equal(frames[0].Payload, payload) {
				t.Errorf("%s (step %d): decoded %+v", f.Name, step, frames)
			}
		}
	}
}

func TestVectorsMalformed(t *testing.T) {
	for _, m := range loadVectors(t).Malformed {
		d, err := flume.NewDecoder(m.MaxPayload)
		if err != nil {
			t.Fatal(err)
		}
		data := unhex(t, m.Hex)
		var failure error
		recovered := false
		for len(data) > 0 && failure == nil {
			_, used, ok, err := d.Next(data)
			data = data[used:]
			if err != nil {
				failure = err
				recovered = ok
				break
			}
			if !ok {
				break
			}
		}
		if failure == nil {
			failure = d.Finish()
		}
		d.Close()
		var fe *flume.Error
		if !errors.As(failure, &fe) || fe.Code.Name() != m.Code {
			t.Errorf("%s: %v, want %s", m.Name, failure, m.Code)
			continue
		}
		if m.Recoverable != recovered {
			t.Errorf("%s: recoverable %v, want %v", m.Name, recovered, m.Recoverable)
		}
	}
}
