package mock

import (
	"encoding/base64"
	"encoding/binary"
	"math"
)

// base64Vector encodes float32s little-endian, as OpenAI does for encoding_format=base64.
func base64Vector(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(b)
}
