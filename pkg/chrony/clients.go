package chrony

import (
	"context"
	"math"
	"net/netip"
	"time"

	fb "github.com/facebook/time/ntp/chrony"
)

// ClientAccess is one row of chronyd's clients report: a host that sent it NTP or NTS-KE
// requests (or commands), and how often. chronyd answers it on its Unix socket only.
type ClientAccess struct {
	Address netip.Addr
	// NTP requests answered and dropped (rate limiting), and the average interval between
	// them as log2 of seconds (chronyc's "Int"); HasNTPInterval is false when chronyd has
	// none (chronyc prints "-").
	NTPHits, NTPDrops uint32
	NTPIntervalLog2   int
	HasNTPInterval    bool
	LastNTPAgo        time.Duration // NeverSampled when none
	NTSKEHits         uint32
	NTSKEDrops        uint32
	CommandHits       uint32
	CommandDrops      uint32
}

// maxClientPages bounds how many pages of clients are read (8 clients a page).
const maxClientPages = 512

// Clients reads the clients chronyd has served, at most limit of them (0: all, up to
// 4096), in chronyd's order. It never resets chronyd's counters.
func (c *Client) Clients(ctx context.Context, limit int) ([]ClientAccess, error) {
	var out []ClientAccess
	next := uint32(0)
	for range maxClientPages {
		r, err := read(ctx, c, clientsRequest(next), decodeAs[*fb.ReplyClientAccessesByIndex])
		if err != nil {
			return nil, err
		}
		if r.NClients > fb.MaxClientAccessesByIndex || int(r.NClients) > len(r.Clients) {
			return nil, protocolErrorf("clients reply lists %d clients in a page of %d", r.NClients, fb.MaxClientAccessesByIndex)
		}
		for _, a := range r.Clients[:r.NClients] {
			w := wireAddr{ip: a.IPAddr.IP, family: a.IPAddr.Family}
			if w.family == familyUnspec {
				continue // a slot chronyd has emptied
			}
			ca := ClientAccess{Address: w.netip(), NTPHits: a.NTPHits, NTPDrops: a.NTPDrops,
				NTPIntervalLog2: int(a.NTPInterval), HasNTPInterval: a.NTPInterval < 127,
				LastNTPAgo: time.Duration(a.LastNTPHitAgo) * time.Second, NTSKEHits: a.NKEHits, NTSKEDrops: a.NKEDrops,
				CommandHits: a.CmdHits, CommandDrops: a.CmdDrops}
			if a.LastNTPHitAgo == math.MaxUint32 {
				ca.LastNTPAgo = NeverSampled
			}
			out = append(out, ca)
			if limit > 0 && len(out) >= limit {
				return out, nil
			}
		}
		if r.NextIndex <= next || r.NextIndex >= r.NIndices || r.NClients < fb.MaxClientAccessesByIndex {
			return out, nil
		}
		next = r.NextIndex
	}
	return out, nil
}
