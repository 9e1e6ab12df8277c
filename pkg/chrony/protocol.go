package chrony

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// The command protocol, as chronyd 4.x speaks it: big-endian, a 20-byte request header and a
// 28-byte reply header.
const (
	protocolVersion = 6
	pktTypeRequest  = 1
	pktTypeReply    = 2

	requestHeaderLen = 20
	replyHeaderLen   = 28

	// maxDatagram bounds what one read accepts; anything longer than the reply we expect is
	// reported as oversized, and this buffer is large enough to notice that.
	maxDatagram = 2048
)

// command is a request code. Only the monitoring commands below exist in this package.
type command uint16

const (
	cmdNSources      command = 14
	cmdSourceData    command = 15
	cmdTracking      command = 33
	cmdSourceStats   command = 34
	cmdRTCReport     command = 35
	cmdActivity      command = 44
	cmdServerStats   command = 54
	cmdNTPData       command = 57
	cmdNTPSourceName command = 65
	cmdAuthData      command = 67
	cmdClients       command = 68 // CLIENT_ACCESSES_BY_INDEX3
	cmdSelectData    command = 69
)

// replyCode is the reply type chronyd puts in a reply header.
type replyCode uint16

const (
	rpyNSources      replyCode = 2
	rpySourceData    replyCode = 3
	rpyTracking      replyCode = 5
	rpySourceStats   replyCode = 6
	rpyRTC           replyCode = 7
	rpyActivity      replyCode = 12
	rpyServerStats   replyCode = 14 // chrony 2 and 3
	rpyNTPData       replyCode = 16 // chrony 4.3
	rpyNTPSourceName replyCode = 19
	rpyAuthData      replyCode = 20
	rpyClients       replyCode = 21
	rpySelectData    replyCode = 23
	rpyNTPData2      replyCode = 26 // chrony 4.4 and later
	rpyServerStats2  replyCode = 22 // chrony 4.0
	rpyServerStats3  replyCode = 24 // chrony 4.1 to 4.4
	rpyServerStats4  replyCode = 25 // chrony 4.5 and later
)

// monitoring lists every request this package can send: its name (for errors and logs), the
// length of its request data, and the replies that answer it with their full lengths: a report
// that changed between chrony releases has a reply code for each layout, and is decoded by the
// one it came with. A command that is not in this table cannot be built or sent; see
// TestOnlyMonitoringRequests.
var monitoring = map[command]struct {
	name    string
	dataLen int
	replies map[replyCode]int
}{
	cmdNSources:      {"sources", 0, map[replyCode]int{rpyNSources: 32}},
	cmdSourceData:    {"source data", 4, map[replyCode]int{rpySourceData: 76}},
	cmdTracking:      {"tracking", 0, map[replyCode]int{rpyTracking: 104}},
	cmdSourceStats:   {"source statistics", 4, map[replyCode]int{rpySourceStats: 84}},
	cmdRTCReport:     {"RTC report", 0, map[replyCode]int{rpyRTC: 56}},
	cmdActivity:      {"activity", 0, map[replyCode]int{rpyActivity: 48}},
	cmdServerStats:   {"server statistics", 0, map[replyCode]int{rpyServerStats: 48, rpyServerStats2: 60, rpyServerStats3: 72, rpyServerStats4: 196}},
	cmdNTPSourceName: {"source name", 20, map[replyCode]int{rpyNTPSourceName: 284}},
	cmdNTPData:       {"ntpdata", 20, map[replyCode]int{rpyNTPData: 152, rpyNTPData2: 172}},
	cmdAuthData:      {"authdata", 20, map[replyCode]int{rpyAuthData: 52}},
	cmdClients:       {"clients", 16, map[replyCode]int{rpyClients: 520}},
	cmdSelectData:    {"selectdata", 4, map[replyCode]int{rpySelectData: 76}},
}

// maxReplyLen is the longest reply that answers a command.
func maxReplyLen(c command) int {
	n := 0
	for _, l := range monitoring[c].replies {
		n = max(n, l)
	}
	return n
}

func (c command) String() string {
	if m, ok := monitoring[c]; ok {
		return m.name
	}
	return fmt.Sprintf("command %d", uint16(c))
}

// request is one monitoring request, ready to be stamped with an attempt and a sequence.
type request struct {
	cmd  command
	data []byte // request data after the header; nil when the command takes none
}

// encode lays the request out as chronyd wants it: the header, the data, then zeros up to the
// length of the reply, because chronyd answers no request shorter than its reply.
func (r request) encode(buf []byte, attempt uint16, seq uint32) ([]byte, error) {
	m, ok := monitoring[r.cmd]
	if !ok {
		return nil, fmt.Errorf("chrony: refusing to send %v: not a monitoring request", r.cmd)
	}
	if len(r.data) != m.dataLen {
		return nil, fmt.Errorf("chrony: %v request data is %d bytes, want %d", r.cmd, len(r.data), m.dataLen)
	}
	n := max(requestHeaderLen+m.dataLen, maxReplyLen(r.cmd))
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	clear(buf)
	buf[0] = protocolVersion
	buf[1] = pktTypeRequest
	binary.BigEndian.PutUint16(buf[4:], uint16(r.cmd))
	binary.BigEndian.PutUint16(buf[6:], attempt)
	binary.BigEndian.PutUint32(buf[8:], seq)
	copy(buf[requestHeaderLen:], r.data)
	return buf, nil
}

func nSourcesRequest() request    { return request{cmd: cmdNSources} }
func trackingRequest() request    { return request{cmd: cmdTracking} }
func rtcRequest() request         { return request{cmd: cmdRTCReport} }
func activityRequest() request    { return request{cmd: cmdActivity} }
func serverStatsRequest() request { return request{cmd: cmdServerStats} }

func sourceDataRequest(index int) request {
	return request{cmd: cmdSourceData, data: binary.BigEndian.AppendUint32(nil, uint32(index))}
}

func sourceStatsRequest(index int) request {
	return request{cmd: cmdSourceStats, data: binary.BigEndian.AppendUint32(nil, uint32(index))}
}

func selectDataRequest(index int) request {
	return request{cmd: cmdSelectData, data: binary.BigEndian.AppendUint32(nil, uint32(index))}
}

func ntpDataRequest(addr wireAddr) request  { return request{cmd: cmdNTPData, data: addr.append(nil)} }
func authDataRequest(addr wireAddr) request { return request{cmd: cmdAuthData, data: addr.append(nil)} }

// clientsRequest asks for a page of clients from index first: first_index, n_clients,
// min_hits and reset. reset is always 0: chronyc's "clients -r" sets it to clear chronyd's
// counters, which a monitor never does.
func clientsRequest(first uint32) request {
	data := binary.BigEndian.AppendUint32(nil, first)
	data = binary.BigEndian.AppendUint32(data, 8)
	data = binary.BigEndian.AppendUint32(data, 0)
	data = binary.BigEndian.AppendUint32(data, 0)
	return request{cmd: cmdClients, data: data}
}

func sourceNameRequest(addr wireAddr) request {
	return request{cmd: cmdNTPSourceName, data: addr.append(nil)}
}

// replyHeader is the fixed part of every reply.
type replyHeader struct {
	version  uint8
	pktType  uint8
	res1     uint8
	res2     uint8
	cmd      command
	reply    replyCode
	status   Status
	sequence uint32
}

func parseReplyHeader(b []byte) replyHeader {
	return replyHeader{
		version:  b[0],
		pktType:  b[1],
		res1:     b[2],
		res2:     b[3],
		cmd:      command(binary.BigEndian.Uint16(b[4:])),
		reply:    replyCode(binary.BigEndian.Uint16(b[6:])),
		status:   Status(binary.BigEndian.Uint16(b[8:])),
		sequence: binary.BigEndian.Uint32(b[16:]),
	}
}

// errStale marks a well-formed reply to some other request: a late answer to an earlier
// attempt. It is dropped and the exchange goes on waiting, as chronyc does.
var errStale = fmt.Errorf("reply to another request")

// checkReply decides whether b answers the request sent as (cmd, seq). It returns errStale for
// a reply with another sequence number, a *Error of kind KindStatus when chronyd refused the
// request, and a protocol error for anything that is not a well-formed reply to it.
func checkReply(b []byte, cmd command, seq uint32) error {
	if len(b) < replyHeaderLen {
		return protocolErrorf("reply of %d bytes is shorter than a reply header (%d bytes)", len(b), replyHeaderLen)
	}
	h := parseReplyHeader(b)
	if h.version != protocolVersion && h.status != StatusBadPktVersion {
		return protocolErrorf("reply speaks protocol version %d; second-hand speaks version %d (chrony 2.x or later)", h.version, protocolVersion)
	}
	if h.pktType != pktTypeReply || h.res1 != 0 || h.res2 != 0 {
		return protocolErrorf("not a chronyd reply (packet type %d)", h.pktType)
	}
	if h.sequence != seq {
		return errStale
	}
	if h.cmd != cmd {
		return protocolErrorf("reply is for %v, not for the %v request it answers", h.cmd, cmd)
	}
	if h.status != StatusSuccess {
		return &Error{Kind: statusKind(h.status), Status: h.status}
	}
	want, ok := monitoring[cmd].replies[h.reply]
	if !ok {
		return protocolErrorf("reply type %d does not answer a %v request", h.reply, cmd)
	}
	switch {
	case len(b) < want:
		return protocolErrorf("truncated reply: %d bytes, a %v reply has %d", len(b), cmd, want)
	case len(b) > want:
		return protocolErrorf("oversized reply: %d bytes, a %v reply has %d", len(b), cmd, want)
	}
	return nil
}

// wireAddr is chrony's IPAddr: 16 address bytes, a family and padding.
type wireAddr struct {
	ip     [16]byte
	family uint16
}

const (
	familyUnspec = 0
	familyInet4  = 1
	familyInet6  = 2
	familyID     = 3 // a reference clock or an unresolved source: the first 4 bytes are an ID
)

func (a wireAddr) append(b []byte) []byte {
	b = append(b, a.ip[:]...)
	b = binary.BigEndian.AppendUint16(b, a.family)
	return binary.BigEndian.AppendUint16(b, 0)
}

// decodeFloat turns chrony's 32-bit float into a float64: the top 7 bits are a signed
// exponent, the low 25 bits a signed coefficient, and the value is coef * 2^(exp-25).
func decodeFloat(x uint32) float64 {
	exp := int32(x) >> 25 // arithmetic shift keeps the exponent's sign
	coef := int32(x<<7) >> 7
	return math.Ldexp(float64(coef), int(exp)-25)
}

// decodeTimespec reads chrony's 12-byte timespec. A zero time (which chronyd sends for "never")
// comes back as the zero time.Time.
func decodeTimespec(b []byte) time.Time {
	high := binary.BigEndian.Uint32(b[0:])
	low := binary.BigEndian.Uint32(b[4:])
	nsec := binary.BigEndian.Uint32(b[8:])
	if high == 0x7fffffff { // chrony's marker for "no high bits"
		high = 0
	}
	sec := int64(high)<<32 | int64(low)
	if sec == 0 && nsec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}
