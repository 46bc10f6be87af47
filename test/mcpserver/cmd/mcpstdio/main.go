// mcpstdio serves the test MCP server (test/mcpserver) on stdin and stdout, for the gateway's stdio transport.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weir-gateway/weir/test/mcpserver"
)

func main() {
	name := "stdio"
	if len(os.Args) > 1 {
		name = os.Args[1]
	}
	fmt.Fprintln(os.Stderr, "mcpstdio starting as", name) // the gateway logs a stdio server's stderr
	if path := os.Getenv("MCP_PIDFILE"); path != "" {     // so a test can check the gateway ends the process
		if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if err := mcpserver.New(name, &mcpserver.Calls{}).Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
