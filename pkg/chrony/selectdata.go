package chrony

import (
	"context"
	"math"
	"net/netip"
	"time"

	fb "github.com/facebook/time/ntp/chrony"
)

// SelectOptions are a source's selection options (chrony.conf's server options).
type SelectOptions uint16

const (
	OptNoSelect SelectOptions = 0x1
	OptPrefer   SelectOptions = 0x2
	OptTrust    SelectOptions = 0x4
	OptRequire  SelectOptions = 0x8
)

// Names are the options' chrony.conf words.
func (o SelectOptions) Names() []string {
	var out []string
	for _, x := range []struct {
		bit  SelectOptions
		name string
	}{{OptNoSelect, "noselect"}, {OptPrefer, "prefer"}, {OptTrust, "trust"}, {OptRequire, "require"}} {
		if o&x.bit != 0 {
			out = append(out, x.name)
		}
	}
	return out
}

// Letters are chronyc's five-letter column: N P T R and a dash for each option not set.
func (o SelectOptions) Letters() string {
	b := []byte("-----")
	for i, x := range []SelectOptions{OptNoSelect, OptPrefer, OptTrust, OptRequire} {
		if o&x != 0 {
			b[i] = "NPTR"[i]
		}
	}
	return string(b)
}

// Selection is one row of chronyd's selectdata report: where a source stood at the last source
// selection, and why. chronyd answers it on its Unix socket only (or over UDP with
// "opencommands selectdata", chrony 4.7 and later).
type Selection struct {
	Name    string     // the configured name, as in Sources; a reference clock's ref ID
	Address netip.Addr // invalid for reference clocks and unresolved sources
	RefID   uint32
	// State is chronyc's state letter: * + are used; W P U D selectable but not used; N M s d
	// ~ w S O T x not selectable. Reason spells it out.
	State         byte
	Authenticated bool // an authentication mechanism (NTS or a key) is enabled
	Leap          LeapStatus
	Configured    SelectOptions
	Effective     SelectOptions // can differ from Configured by authselectmode
	LastSampleAgo time.Duration // at the selection; NeverSampled if never
	Score         float64
	// Lo and Hi bound the interval, in seconds, expected to hold the true offset of the local
	// clock by this source, considering its root distance.
	Lo, Hi float64
}

// SelectData reads the selection row of source index i (as in Sources).
func (c *Client) SelectData(ctx context.Context, i int) (Selection, error) {
	var s Selection
	var addr wireAddr
	err := c.roundTrip(ctx, selectDataRequest(i), func(reply []byte) (err error) {
		s, addr, err = decodeSelectData(reply)
		return err
	})
	if err != nil {
		return Selection{}, err
	}
	if addr.family == familyInet4 || addr.family == familyInet6 {
		if s.Name, err = c.sourceName(ctx, addr); err != nil {
			return Selection{}, err
		}
	}
	return s, nil
}

// SelectDataN reads every source's selection row, n from NumSources.
func (c *Client) SelectDataN(ctx context.Context, n int) ([]Selection, error) {
	out := make([]Selection, 0, n)
	for i := range n {
		s, err := c.SelectData(ctx, i)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func decodeSelectData(reply []byte) (Selection, wireAddr, error) {
	if len(reply) != monitoring[cmdSelectData].replies[rpySelectData] {
		return Selection{}, wireAddr{}, protocolErrorf("selectdata reply of %d bytes", len(reply))
	}
	r, err := decodeAs[*fb.ReplySelectData](reply)
	if err != nil {
		return Selection{}, wireAddr{}, err
	}
	// The library gives the address as a net.IP; the family is what tells a reference clock.
	fam := reply[replyHeaderLen+4+16 : replyHeaderLen+4+18]
	wa := wireAddr{family: uint16(fam[0])<<8 | uint16(fam[1])}
	copy(wa.ip[:], reply[replyHeaderLen+4:replyHeaderLen+4+16])
	s := Selection{
		RefID:         r.RefID,
		Address:       wa.netip(),
		State:         r.StateChar,
		Authenticated: r.Authentication != 0,
		Leap:          LeapStatus(r.Leap),
		Configured:    SelectOptions(r.ConfOptions),
		Effective:     SelectOptions(r.EFFOptions),
		LastSampleAgo: time.Duration(r.LastSampleAgo) * time.Second,
		Score:         r.Score,
		Lo:            r.LoLimit,
		Hi:            r.HiLimit,
	}
	if r.LastSampleAgo == math.MaxUint32 {
		s.LastSampleAgo = NeverSampled
	}
	switch wa.family {
	case familyUnspec, familyID:
		// A reference clock (unspecified address) is known by its ref ID; an unresolved
		// source by its ID.
		if wa.family == familyUnspec {
			s.Name = RefIDString(r.RefID)
		} else {
			s.Name = wa.String()
		}
	}
	return s, wa, nil
}

// Reason is the state letter in words: why the source is or is not used.
func (s Selection) Reason() string { return SelectionReason(s.State) }

// Used reports whether the source synchronises the clock: selected or combined.
func (s Selection) Used() bool { return s.State == '*' || s.State == '+' }

// SelectionReason spells out a selectdata state letter.
func SelectionReason(state byte) string {
	switch state {
	case '*':
		return "selected: the best source, the one the clock follows"
	case '+':
		return "combined: used with the selected source"
	case 'W':
		return "selectable, waiting for other sources (minsources, or another source's require option)"
	case 'P':
		return "selectable, but another source is preferred (prefer option)"
	case 'U':
		return "selectable, waiting for a new sample after a change of the selected source"
	case 'D':
		return "selectable, but its distance is (or was recently) too large to be combined (combinelimit)"
	case 'N':
		return "not selected: it has the noselect option"
	case 'M':
		return "not selected: waiting for more samples"
	case 's':
		return "not selected: the source itself is not synchronised"
	case 'd':
		return "not selected: its root distance is larger than maxdistance"
	case '~':
		return "not selected: its jitter is larger than maxjitter"
	case 'w':
		return "not selected: waiting for other sources to have enough samples"
	case 'S':
		return "not selected: its samples are older than the other sources', or it has been unreachable too long"
	case 'O':
		return "not selected: its stratum is at or above the orphan stratum (local directive)"
	case 'T':
		return "not selected: it does not agree with the sources that have the trust option"
	case 'x':
		return "falseticker: its interval does not overlap the majority's"
	}
	return "state " + string(rune(state))
}
