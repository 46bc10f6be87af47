package clustersim

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func mode(t *testing.T) Mode {
	t.Helper()
	m, err := ModeFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSimSmallClusters is the normal suite's cut of the simulation: 3 and 10 nodes at 1,000 requests/s. It
// asserts the bound this mode is documented to hold at these sizes (docs/cluster.md, "Scaling"): a burst of
// 1,000 requests in one second round-robin admits at most 110 for rpm: 100 and spends at most $1.10 of a $1
// budget, and every node sees a burst within seconds.
func TestSimSmallClusters(t *testing.T) {
	if testing.Short() {
		t.Skip("runs clusters for a few seconds")
	}
	m := mode(t)
	var rows []Row
	for _, n := range []int{3, 10} {
		row, err := Run(context.Background(), Params{Mode: m, N: n, Rates: []int{1000}, Measure: 1500 * time.Millisecond,
			Burst: 1000, BurstSpan: time.Second, ConvergeBurst: 100, ConvergeTimeout: 15 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
		if !row.Converged {
			t.Errorf("N=%d: a burst of 100 did not reach every node within 15s", n)
		}
		if row.RPMAdmitted < rpmLimit || row.RPMAdmitted > 110 {
			t.Errorf("N=%d: rpm 100 admitted %d of 1,000; want 100..110", n, row.RPMAdmitted)
		}
		if row.BudgetAdmitted < 100 || row.BudgetAdmitted > 110 {
			t.Errorf("N=%d: a $1 budget admitted %d requests of $0.01; want 100..110", n, row.BudgetAdmitted)
		}
		if row.Rates[0].WireOut == 0 || row.Rates[0].PayloadOut == 0 {
			t.Errorf("N=%d: bytes sent per node %.0f/s, counter payload %.0f/s: want both",
				n, row.Rates[0].WireOut, row.Rates[0].PayloadOut)
		}
	}
	t.Logf("\n%s", Table(rows))
}

// TestSimTable is `make cluster-sim`: every size in WEIR_SIM_N (default 3,10,30,100) at 1,000 and 10,000
// admitted requests/s, printed as the table in docs/cluster.md. Set WEIR_CLUSTER_SIM=1 to run it.
func TestSimTable(t *testing.T) {
	if os.Getenv("WEIR_CLUSTER_SIM") == "" {
		t.Skip("set WEIR_CLUSTER_SIM=1 (make cluster-sim)")
	}
	m := mode(t)
	sizes := []int{3, 10, 30, 100}
	if s := os.Getenv("WEIR_SIM_N"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				t.Fatalf("WEIR_SIM_N: %q", s)
			}
			sizes = append(sizes, n)
		}
	}
	var rows []Row
	for _, n := range sizes {
		start := time.Now()
		row, err := Run(context.Background(), Params{Mode: m, N: n, Rates: []int{1000, 10000}, Measure: 3 * time.Second,
			Burst: 1000, BurstSpan: time.Second, ConvergeBurst: 100, ConvergeTimeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
		fmt.Printf("N=%d done in %v\n%s\n", n, time.Since(start).Round(time.Second), Table(rows[len(rows)-1:]))
	}
	fmt.Printf("\n%s", Table(rows))
}
