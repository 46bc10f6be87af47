// revproxy is the floor a Go gateway is measured against: a bare httputil.ReverseProxy that forwards every
// request to one upstream. loadbench runs it as `revproxy -addr 127.0.0.1:PORT -upstream http://127.0.0.1:MOCK`;
// without flags it reads $PORT and $MOCK_URL, so it also works under ../shared/bench/compare.
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:"+os.Getenv("PORT"), "listen address")
	upstream := flag.String("upstream", os.Getenv("MOCK_URL"), "upstream base URL")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil || u.Host == "" {
		log.Fatalf("revproxy: bad -upstream %q", *upstream)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.Transport = &http.Transport{MaxIdleConnsPerHost: 2000, MaxIdleConns: 2000}
	p.FlushInterval = -1 // flush at once: SSE streams pass through unbuffered
	log.Fatal(http.ListenAndServe(*addr, p))
}
