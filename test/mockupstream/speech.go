package mockupstream

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// OpenAI text to speech: POST /audio/speech answers audio bytes streamed in
// Options.Chunks writes, each flushed, so a test can see bytes arrive
// incrementally. Between writes it pauses Options.ChunkDelay or, when that
// is zero and the model name contains "slow", slowSpeechDelay. The size is
// speechBytes(len(input)). wav is a valid 24 kHz mono 16-bit WAV (a quiet
// 440 Hz tone) and pcm its raw samples; mp3 is silent MPEG frames; opus,
// aac and flac only carry their format's magic bytes. stream_format "sse"
// answers speech.audio.delta events and a speech.audio.done with usage.

const (
	speechRate      = 24000 // samples per second, as OpenAI's wav and pcm
	slowSpeechDelay = 20 * time.Millisecond
)

var speechTypes = map[string]string{
	"mp3": "audio/mpeg", "opus": "audio/opus", "aac": "audio/aac",
	"flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm",
}

// speechBytes is the audio size for an input: 1 KiB per 10 characters
// (rounded up), at least 8 KiB.
func speechBytes(chars int) int { return max((chars+9)/10*1024, 8<<10) }

func (s *Server) speech(c *call) {
	r := gjson.GetManyBytes(c.body, "input", "response_format", "stream_format")
	input, format, streamFormat := r[0].String(), r[1].String(), r[2].String()
	if format == "" {
		format = "mp3"
	}
	ctype, known := speechTypes[format]
	chars := utf8.RuneCountInString(input)
	switch {
	case c.model == "":
		c.reject(http.StatusBadRequest, "Missing required parameter: 'model'.", "model", "missing_required_parameter")
		return
	case input == "":
		c.reject(http.StatusBadRequest, "Missing required parameter: 'input'.", "input", "missing_required_parameter")
		return
	case chars > 4096:
		c.reject(http.StatusBadRequest, "Invalid 'input': string too long. Expected a string with maximum length 4096.", "input", "string_above_max_length")
		return
	case !known:
		c.reject(http.StatusBadRequest, "Invalid value for 'response_format': '"+format+"'.", "response_format", "invalid_value")
		return
	case streamFormat != "" && streamFormat != "audio" && streamFormat != "sse":
		c.reject(http.StatusBadRequest, "Invalid value for 'stream_format': '"+streamFormat+"'.", "stream_format", "invalid_value")
		return
	}
	audio := speechAudio(format, speechBytes(chars))
	pieces := splitBytes(audio, c.s.o.Chunks)
	var extra time.Duration
	if c.s.o.ChunkDelay == 0 && strings.Contains(controlName(c.model), "slow") {
		extra = slowSpeechDelay
	}
	pause := func(i int) bool {
		return c.gap(i, len(pieces)) && (i == 0 || extra == 0 || c.sleep(extra))
	}
	if streamFormat == "sse" {
		c.startStream("text/event-stream")
		for i, p := range pieces {
			if !pause(i) || !c.sse("", mustJSON(obj{"type": "speech.audio.delta", "audio": base64.StdEncoding.EncodeToString(p)})) {
				return
			}
		}
		in, out := tokens(len(input)), len(audio)/1024
		if c.sse("", mustJSON(obj{"type": "speech.audio.done", "usage": obj{"input_tokens": in, "output_tokens": out, "total_tokens": in + out}})) {
			c.end()
		}
		return
	}
	c.startStream(ctype)
	for i, p := range pieces {
		if !pause(i) || !c.write(p) {
			return
		}
	}
	c.end()
}

// splitBytes cuts b into n near-equal pieces.
func splitBytes(b []byte, n int) [][]byte {
	n = max(1, min(n, len(b)))
	size := (len(b) + n - 1) / n
	out := make([][]byte, 0, n)
	for len(b) > 0 {
		k := min(size, len(b))
		out = append(out, b[:k])
		b = b[k:]
	}
	return out
}

// speechAudio renders exactly size bytes of audio in the format.
func speechAudio(format string, size int) []byte {
	b := make([]byte, size)
	switch format {
	case "wav":
		wavHeader(b, speechRate, 1, 16, size-44)
		tone(b[44:])
	case "pcm":
		tone(b)
	case "mp3":
		// MPEG-1 Layer III, 128 kbps, 44.1 kHz, mono, no CRC: 417-byte
		// frames whose all-zero side info decodes as silence.
		for i := 0; i < size; i += 417 {
			copy(b[i:], []byte{0xFF, 0xFB, 0x90, 0xC0})
		}
	case "opus":
		copy(b, "OggS")
	case "flac":
		copy(b, "fLaC")
	case "aac":
		copy(b, []byte{0xFF, 0xF1}) // ADTS sync word
	}
	return b
}

// wavHeader writes the 44-byte canonical PCM WAV header into b.
func wavHeader(b []byte, rate, channels, bits, dataBytes int) {
	le := binary.LittleEndian
	copy(b[0:], "RIFF")
	le.PutUint32(b[4:], uint32(36+dataBytes))
	copy(b[8:], "WAVEfmt ")
	le.PutUint32(b[16:], 16)
	le.PutUint16(b[20:], 1) // PCM
	le.PutUint16(b[22:], uint16(channels))
	le.PutUint32(b[24:], uint32(rate))
	le.PutUint32(b[28:], uint32(rate*channels*bits/8))
	le.PutUint16(b[32:], uint16(channels*bits/8))
	le.PutUint16(b[34:], uint16(bits))
	copy(b[36:], "data")
	le.PutUint32(b[40:], uint32(dataBytes))
}

// tone fills b with 16-bit little-endian samples of a quiet 440 Hz sine.
func tone(b []byte) {
	for i := 0; i+1 < len(b); i += 2 {
		v := int16(3000 * math.Sin(2*math.Pi*440*float64(i/2)/speechRate))
		binary.LittleEndian.PutUint16(b[i:], uint16(v))
	}
}
