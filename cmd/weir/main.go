// Command weir runs the Weir AI gateway.
//
//	weir [serve] [-config FILE] [-addr HOST:PORT] [-log-format text|json] [-log-level info]
//	weir config check FILE
//	weir keys rotate-encryption [-config FILE] [-new-key-file FILE]
//	weir version
package main

import (
	"fmt"
	"os"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args)
	case "config":
		return configCmd(args)
	case "keys":
		return keysCmd(args)
	case "logs":
		return logsCmd(args)
	case "version":
		fmt.Println("weir", version)
		return 0
	case "help":
		usage()
		return 0
	default:
		fmt.Fprintf(os.Stderr, "weir: unknown command %q\n\n", cmd)
		usage()
		return 2
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `Weir is an AI gateway: one OpenAI- and Anthropic-compatible API in front of every LLM provider.

Usage:
  weir [serve] [-config FILE] [-addr HOST:PORT] [-log-format text|json] [-log-level debug|info|warn|error]
      Run the gateway (the default). Without -config (or WEIR_CONFIG) an embedded default is used: the mock
      provider plus every provider whose API key is in the environment. WEIR_ADDR sets the address too.
  weir config check FILE
      Validate a config file; print every problem with its field path; exit 1 if there is any.
  weir keys rotate-encryption [-config FILE] [-new-key-file FILE]
      Re-encrypt stored provider secrets from WEIR_ENCRYPTION_KEY to WEIR_NEW_ENCRYPTION_KEY (or the file).
  weir logs generate [-config FILE] -rows N [-span 720h]
      Write N synthetic request-log rows and their rollups (for trying the UI and measuring it at scale).
  weir version
      Print the version.
`)
}
