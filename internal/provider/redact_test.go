package provider

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"url error of a post", &url.Error{Op: "Post", URL: "https://g.example/v1?key=SECRET", Err: errors.New("connection refused")}, "connection refused"},
		{"plain error", errors.New("boom"), "boom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := RedactURL(tc.err)
			if got != tc.want || strings.Contains(got, "SECRET") {
				t.Fatalf("RedactURL = %q, want %q", got, tc.want)
			}
		})
	}
}
