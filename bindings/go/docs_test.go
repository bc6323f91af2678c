package flume_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docs/go.md shows the Example functions as they are: every Go block on the page is a piece of
// example_test.go, so the page's code is what go test runs.
func TestDocsShowTheExamples(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("..", "..", "docs", "go.md"))
	if err != nil {
		t.Fatal(err)
	}
	examples, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(page), -1)
	if len(blocks) < 3 {
		t.Fatalf("docs/go.md has %d Go blocks", len(blocks))
	}
	for _, b := range blocks {
		if !strings.Contains(string(examples), b[1]) {
			t.Errorf("docs/go.md shows code that is not in example_test.go:\n%s", b[1])
		}
	}
}
