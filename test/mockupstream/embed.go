package mockupstream

import (
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"math"
	"strconv"

	"github.com/tidwall/gjson"
)

// defaultDims keeps vectors small: tests compare them and load tests move them.
const defaultDims = 16

// vector derives a unit-length embedding from the text, so equal inputs get
// equal vectors across dialects and runs.
func vector(text string, dims int) []float32 {
	if dims <= 0 {
		dims = defaultDims
	}
	h := fnv.New64a()
	h.Write([]byte(text))
	x := h.Sum64() | 1
	v := make([]float32, dims)
	var norm float64
	for i := range v {
		x ^= x << 13 // xorshift64: cheap, deterministic, well spread
		x ^= x >> 7
		x ^= x << 17
		f := float64(x>>11)/float64(1<<53)*2 - 1
		v[i] = float32(f)
		norm += f * f
	}
	norm = math.Sqrt(norm)
	for i := range v {
		v[i] = float32(float64(v[i]) / norm)
	}
	return v
}

// base64Floats is the OpenAI encoding_format=base64 form: float32 little-endian.
func base64Floats(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(b)
}

func appendFloats(b []byte, v []float32) []byte {
	b = append(b, '[')
	for i, f := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(f), 'g', -1, 32)
	}
	return append(b, ']')
}

// embedInputs flattens an OpenAI "input": a string, an array of strings, an
// array of token ids (one input) or an array of token arrays.
func embedInputs(v gjson.Result) []string {
	if !v.IsArray() {
		return []string{v.String()}
	}
	arr := v.Array()
	if len(arr) > 0 && arr[0].Type == gjson.Number {
		return []string{v.Raw}
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		if e.IsArray() {
			out[i] = e.Raw
		} else {
			out[i] = e.String()
		}
	}
	return out
}

func (s *Server) openaiEmbeddings(c *call) {
	r := gjson.GetManyBytes(c.body, "input", "dimensions", "encoding_format")
	inputs := embedInputs(r[0])
	dims, b64 := int(r[1].Int()), r[2].String() == "base64"
	chars := 0
	b := append(make([]byte, 0, 256*len(inputs)), `{"object":"list","data":[`...)
	for i, in := range inputs {
		chars += len(in)
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = appendInt(b, i)
		b = append(b, `,"embedding":`...)
		if b64 {
			b = appendStr(b, base64Floats(vector(in, dims)))
		} else {
			b = appendFloats(b, vector(in, dims))
		}
		b = append(b, '}')
	}
	b = append(b, `],"model":`...)
	b = appendStr(b, c.model)
	n := tokens(chars)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = appendInt(b, n)
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, n)
	c.send(append(b, "}}"...), "application/json")
}
