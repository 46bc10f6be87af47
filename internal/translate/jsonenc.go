package translate

import (
	"strconv"

	"github.com/weir-gateway/weir/internal/jsonstr"
)

// appendJSONString appends s as a JSON string literal (see jsonstr.Append).
func appendJSONString(b []byte, s string) []byte { return jsonstr.Append(b, s) }

func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }
