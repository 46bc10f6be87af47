// Command mockupstream serves the in-repo mock LLM upstream on a TCP port,
// for load benchmarks that run the gateway as a separate process.
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/weir-gateway/weir/test/mockupstream"
)

func main() {
	var o mockupstream.Options
	addr := flag.String("addr", "127.0.0.1:9099", "listen address")
	flag.DurationVar(&o.Latency, "latency", 0, "delay before the first byte of every answer")
	flag.IntVar(&o.Chunks, "chunks", 8, "content chunks per streamed answer")
	flag.DurationVar(&o.ChunkDelay, "chunk-delay", 0, "pause between streamed content chunks")
	flag.Float64Var(&o.FailRatio, "fail-ratio", 0, "share of requests answered with -fail-status (0..1)")
	flag.IntVar(&o.FailStatus, "fail-status", 500, "status for -fail-ratio failures (429 adds Retry-After: 1)")
	flag.IntVar(&o.ContentBytes, "content-bytes", 64, "size of the answer text")
	flag.StringVar(&o.APIKey, "api-key", "", "when set, required as Bearer / x-api-key / api-key / x-goog-api-key")
	flag.Parse()

	srv := &http.Server{
		Addr:              *addr,
		Handler:           mockupstream.New(o),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
	}
	log.Printf("mockupstream listening on %s", *addr)
	log.Fatal(srv.ListenAndServe())
}
