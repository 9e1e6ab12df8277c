package chronylab

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// SelectionLab is a monitored chronyd whose sources show every reason chronyd has to use a
// source or not, each served by its own chronyd on its own loopback address:
//
//	^ 127.0.0.1   Good: an upstream (local stratum 8), selected or combined
//	^ 127.0.0.2   NTS: an upstream that serves NTS with a certificate made here
//	^ 127.0.0.4   Falseticker: an upstream read with "offset 1.0", a second away from the others
//	^ 127.0.0.6   NoSelect: an upstream with the noselect option
//	^ 127.0.0.3   Dead: a server nobody answers
//	# GPS         a reference clock (SHM 0) with no device behind it
//
// It polls every 16 s (after iburst), so that reports stay still between two reads.
type SelectionLab struct {
	Dir                              string
	Good, NTS, Falseticker, NoSelect *Daemon
	Monitored                        *Daemon
	GoodAddr, NTSAddr, FalseAddr     string
	NoSelectAddr, DeadAddr           string
	ownDir                           bool
}

// StartSelection makes and starts the selection lab in dir (a new temporary directory when
// empty), its chronyd from image when one is given (see Config.Image).
func StartSelection(ctx context.Context, dir, image string) (*SelectionLab, error) {
	return StartSelectionWith(ctx, SelectionOptions{Dir: dir, Image: image})
}

// SelectionOptions shape a selection lab.
type SelectionOptions struct {
	Dir, Image string // as StartSelection's
	// Peer adds a seventh source: a symmetric peer (127.0.0.5) that never answers.
	Peer bool
}

// StartSelectionWith makes and starts a selection lab as opts say.
func StartSelectionWith(ctx context.Context, opts SelectionOptions) (*SelectionLab, error) {
	dir, image := opts.Dir, opts.Image
	l := &SelectionLab{Dir: dir, GoodAddr: "127.0.0.1", NTSAddr: "127.0.0.2", FalseAddr: "127.0.0.4", NoSelectAddr: "127.0.0.6", DeadAddr: "127.0.0.3"}
	if l.Dir == "" {
		d, err := os.MkdirTemp("", "chronylab-selection-")
		if err != nil {
			return nil, err
		}
		l.Dir, l.ownDir = d, true
	}
	ports, err := freePorts(8)
	if err != nil {
		return nil, err
	}
	good, nts, ntsKE, falsePort, noselect, dead, cmd := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6]
	peer := ""
	if opts.Peer {
		peer = fmt.Sprintf("peer 127.0.0.5 port %d\n", ports[7])
	}
	cert, key, err := selfSignedCert(l.Dir, l.NTSAddr)
	if err != nil {
		return nil, err
	}
	up := func(name, addr string, port int, extra string) (*Daemon, error) {
		return NewDaemon(l.Dir, name, Config{Conf: "local stratum 8\n" + extra, NTPPort: port, NTPAddr: addr, Image: image})
	}
	if l.Good, err = up("good", l.GoodAddr, good, ""); err != nil {
		return nil, err
	}
	if l.NTS, err = up("nts", l.NTSAddr, nts, fmt.Sprintf("ntsservercert %s\nntsserverkey %s\nntsport %d\nntsdumpdir %s\n",
		cert, key, ntsKE, filepath.Join(l.Dir, "nts"))); err != nil {
		return nil, err
	}
	os.MkdirAll(filepath.Join(l.Dir, "nts"), 0o750)
	if l.Falseticker, err = up("falseticker", l.FalseAddr, falsePort, ""); err != nil {
		return nil, err
	}
	if l.NoSelect, err = up("noselect", l.NoSelectAddr, noselect, ""); err != nil {
		return nil, err
	}
	const poll = "iburst minpoll 4 maxpoll 4"
	conf := fmt.Sprintf(`server %s port %d %s
server %s port %d nts ntsport %d %s
server %s port %d offset 1.0 %s
server %s port %d noselect %s
server %s port %d %s
refclock SHM 0 refid GPS
ntstrustedcerts %s
%s`, l.GoodAddr, good, poll, l.NTSAddr, nts, ntsKE, poll, l.FalseAddr, falsePort, poll, l.NoSelectAddr, noselect, poll,
		l.DeadAddr, dead, poll, cert, peer)
	if l.Monitored, err = NewDaemon(l.Dir, "monitored", Config{Conf: conf, CmdPort: cmd, Image: image}); err != nil {
		return nil, err
	}
	for _, d := range []*Daemon{l.Good, l.NTS, l.Falseticker, l.NoSelect, l.Monitored} {
		if err := d.Start(ctx); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

// WaitSettled waits until the monitored chronyd finds the good and the NTS source selectable,
// has marked the falseticker, and got NTS cookies: until its reports show every case.
func (l *SelectionLab) WaitSettled(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var last string
	for {
		sel, err1 := l.Monitored.Chronyc(ctx, "-c", "selectdata", "-a")
		auth, err2 := l.Monitored.Chronyc(ctx, "-c", "authdata")
		tracking, err3 := l.Monitored.Chronyc(ctx, "-c", "tracking")
		if err1 != nil || err2 != nil || err3 != nil {
			last = fmt.Sprint(err1, err2, err3)
		}
		if err1 == nil && err2 == nil && err3 == nil {
			last = sel + auth + tracking
			state := map[string]string{}
			for _, row := range ParseCSV(sel) {
				if len(row) > 1 {
					state[row[1]] = row[0]
				}
			}
			cookies := false
			for _, row := range ParseCSV(auth) {
				if len(row) > 8 && row[0] == l.NTSAddr && row[1] == "NTS" && row[8] != "0" {
					cookies = true
				}
			}
			// The good and the NTS source are selectable: selected, combined, or kept apart by
			// combinelimit (D), as chronyd's selection goes.
			selectable := func(s string) bool { return s != "" && strings.Contains("*+DPWU", s) }
			if state[l.FalseAddr] == "x" && selectable(state[l.GoodAddr]) && selectable(state[l.NTSAddr]) &&
				state[l.NoSelectAddr] == "N" && cookies && converged(tracking) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("chronylab: the selection lab did not settle: %w; last:\n%s", ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// converged reports whether chronyc -c tracking shows a clock that is right: within a
// millisecond, with a bound on its error under 10 ms. When the falseticker answers first,
// chronyd follows it alone for a moment and then slews back a second; until it has, the
// clock is rightly judged wrong, and the lab is not yet what its tests expect.
func converged(tracking string) bool {
	rows := ParseCSV(tracking)
	if len(rows) != 1 || len(rows[0]) < 12 {
		return false
	}
	num := func(i int) float64 {
		v, err := strconv.ParseFloat(rows[0][i], 64)
		if err != nil {
			return math.Inf(1)
		}
		return math.Abs(v)
	}
	offset, delay, dispersion := num(4), num(10), num(11)
	return offset < 1e-3 && offset+delay/2+dispersion < 10e-3
}

// Close stops every daemon and removes the lab's directory if StartSelection made it.
func (l *SelectionLab) Close() error {
	for _, d := range []*Daemon{l.Monitored, l.Good, l.NTS, l.Falseticker, l.NoSelect} {
		if d != nil {
			d.Stop()
		}
	}
	if l.ownDir {
		return os.RemoveAll(l.Dir)
	}
	return nil
}

// selfSignedCert writes a self-signed certificate for ip (and localhost) and its key into dir.
func selfSignedCert(dir, ip string) (certPath, keyPath string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: ip},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP(ip)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certPath, keyPath = filepath.Join(dir, "nts-cert.pem"), filepath.Join(dir, "nts-key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}
