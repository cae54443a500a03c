package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/rpc"
	"github.com/redis/go-redis/v9"
)

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// redisProc is a redis-server with an append-only file fsynced on every write, so that a
// SIGKILL loses nothing acknowledged.
type redisProc struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
}

func startRedis(bin, dir string) (*redisProc, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &redisProc{bin: bin, dir: dir, port: port}
	return r, r.restart()
}

func (r *redisProc) url() string { return fmt.Sprintf("redis://127.0.0.1:%d", r.port) }

func (r *redisProc) restart() error {
	r.cmd = exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "")
	log, err := os.OpenFile(filepath.Join(r.dir, "redis.log"),
		os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	r.cmd.Stdout, r.cmd.Stderr = log, log
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start redis: %w", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port)})
	defer rdb.Close()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if err := rdb.Ping(context.Background()).Err(); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis on port %d did not come up", r.port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *redisProc) kill() error {
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	_ = r.cmd.Wait()
	return nil
}

func (r *redisProc) stop() { _ = r.kill() }

// gethNode is geth --dev, sealing a block whenever transactions are pending.
type gethNode struct {
	cmd *exec.Cmd
	url string
}

func startGeth(ctx context.Context, bin, dir string) (*gethNode, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--dev", "--datadir", dir, "--http", "--http.addr", "127.0.0.1",
		"--http.port", strconv.Itoa(port), "--http.api", "eth,net,web3,debug",
		"--ipcdisable", "--nodiscover", "--maxpeers", "0", "--verbosity", "1")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "geth.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start geth: %w", err)
	}
	g := &gethNode{cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	for deadline := time.Now().Add(60 * time.Second); ; {
		if c, err := rpc.DialContext(ctx, g.url); err == nil {
			var n string
			err = c.CallContext(ctx, &n, "eth_blockNumber")
			c.Close()
			if err == nil {
				return g, nil
			}
		}
		if time.Now().After(deadline) {
			g.stop()
			return nil, fmt.Errorf("geth did not answer on %s", g.url)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (g *gethNode) stop() {
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	_ = g.cmd.Wait()
}

// supervisor keeps n flowwatch run processes running, as systemd's Restart= would:
// one that exits (Redis down at start, a journal error) is started again after a pause.
type supervisor struct {
	bin, cfg, logs string
	mu             sync.Mutex
	stopping       bool // stop was called: start no more
	procs          []*exec.Cmd
	exited         int
	// ended are the processes that ended on their own (not by a signal): the last line
	// each wrote, which says why.
	ended []string
	done  chan struct{}
	wg    sync.WaitGroup
}

func newSupervisor(bin, cfg, logs string, n int) *supervisor {
	_ = os.MkdirAll(logs, 0o700)
	return &supervisor{bin: bin, cfg: cfg, logs: logs, procs: make([]*exec.Cmd, n),
		done: make(chan struct{})}
}

func (s *supervisor) start() {
	for i := range s.procs {
		s.wg.Add(1)
		go s.keep(i)
	}
}

// keep runs process i until stop, starting it again whenever it ends.
func (s *supervisor) keep(i int) {
	defer s.wg.Done()
	for run := 0; ; run++ {
		log, _ := os.Create(filepath.Join(s.logs, fmt.Sprintf("flowwatch-%d-%d.log", i, run)))
		cmd := exec.Command(s.bin, "run", "--config", s.cfg)
		cmd.Stdout, cmd.Stderr = log, log
		// Started and kept under the lock, or not at all once stop has signalled the
		// processes it knows: one started after would never be stopped.
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			log.Close()
			return
		}
		err := cmd.Start()
		if err == nil {
			s.procs[i] = cmd
		}
		s.mu.Unlock()
		if err != nil {
			log.Close()
			time.Sleep(time.Second)
			continue
		}
		_ = cmd.Wait()
		log.Close()
		select {
		case <-s.done:
			return
		default:
		}
		s.mu.Lock()
		s.exited++
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && !ws.Signaled() {
			s.ended = append(s.ended, lastLine(log.Name()))
		}
		s.mu.Unlock()
		time.Sleep(500 * time.Millisecond)
	}
}

// killOne sends SIGKILL to a random process; keep starts it again.
func (s *supervisor) killOne(rng *mrand.Rand) {
	s.mu.Lock()
	cmd := s.procs[rng.IntN(len(s.procs))]
	s.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
	}
}

// exits counts the processes that ended (killed or not) and were started again, and
// returns the last line of each that ended on its own.
func (s *supervisor) exits() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exited, slices.Clone(s.ended)
}

// lastLine is the last line of the file at path ("" if it cannot be read).
func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// stop ends every process gracefully (SIGTERM) and waits for them.
func (s *supervisor) stop() {
	close(s.done)
	s.mu.Lock()
	s.stopping = true
	for _, cmd := range s.procs {
		if cmd != nil && cmd.Process != nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}
