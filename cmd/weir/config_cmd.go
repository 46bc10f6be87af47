package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/provider"
)

func configCmd(args []string) int {
	if len(args) != 2 || args[0] != "check" {
		fmt.Fprintln(os.Stderr, "usage: weir config check FILE")
		return 2
	}
	if _, err := loadConfig(args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: invalid\n", args[1])
		var ps config.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				fmt.Fprintf(os.Stderr, "  %s\n", p)
			}
		} else {
			fmt.Fprintf(os.Stderr, "  %s\n", err)
		}
		return 1
	}
	fmt.Printf("%s: ok\n", args[1])
	return 0
}

// loadConfig reads the file (or the embedded default when path is empty) and checks every provider section.
func loadConfig(path string) (*config.Config, error) {
	var (
		cfg *config.Config
		err error
	)
	if path == "" {
		cfg, err = config.Default(os.LookupEnv, provider.Known)
	} else {
		cfg, err = config.Load(path)
	}
	if err != nil {
		return nil, err
	}
	var ps config.Problems
	for i, p := range cfg.Providers {
		if _, err := provider.Build(i, p); err != nil {
			var bp config.Problems
			if errors.As(err, &bp) {
				ps = append(ps, bp...)
			} else {
				ps = append(ps, config.Problem{Path: fmt.Sprintf("providers[%d]", i), Msg: err.Error()})
			}
		}
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return cfg, nil
}
