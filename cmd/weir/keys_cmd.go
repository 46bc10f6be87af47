package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/secret"
	"github.com/weir-gateway/weir/internal/store/sqlstore"
)

// envNewKey holds the new base64 encryption key for `weir keys rotate-encryption`.
const envNewKey = "WEIR_NEW_ENCRYPTION_KEY"

func keysCmd(args []string) int {
	if len(args) == 0 {
		keysUsage()
		return 2
	}
	switch args[0] {
	case "rotate-encryption":
		return rotateEncryption(args[1:])
	case "generate-encryption-key":
		fmt.Println(secret.GenerateKey())
		return 0
	default:
		keysUsage()
		return 2
	}
}

func keysUsage() {
	fmt.Fprint(os.Stderr, `usage:
  weir keys rotate-encryption [-config FILE] [-new-key-file FILE]
      Re-encrypt the provider secrets in the store from the current key (WEIR_ENCRYPTION_KEY or
      WEIR_ENCRYPTION_KEY_FILE) to a new one (WEIR_NEW_ENCRYPTION_KEY or -new-key-file). Stop the gateway first;
      start it again with the new key.
  weir keys generate-encryption-key
      Print a new random key (base64 of 32 bytes).
`)
}

func rotateEncryption(args []string) int {
	fs := flag.NewFlagSet("keys rotate-encryption", flag.ContinueOnError)
	cfgPath := fs.String("config", os.Getenv("WEIR_CONFIG"), "config file naming the store (governance.store, server.data_dir); env WEIR_CONFIG")
	newKeyFile := fs.String("new-key-file", "", "file holding the new key (base64 text or 32 raw bytes); default: $"+envNewKey)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "weir keys rotate-encryption: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "weir keys rotate-encryption: "+format+"\n", a...)
		return 1
	}
	oldC, err := secret.Load(os.Getenv("WEIR_ENCRYPTION_KEY_FILE"))
	if err != nil {
		return fail("current key: %v", err)
	}
	if oldC == nil {
		return fail("set %s (or WEIR_ENCRYPTION_KEY_FILE) to the key the store is encrypted with now", secret.EnvKey)
	}
	newC, err := loadNewKey(*newKeyFile)
	if err != nil {
		return fail("new key: %v", err)
	}
	kcv, err := oldC.CheckValue()
	if err != nil {
		return fail("%v", err)
	}
	if newC.Matches(kcv) {
		return fail("the new key is the current key; make a new one with `openssl rand -base64 32`")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return fail("config %s: %v", *cfgPath, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	db, err := openDatabase(ctx, cfg)
	if err != nil {
		return fail("opening the store: %v", err)
	}
	defer db.Close()
	st, err := sqlstore.New(ctx, db)
	if err != nil {
		return fail("opening the store: %v", err)
	}
	n, err := secret.Rotate(ctx, st, oldC, newC)
	if err != nil {
		if errors.Is(err, secret.ErrKeyMismatch) {
			return fail("%s is not the key this store is encrypted with; nothing was changed", secret.EnvKey)
		}
		return fail("%v", err)
	}
	fmt.Printf("re-encrypted %d provider secret(s) under the new key.\n"+
		"Now start weir with %s set to the new key; the old key no longer opens this store.\n", n, secret.EnvKey)
	return 0
}

func loadNewKey(file string) (*secret.Cipher, error) {
	if v := os.Getenv(envNewKey); v != "" {
		if file != "" {
			return nil, fmt.Errorf("both %s and -new-key-file are set; use one", envNewKey)
		}
		c, err := secret.ParseKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", envNewKey, err)
		}
		return c, nil
	}
	if file == "" {
		return nil, fmt.Errorf("set %s or pass -new-key-file", envNewKey)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if len(data) == 32 && !isKeyText(data) {
		return secret.New(data)
	}
	return secret.ParseKey(string(data))
}

// isKeyText reports whether data looks like base64 text rather than raw key bytes.
func isKeyText(data []byte) bool {
	for _, c := range data {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("+/=-_\n\r ", c) >= 0) {
			return false
		}
	}
	return true
}
