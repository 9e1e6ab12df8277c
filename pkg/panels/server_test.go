package panels

import (
	"net/netip"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// TestServerPanel: serving nobody is one line with no reload button; serving, a rate reads with
// its count ("1.0/s (441 in all)"), one client is "1 client", and a client's last request is an
// age ("12 s ago"), not a bare number.
func TestServerPanel(t *testing.T) {
	idle := render(t, ServerPanel(Result[ServerData]{Data: ServerData{Stats: chrony.ServerStats{Version: 4}}, At: at, Now: now}))
	mustContain(t, idle, "is-quiet", `data-field="server-idle"`, "serves no NTP clients")
	mustNotContain(t, idle, `class="reload"`, "Clients")

	d := ServerData{Stats: chrony.ServerStats{Version: 3, NTPPackets: 441, InterleavedNTP: 0, TimestampsHeld: 0},
		Prev: chrony.ServerStats{Version: 3, NTPPackets: 431}, PrevAt: at.Add(-10 * time.Second), HavePrev: true,
		Clients: []chrony.ClientAccess{{Address: netip.MustParseAddr("192.0.2.7"), NTPHits: 441, NTPIntervalLog2: 6, HasNTPInterval: true, LastNTPAgo: 12 * time.Second}}}
	html := render(t, ServerPanel(Result[ServerData]{Data: d, At: at, Now: now}))
	mustContain(t, html, "1.0/s (", `data-field="server-ntp" value="441">441<`, " in all)", ">1 client<",
		`data-field="client-last" value="12">12 s ago<`, `value="0">0</data> requests (`, " timestamps held)")
	mustNotContain(t, html, "is-quiet", "1 clients", "now ago", " · held ")
}
