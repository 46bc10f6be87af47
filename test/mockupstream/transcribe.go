package mockupstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"strings"
)

// OpenAI speech to text: POST /audio/transcriptions and /audio/translations
// (multipart: file, model, response_format, language, prompt). The file
// part is read as a stream; a WAV file's duration comes from its header and
// data chunk, any other file's from its size at 128 kbps. Usage is
// {"type":"duration","seconds":ceil(duration)}, except gpt-4o*-transcribe
// models, which report tokens as the real API does.

// nonWAVBytesPerSecond estimates the duration of compressed audio (128 kbps).
const nonWAVBytesPerSecond = 16000

var errBadAudio = errors.New("audio file might be corrupted or unsupported")

// probeAudio consumes r and returns the audio duration in seconds.
func probeAudio(r io.Reader) (float64, error) {
	var head [12]byte
	n, err := io.ReadFull(r, head[:])
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		if n == 0 {
			return 0, errBadAudio
		}
		return float64(n) / nonWAVBytesPerSecond, nil
	} else if err != nil {
		return 0, err
	}
	if string(head[0:4]) != "RIFF" || string(head[8:12]) != "WAVE" {
		rest, err := io.Copy(io.Discard, r)
		return float64(int64(n)+rest) / nonWAVBytesPerSecond, err
	}
	return wavDuration(r)
}

// wavDuration walks the RIFF chunks after the WAVE tag: the byte rate comes
// from "fmt ", the length from the bytes actually present in "data" (so a
// truncated or streamed file with a placeholder size still measures right).
func wavDuration(r io.Reader) (float64, error) {
	le := binary.LittleEndian
	var byteRate uint32
	var data int64
	sawData := false
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		} else if err != nil {
			return 0, err
		}
		id, size := string(hdr[:4]), int64(le.Uint32(hdr[4:]))
		switch id {
		case "fmt ":
			if size < 16 || size > 1<<16 {
				return 0, errBadAudio
			}
			fmtChunk := make([]byte, size)
			if _, err := io.ReadFull(r, fmtChunk); err != nil {
				return 0, errBadAudio
			}
			byteRate = le.Uint32(fmtChunk[8:])
			if byteRate == 0 { // derive from rate, channels and bits
				byteRate = le.Uint32(fmtChunk[4:]) * uint32(le.Uint16(fmtChunk[2:])) * uint32(le.Uint16(fmtChunk[14:])) / 8
			}
		case "data":
			sawData = true
			if size == 0 || size == 0xFFFFFFFF {
				size = math.MaxInt64 // streamed WAV: data runs to the end
			}
			n, err := io.CopyN(io.Discard, r, size)
			data += n
			if err != nil && err != io.EOF {
				return 0, err
			}
		default:
			if _, err := io.CopyN(io.Discard, r, size); err != nil {
				return 0, errBadAudio
			}
		}
		if size%2 == 1 && size != math.MaxInt64 { // chunks are word aligned
			io.CopyN(io.Discard, r, 1)
		}
	}
	if byteRate == 0 || !sawData {
		return 0, errBadAudio
	}
	return float64(data) / float64(byteRate), nil
}

var languageNames = map[string]string{
	"en": "english", "fr": "french", "de": "german", "es": "spanish", "it": "italian",
	"pt": "portuguese", "nl": "dutch", "ja": "japanese", "zh": "chinese", "ko": "korean", "ru": "russian",
}

func (s *Server) transcribe(c *call) {
	translate := strings.HasSuffix(c.r.URL.Path, "/translations")
	var seconds float64
	var filename string
	var probeErr error
	found := false
	fields, ok := c.readForm(func(p *multipart.Part) error {
		if p.FormName() == "file" && !found {
			found, filename = true, p.FileName()
			seconds, probeErr = probeAudio(p)
		}
		_, err := io.Copy(io.Discard, p)
		return err
	})
	if !ok {
		return
	}
	format := first(fields, "response_format")
	if format == "" {
		format = "json"
	}
	tokenUsage := strings.HasPrefix(controlName(c.model), "gpt-4o")
	switch {
	case !found:
		c.reject(http.StatusBadRequest, "Missing required parameter: 'file'.", "file", "missing_required_parameter")
		return
	case c.model == "":
		c.reject(http.StatusBadRequest, "Missing required parameter: 'model'.", "model", "missing_required_parameter")
		return
	case probeErr != nil:
		c.reject(http.StatusBadRequest, "Audio file might be corrupted or unsupported", "file", "invalid_value")
		return
	case format != "json" && format != "text" && format != "verbose_json" && format != "srt" && format != "vtt":
		c.reject(http.StatusBadRequest, "Invalid value for 'response_format': '"+format+"'.", "response_format", "invalid_value")
		return
	case tokenUsage && format != "json" && format != "text":
		c.reject(http.StatusBadRequest, "response_format '"+format+"' is not compatible with model '"+c.model+"'. Use 'json' or 'text' instead.", "response_format", "unsupported_value")
		return
	}

	task, verb, lang := "transcribe", "transcription", languageNames[first(fields, "language")]
	if translate {
		task, verb, lang = "translate", "translation", "english"
	}
	if lang == "" {
		lang = "english"
	}
	text := fmt.Sprintf("This is a mock %s of %s.", verb, filename)
	usage := obj{"type": "duration", "seconds": math.Ceil(seconds)}
	if tokenUsage {
		audio, prompt, out := int(math.Ceil(seconds*10)), tokens(len(first(fields, "prompt"))), tokens(len(text))
		usage = obj{"type": "tokens", "input_tokens": audio + prompt, "output_tokens": out, "total_tokens": audio + prompt + out,
			"input_token_details": obj{"text_tokens": prompt, "audio_tokens": audio}}
	}
	duration := math.Round(seconds*1000) / 1000
	switch format {
	case "text":
		c.send([]byte(text+"\n"), "text/plain; charset=utf-8")
	case "srt":
		c.send([]byte("1\n00:00:00,000 --> "+timestamp(duration, ",")+"\n"+text+"\n\n"), "text/plain; charset=utf-8")
	case "vtt":
		c.send([]byte("WEBVTT\n\n00:00:00.000 --> "+timestamp(duration, ".")+"\n"+text+"\n\n"), "text/plain; charset=utf-8")
	case "verbose_json":
		res := obj{"task": task, "language": lang, "duration": duration, "text": text, "usage": usage,
			"segments": []any{obj{"id": 0, "seek": 0, "start": 0.0, "end": duration, "text": " " + text,
				"tokens": []int{50364, 50414}, "temperature": 0.0, "avg_logprob": -0.2, "compression_ratio": 1.2, "no_speech_prob": 0.01}}}
		if wantsWords(fields) {
			res["words"] = words(text, duration)
		}
		c.sendJSON(res)
	default:
		c.sendJSON(obj{"text": text, "usage": usage})
	}
}

func wantsWords(fields map[string][]string) bool {
	for _, v := range append(fields["timestamp_granularities[]"], fields["timestamp_granularities"]...) {
		if v == "word" {
			return true
		}
	}
	return false
}

// words spreads the text's words evenly over the duration.
func words(text string, duration float64) []any {
	ws := strings.Fields(text)
	out := make([]any, len(ws))
	step := duration / float64(len(ws))
	for i, w := range ws {
		out[i] = obj{"word": w, "start": math.Round(step*float64(i)*1000) / 1000, "end": math.Round(step*float64(i+1)*1000) / 1000}
	}
	return out
}

// timestamp renders seconds as HH:MM:SS<sep>mmm (SRT uses ",", VTT ".").
func timestamp(sec float64, sep string) string {
	ms := int64(math.Round(sec * 1000))
	return fmt.Sprintf("%02d:%02d:%02d%s%03d", ms/3600000, ms/60000%60, ms/1000%60, sep, ms%1000)
}
