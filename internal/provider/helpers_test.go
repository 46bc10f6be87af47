package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestNewJSONPost(t *testing.T) {
	const body = `{"model":"m"}`
	for _, tc := range []struct {
		name       string
		stream     bool
		configured http.Header // as providers hold them: canonical keys
		call       http.Header // as a caller may send them: any case
		want       http.Header // after the provider sets X-Api-Key: "key"
	}{
		{
			name: "plain",
			want: http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {"key"}},
		},
		{
			name: "stream", stream: true,
			want: http.Header{"Content-Type": {"application/json"}, "Accept": {"text/event-stream"}, "X-Api-Key": {"key"}},
		},
		{
			name: "configured replace the defaults", stream: true,
			configured: http.Header{"Content-Type": {"application/x-cfg"}, "Accept": {"cfg"}, "X-Team": {"a"}},
			want: http.Header{"Content-Type": {"application/x-cfg"}, "Accept": {"cfg"}, "X-Team": {"a"},
				"X-Api-Key": {"key"}},
		},
		{
			name:       "call replaces configured, canonicalised",
			configured: http.Header{"X-Team": {"a"}, "X-Cfg": {"1"}},
			call:       http.Header{"x-team": {"b"}, "traceparent": {"t"}, "Accept": {}},
			want: http.Header{"Content-Type": {"application/json"}, "X-Team": {"b"}, "X-Cfg": {"1"},
				"Traceparent": {"t"}, "Accept": {}, "X-Api-Key": {"key"}},
		},
		{
			name:       "credential replaces configured and call",
			configured: http.Header{"X-Api-Key": {"cfg"}},
			call:       http.Header{"x-api-key": {"stolen"}},
			want:       http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {"key"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := NewJSONPost(context.Background(), "http://up.example/v1/x?y=1", []byte(body), tc.stream, tc.configured, tc.call)
			if err != nil {
				t.Fatal(err)
			}
			req.Header["X-Api-Key"] = []string{"key"} // what a provider does next
			if !reflect.DeepEqual(req.Header, tc.want) {
				t.Errorf("headers\n got %v\nwant %v", req.Header, tc.want)
			}
			if req.Method != http.MethodPost || req.URL.String() != "http://up.example/v1/x?y=1" ||
				req.ContentLength != int64(len(body)) || req.GetBody == nil {
				t.Errorf("got %s %s length %d", req.Method, req.URL, req.ContentLength)
			}
			if b, _ := io.ReadAll(req.Body); string(b) != body {
				t.Errorf("body %q", b)
			}
		})
	}
	if _, err := NewJSONPost(context.Background(), "http://a b/", nil, false, nil, nil); err == nil {
		t.Error("a bad URL is no error")
	}
}

func TestNewGet(t *testing.T) {
	req, err := NewGet(context.Background(), "http://up.example/models", http.Header{"X-Team": {"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodGet || req.Body != nil || !reflect.DeepEqual(req.Header, http.Header{"X-Team": {"a"}}) {
		t.Errorf("got %s body %v headers %v", req.Method, req.Body, req.Header)
	}
}

func TestListPages(t *testing.T) {
	boom := errors.New("boom")
	// Each page's id is the cursor it was asked with ("-" for the first), so want also shows the cursors.
	for _, tc := range []struct {
		name string
		next func(cursor string, n int) (string, error) // the next cursor after the n-th page (from 1)
		want []string
		err  error
	}{
		{"one page", func(string, int) (string, error) { return "", nil }, []string{"-"}, nil},
		{"until an empty cursor", func(_ string, n int) (string, error) {
			if n == 3 {
				return "", nil
			}
			return fmt.Sprint("c", n), nil
		}, []string{"-", "c1", "c2"}, nil},
		{"until a repeated cursor", func(string, int) (string, error) { return "same", nil }, []string{"-", "same"}, nil},
		{"at most 20 pages", func(_ string, n int) (string, error) { return fmt.Sprint("c", n), nil },
			[]string{"-", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10",
				"c11", "c12", "c13", "c14", "c15", "c16", "c17", "c18", "c19"}, nil},
		{"an error drops every page", func(_ string, n int) (string, error) {
			if n == 2 {
				return "", boom
			}
			return fmt.Sprint("c", n), nil
		}, nil, boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			got, err := ListPages(context.Background(), func(ctx context.Context, cursor string) ([]string, string, error) {
				if d, ok := ctx.Deadline(); !ok || time.Until(d) > listTimeout {
					t.Errorf("deadline %v %v", d, ok)
				}
				n++
				next, err := tc.next(cursor, n)
				if err != nil {
					return nil, "", err
				}
				if cursor == "" {
					cursor = "-"
				}
				return []string{cursor}, next, nil
			})
			if !reflect.DeepEqual(got, tc.want) || err != tc.err {
				t.Errorf("got %q %v, want %q %v", got, err, tc.want, tc.err)
			}
		})
	}
	t.Run("no ids is nil", func(t *testing.T) {
		got, err := ListPages(context.Background(), func(context.Context, string) ([]string, string, error) {
			return []string{}, "", nil
		})
		if got != nil || err != nil {
			t.Errorf("got %#v %v", got, err)
		}
	})
}

func TestConfiguredHeader(t *testing.T) {
	got := ConfiguredHeader(map[string]string{"x-team": "a", "Content-Type": "b"})
	if want := (http.Header{"X-Team": {"a"}, "Content-Type": {"b"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := ConfiguredHeader(nil); got == nil || len(got) != 0 {
		t.Errorf("nil map: %#v", got)
	}
}

func TestPageURL(t *testing.T) {
	for _, tc := range []struct{ cursor, want string }{
		{"", "http://up.example/models?limit=10"},
		{"a b&c", "http://up.example/models?limit=10&after=a+b%26c"},
	} {
		if got := PageURL("http://up.example/models?limit=10", "after", tc.cursor); got != tc.want {
			t.Errorf("PageURL(%q) = %q, want %q", tc.cursor, got, tc.want)
		}
	}
}
