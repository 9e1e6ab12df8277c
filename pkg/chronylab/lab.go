// Package chronylab runs private chronyd processes on loopback, for tests and for the demo:
// an upstream that serves its local clock ("local stratum") and a monitored chronyd that
// synchronises to it, with a reference clock, a peer and a server that never answer. They
// never touch the system clock (-x) and bind only 127.0.0.1 and sockets in their own
// directories. chronyd 4.3 must run as root.
package chronylab

import (
	"bytes"
	"context"
	"errors"
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

	"github.com/second-hand/second-hand/pkg/testkit"
)

// Daemon is one chronyd process with its own directory, config, socket and ports.
type Daemon struct {
	Name    string
	Dir     string // holds chrony.conf, the socket, pid file and log; mode 0750 as chronyd wants
	CmdPort int    // the UDP command port on 127.0.0.1; 0 when it has none
	NTPPort int    // the NTP port on 127.0.0.1; 0 when it serves no time

	conf  string
	image string // run in a container of this image (host network), not from the host

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Socket is the path of the daemon's command socket.
func (d *Daemon) Socket() string { return filepath.Join(d.Dir, "chronyd.sock") }

// SocketAddress is the socket as second-hand's --chrony flag takes it.
func (d *Daemon) SocketAddress() string { return "unix://" + d.Socket() }

// UDPAddress is the UDP command address as second-hand's --chrony flag takes it.
func (d *Daemon) UDPAddress() string { return "udp://127.0.0.1:" + strconv.Itoa(d.CmdPort) }

// LogFile is where chronyd's output goes.
func (d *Daemon) LogFile() string { return filepath.Join(d.Dir, "chronyd.log") }

// Config is what a Daemon runs with.
type Config struct {
	Conf    string // the chrony.conf body: sources, local, and so on
	CmdPort int    // a UDP command port on 127.0.0.1 (cmdallow 127.0.0.0/8); 0 for none
	NTPPort int    // a port to serve NTP on (allow 127.0.0.0/8); 0 for none
	NTPAddr string // the address to serve NTP on; default 127.0.0.1
	// Image, when set, runs chronyd (and chronyc) in a container of this image instead of
	// the host's: on the host's network, with the daemon's directory mounted at its own path,
	// so that it is the same chronyd on loopback and the same socket, of another version.
	Image string
}

// NewDaemon prepares a daemon in dir/name. The lines that keep a private instance private
// (pidfile, socket in its own directory, ports on loopback only) are added to cfg.Conf here.
func NewDaemon(dir, name string, cfg Config) (*Daemon, error) {
	cmdPort, ntpPort, conf := cfg.CmdPort, cfg.NTPPort, cfg.Conf
	d := &Daemon{Name: name, Dir: filepath.Join(dir, name), CmdPort: cmdPort, NTPPort: ntpPort, image: cfg.Image}
	if err := os.MkdirAll(d.Dir, 0o750); err != nil {
		return nil, err
	}
	// chronyd disables its command socket when the directory is open to others.
	if err := os.Chmod(d.Dir, 0o750); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(conf)
	fmt.Fprintf(&b, "\npidfile %s\n", filepath.Join(d.Dir, "chronyd.pid"))
	fmt.Fprintf(&b, "bindcmdaddress %s\n", d.Socket())
	fmt.Fprintf(&b, "driftfile %s\n", filepath.Join(d.Dir, "drift"))
	if cmdPort > 0 {
		fmt.Fprintf(&b, "cmdport %d\nbindcmdaddress 127.0.0.1\ncmdallow 127.0.0.0/8\n", cmdPort)
	} else {
		b.WriteString("cmdport 0\n")
	}
	if ntpPort > 0 {
		addr := cfg.NTPAddr
		if addr == "" {
			addr = "127.0.0.1"
		}
		fmt.Fprintf(&b, "port %d\nbindaddress %s\nallow 127.0.0.0/8\n", ntpPort, addr)
	} else {
		b.WriteString("port 0\n")
	}
	d.conf = filepath.Join(d.Dir, "chrony.conf")
	if err := os.WriteFile(d.conf, []byte(b.String()), 0o640); err != nil {
		return nil, err
	}
	return d, nil
}

// Start runs chronyd in the foreground (-d), without clock control (-x), and waits until its
// command socket answers. It is an error to start a running daemon.
func (d *Daemon) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd != nil {
		return fmt.Errorf("chronylab: %s is already running", d.Name)
	}
	if os.Geteuid() != 0 {
		return ErrNotRoot
	}
	argv := []string{"-x", "-d", "-u", "root", "-f", d.conf}
	if d.image != "" {
		// The container runs with the host's network and the lab's directory (the daemon's
		// and what the daemons share, such as certificates): chronyd binds loopback addresses
		// and its socket as a host chronyd would.
		d.containerRemove()
		lab := filepath.Dir(d.Dir)
		argv = append([]string{"run", "--rm", "--name", d.container(), "--network", "host", "-v", lab + ":" + lab,
			"--entrypoint", "chronyd", d.image}, argv...)
	}
	bin, err := Chronyd()
	if d.image != "" {
		bin, err = exec.LookPath("docker")
	}
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(d.LogFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	defer logf.Close()
	// A socket left by a killed instance makes chronyd fail to bind.
	os.Remove(d.Socket())
	cmd := exec.Command(bin, argv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("chronylab: starting %s: %w", d.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	d.cmd, d.done = cmd, done

	// Ready when chronyc gets an answer over the socket.
	for {
		if _, err := d.chronyc(ctx, "tracking"); err == nil {
			return nil
		}
		select {
		case <-done:
			d.cmd = nil
			log, _ := os.ReadFile(d.LogFile())
			return fmt.Errorf("chronylab: %s exited at start:\n%s", d.Name, testkit.LastLines(string(log), 10))
		case <-ctx.Done():
			return fmt.Errorf("chronylab: %s did not answer: %w", d.Name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop ends chronyd with SIGTERM and waits for it, killing it after 5 s.
func (d *Daemon) Stop() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return nil
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
	}
	d.cmd = nil
	if d.image != "" {
		d.containerRemove()
	}
	return nil
}

// keepsRoot reports whether the chronyc of image takes -u (chrony 4.8 and later), asking it
// once per image.
func keepsRoot(image string) bool {
	userOption.Lock()
	defer userOption.Unlock()
	if v, ok := userOption.m[image]; ok {
		return v
	}
	err := exec.Command("docker", "run", "--rm", "--entrypoint", "chronyc", image, "-u", "root", "-v").Run()
	userOption.m[image] = err == nil
	return err == nil
}

var userOption = struct {
	sync.Mutex
	m map[string]bool
}{m: map[string]bool{}}

// container is the name of the daemon's container: the lab's directory and the daemon's
// name, unique on the machine.
func (d *Daemon) container() string {
	return "chronylab-" + filepath.Base(filepath.Dir(d.Dir)) + "-" + d.Name
}

func (d *Daemon) containerRemove() {
	exec.Command("docker", "rm", "-f", d.container()).Run()
}

// Chronyc runs chronyc against the daemon's socket with -n (no DNS) and returns its output.
func (d *Daemon) Chronyc(ctx context.Context, args ...string) (string, error) {
	return d.chronyc(ctx, args...)
}

func (d *Daemon) chronyc(ctx context.Context, args ...string) (string, error) {
	bin, err := lookPath("chronyc")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	argv := append([]string{"-n", "-h", d.Socket()}, args...)
	if d.image != "" {
		// The chronyc of the same version, in the daemon's container. From chrony 4.8,
		// chronyc started as root switches to chronyd's user unless told not to, and that
		// user may not enter the lab's directories.
		if keepsRoot(d.image) {
			argv = append([]string{"-u", "root"}, argv...)
		}
		argv = append([]string{"exec", d.container(), "chronyc"}, argv...)
		if bin, err = exec.LookPath("docker"); err != nil {
			return "", err
		}
	}
	cmd := exec.CommandContext(ctx, bin, argv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("chronyc %s: %v: %s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), nil
}

// ErrNotRoot is returned when the lab cannot start chronyd, which refuses to run unprivileged.
var ErrNotRoot = errors.New("chronylab: chronyd 4.3 runs only as root (it exits with \"Not superuser\"); run the tests as root, as CI does")

// Chronyd finds the chronyd binary, which Debian installs in /usr/sbin.
func Chronyd() (string, error) { return lookPath("chronyd") }

func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("chronylab: %s not found; install Debian's chrony package (apt-get install chrony)", name)
}

// FreePort returns a UDP port on 127.0.0.1 that nothing is bound to right now.
func FreePort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}
