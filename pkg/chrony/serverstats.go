package chrony

import (
	"context"

	fb "github.com/facebook/time/ntp/chrony"
)

// ServerStats is chronyd's server statistics report: what it has served since it started. Its
// layout grew with chrony's releases; Version says which fields the reply had (1: chrony 2
// and 3; 2: NTS-KE and authentication, chrony 4.0; 3: interleaved packets and timestamps, 4.1
// to 4.4; 4: 64-bit counters and where timestamps were taken, 4.5 and later). Fields a
// version lacks are zero. chronyd answers it on its Unix socket only (or over UDP with
// "opencommands serverstats", chrony 4.7 and later).
type ServerStats struct {
	Version int

	NTPPackets, NTPDropped         uint64 // NTP requests received and dropped
	CommandPackets, CommandDropped uint64 // command requests received and dropped
	ClientLogDropped               uint64 // client log records dropped
	NTSKEAccepted, NTSKEDropped    uint64 // NTS-KE connections accepted and dropped (2+)
	AuthenticatedNTP               uint64 // authenticated NTP requests (2+)
	InterleavedNTP                 uint64 // interleaved NTP requests (3+)
	TimestampsHeld                 uint64 // server timestamps kept for interleaved mode (3+)
	TimestampSpanSeconds           uint64 // the time those timestamps span (3+)
	DaemonRX, DaemonTX             uint64 // NTP timestamps taken by chronyd itself (4)
	KernelRX, KernelTX             uint64 // by the kernel (4)
	HardwareRX, HardwareTX         uint64 // by the network card (4)
}

// ServerStats reads the server statistics report.
func (c *Client) ServerStats(ctx context.Context) (ServerStats, error) {
	return read(ctx, c, serverStatsRequest(), decodeServerStats)
}

func decodeServerStats(reply []byte) (ServerStats, error) {
	p, err := decodeReply(reply)
	if err != nil {
		return ServerStats{}, err
	}
	switch r := p.(type) {
	case *fb.ReplyServerStats:
		return ServerStats{Version: 1, NTPPackets: uint64(r.NTPHits), CommandPackets: uint64(r.CMDHits), NTPDropped: uint64(r.NTPDrops),
			CommandDropped: uint64(r.CMDDrops), ClientLogDropped: uint64(r.LogDrops)}, nil
	case *fb.ReplyServerStats2:
		return ServerStats{Version: 2, NTPPackets: uint64(r.NTPHits), NTSKEAccepted: uint64(r.NKEHits), CommandPackets: uint64(r.CMDHits),
			NTPDropped: uint64(r.NTPDrops), NTSKEDropped: uint64(r.NKEDrops), CommandDropped: uint64(r.CMDDrops),
			ClientLogDropped: uint64(r.LogDrops), AuthenticatedNTP: uint64(r.NTPAuthHits)}, nil
	case *fb.ReplyServerStats3:
		return ServerStats{Version: 3, NTPPackets: uint64(r.NTPHits), NTSKEAccepted: uint64(r.NKEHits), CommandPackets: uint64(r.CMDHits),
			NTPDropped: uint64(r.NTPDrops), NTSKEDropped: uint64(r.NKEDrops), CommandDropped: uint64(r.CMDDrops),
			ClientLogDropped: uint64(r.LogDrops), AuthenticatedNTP: uint64(r.NTPAuthHits), InterleavedNTP: uint64(r.NTPInterleavedHits),
			TimestampsHeld: uint64(r.NTPTimestamps), TimestampSpanSeconds: uint64(r.NTPSpanSeconds)}, nil
	case *fb.ReplyServerStats4:
		return ServerStats{Version: 4, NTPPackets: r.NTPHits, NTSKEAccepted: r.NKEHits, CommandPackets: r.CMDHits,
			NTPDropped: r.NTPDrops, NTSKEDropped: r.NKEDrops, CommandDropped: r.CMDDrops, ClientLogDropped: r.LogDrops,
			AuthenticatedNTP: r.NTPAuthHits, InterleavedNTP: r.NTPInterleavedHits, TimestampsHeld: r.NTPTimestamps,
			TimestampSpanSeconds: r.NTPSpanSeconds, DaemonRX: r.NTPDaemonRxtimestamps, DaemonTX: r.NTPDaemonTxtimestamps,
			KernelRX: r.NTPKernelRxtimestamps, KernelTX: r.NTPKernelTxtimestamps, HardwareRX: r.NTPHwRxTimestamps, HardwareTX: r.NTPHwTxTimestamps}, nil
	}
	return ServerStats{}, protocolErrorf("decoder returned %T for a server statistics reply", p)
}
