package flume_test

import (
	"os"
	"strings"
	"testing"

	"flume.example.org/go/flume"
)

// The link mode is the one asked for: with -tags flume_static no libflume.so (nor ngtcp2's) is
// mapped into the process; without, libflume.so is, from $FLUME_GO_EXPECT_LIBDIR when set.
func TestLinkMode(t *testing.T) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var flumeLib string
	for _, line := range strings.Split(string(maps), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 6 {
			continue
		}
		path := fields[5]
		if strings.Contains(path, "/libflume.so") {
			flumeLib = path
		}
		if flume.LinkMode == "static" && strings.Contains(path, "/libngtcp2") {
			t.Errorf("static link, yet %s is loaded", path)
		}
	}
	t.Logf("link mode %s, libflume %s (header %s), loaded: %q", flume.LinkMode, flume.Version(),
		flume.HeaderVersion, flumeLib)
	switch flume.LinkMode {
	case "static":
		if flumeLib != "" {
			t.Fatalf("static link, yet %s is loaded", flumeLib)
		}
	case "dynamic":
		if flumeLib == "" {
			t.Fatal("dynamic link, yet no libflume.so is loaded")
		}
		if dir := os.Getenv("FLUME_GO_EXPECT_LIBDIR"); dir != "" && !strings.HasPrefix(flumeLib, dir+"/") {
			t.Fatalf("libflume.so came from %s, not from %s", flumeLib, dir)
		}
	default:
		t.Fatalf("unknown link mode %q", flume.LinkMode)
	}
}
