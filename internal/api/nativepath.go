package api

import (
	"net/url"
	"strings"
)

// nativeSegments splits the escaped path below a native prefix ("/v1/files/file-1") into its segments, each
// percent-decoded once, or reports false when the path could reach another resource than the one it names. A
// segment is refused when it is empty, does not decode, or decodes to a dot segment ('.', '..'), to something
// holding '\\', '?', '#', a control character, or '%' (a double encoding, which a proxy in front of the
// upstream may decode once more into any of these), or, unless slash, '/'. With slash (a model id on /gemini
// and /bedrock, where "provider/model" and ARNs are escaped into one segment) a decoded '/' is allowed but each
// part between slashes is held to the same rules. The upstream path is then built from these segments alone,
// each escaped again, so what was checked is what is sent.
func nativeSegments(escaped string, slash bool) ([]string, bool) {
	rest, ok := strings.CutPrefix(escaped, "/")
	if !ok || rest == "" {
		return nil, false
	}
	segs := strings.Split(rest, "/")
	for i, s := range segs {
		d, err := url.PathUnescape(s)
		if err != nil || !segmentOK(d, slash) {
			return nil, false
		}
		segs[i] = d
	}
	return segs, true
}

func segmentOK(s string, slash bool) bool {
	if slash && strings.Contains(s, "/") {
		for part := range strings.SplitSeq(s, "/") {
			if !segmentOK(part, false) {
				return false
			}
		}
		return true
	}
	if s == "" || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == 0x7f, c == '/', c == '\\', c == '?', c == '#', c == '%':
			return false
		}
	}
	return true
}

// joinSegments is the escaped upstream path of checked segments.
func joinSegments(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}
