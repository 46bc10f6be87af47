package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/weir-gateway/weir/internal/requestlog"
)

func logsCmd(args []string) int {
	if len(args) == 0 || args[0] != "generate" {
		logsUsage()
		return 2
	}
	return logsGenerate(args[1:])
}

func logsUsage() {
	fmt.Fprint(os.Stderr, `usage:
  weir logs generate [-config FILE] -rows N [-span 720h] [-keys 50] [-teams 10] [-seed 1]
      Write N synthetic request-log rows, and their rollups, into the database the config names (by default
      weir.db in the data directory): for trying the UI and measuring it at scale. Not for a production database.
`)
}

func logsGenerate(args []string) int {
	fs := flag.NewFlagSet("logs generate", flag.ContinueOnError)
	cfgPath := fs.String("config", os.Getenv("WEIR_CONFIG"), "config file naming the database (governance.store, server.data_dir); env WEIR_CONFIG")
	rows := fs.Int("rows", 0, "rows to write")
	span := fs.Duration("span", 30*24*time.Hour, "spread the rows over this much time, ending now")
	keys := fs.Int("keys", 50, "virtual keys")
	teams := fs.Int("teams", 10, "teams")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "weir logs generate: "+format+"\n", a...)
		return 1
	}
	if *rows <= 0 || fs.NArg() > 0 {
		logsUsage()
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return fail("config %s: %v", *cfgPath, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := prepareDataDir(cfg, slog.New(slog.NewTextHandler(os.Stderr, nil))); err != nil {
		return fail("%v", err)
	}
	db, err := openDatabase(ctx, cfg)
	if err != nil {
		return fail("opening the database: %v", err)
	}
	defer db.Close()
	sink, err := requestlog.NewSQLSink(ctx, db, requestlog.SQLOptions{})
	if err != nil {
		return fail("%v", err)
	}
	began := time.Now()
	last := began
	err = requestlog.Generate(ctx, sink, requestlog.GenerateOptions{Rows: *rows, Span: *span, Keys: *keys, Teams: *teams,
		Seed: *seed, Progress: func(done int) {
			if time.Since(last) >= 5*time.Second || done == *rows {
				last = time.Now()
				fmt.Fprintf(os.Stderr, "%d/%d rows (%.0f rows/s)\n", done, *rows, float64(done)/time.Since(began).Seconds())
			}
		}})
	if err != nil {
		return fail("%v", err)
	}
	fmt.Printf("wrote %d rows into %s in %s\n", *rows, db.Name, time.Since(began).Round(time.Millisecond))
	return 0
}
