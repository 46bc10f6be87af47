package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildAll compiles the three binaries into dir: weir and the mock upstream from the main module (root), the
// reverse-proxy floor from this module (benchDir).
// With buildWeir false, weir is left to the caller (-weir-bin).
func buildAll(root, benchDir, dir string, buildWeir bool) (weir, mock, revproxy string, err error) {
	weir, mock, revproxy = filepath.Join(dir, "weir"), filepath.Join(dir, "mockupstream"), filepath.Join(dir, "revproxy")
	steps := []struct{ wd, out, pkg string }{
		{root, weir, "./cmd/weir"},
		{root, mock, "./test/mockupstream/cmd/mockupstream"},
		{benchDir, revproxy, "./cmd/revproxy"},
	}
	if !buildWeir {
		steps = steps[1:]
	}
	for _, s := range steps {
		cmd := exec.Command("go", "build", "-o", s.out, s.pkg)
		cmd.Dir = s.wd
		if out, e := cmd.CombinedOutput(); e != nil {
			return "", "", "", fmt.Errorf("go build %s (in %s): %v\n%s", s.pkg, s.wd, e, out)
		}
	}
	return weir, mock, revproxy, nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// proc is one process this program started; it is killed by PID (its own process group) on exit.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has exited
}

var (
	procsMu sync.Mutex
	procs   []*proc
)

func start(name, logDir string, argv ...string) (*proc, error) {
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = logDir // whatever a process writes to its working directory (weir's store) stays in the temp dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	f.Close() // the child holds its own descriptor
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	procsMu.Lock()
	procs = append(procs, p)
	procsMu.Unlock()
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail returns the last lines of the process's log, for error messages.
func (p *proc) tail(n int) string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stopAll kills every started process group by its PID: SIGTERM, then SIGKILL.
func stopAll() {
	procsMu.Lock()
	defer procsMu.Unlock()
	for _, p := range procs {
		_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	}
	if len(procs) > 0 {
		time.Sleep(300 * time.Millisecond)
	}
	for _, p := range procs {
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	}
	procs = nil
}

// clkTck is USER_HZ, the unit of /proc/PID/stat times.
var clkTck = func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if v, e := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && e == nil && v > 0 {
		return v
	}
	return 100
}()

// cpuTicks is utime+stime of one process (fields 14 and 15 of /proc/PID/stat), in clock ticks.
func cpuTicks(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')') // the command name may contain spaces
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// memKiB reads VmRSS and VmHWM (peak RSS) of a process, in KiB.
func memKiB(pid int) (rss, hwm int64) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var dst *int64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			dst = &rss
		case strings.HasPrefix(line, "VmHWM:"):
			dst = &hwm
		default:
			continue
		}
		if fs := strings.Fields(line); len(fs) >= 2 {
			*dst, _ = strconv.ParseInt(fs[1], 10, 64)
		}
	}
	return rss, hwm
}

// machineBusyTicks is the machine's non-idle CPU time summed over all cores, from the first line of /proc/stat.
func machineBusyTicks() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var busy int64
	for i, s := range f[1:] {
		v, _ := strconv.ParseInt(s, 10, 64)
		if i == 3 || i == 4 || i >= 7 { // idle, iowait, steal; guest times are already counted in user
			continue
		}
		busy += v
	}
	return busy
}

// ourTicks is the CPU of this program plus every process it started.
func ourTicks() int64 {
	t := cpuTicks("self")
	procsMu.Lock()
	defer procsMu.Unlock()
	for _, p := range procs {
		t += cpuTicks(strconv.Itoa(p.pid()))
	}
	return t
}

// cpuModel is the "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// gitDescribe names the commit under test, with -dirty when the tree has changes.
func gitDescribe(root string) string {
	cmd := exec.Command("git", "describe", "--tags", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
