package provider

import (
	"errors"
	"strings"
)

// RedactURL is a failed send's error text without the request URL that a *url.Error carries: it may hold an API
// key in its query string (Gemini's ?key=), and the text reaches logs and callers.
func RedactURL(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil && strings.HasPrefix(err.Error(), "Post ") {
			return inner.Error()
		}
	}
	return err.Error()
}
