package chrony

import (
	"context"
	"encoding/binary"
	"net/netip"
	"time"
)

// AuthMode is how a source's packets are authenticated.
type AuthMode uint16

const (
	AuthNone      AuthMode = 0
	AuthSymmetric AuthMode = 1 // a key from the keyfile
	AuthNTS       AuthMode = 2 // Network Time Security
)

func (m AuthMode) String() string {
	switch m {
	case AuthNone:
		return "none"
	case AuthSymmetric:
		return "symmetric key"
	case AuthNTS:
		return "NTS"
	}
	return "unknown"
}

// AuthData is chronyd's authdata report of one NTP source. chronyd answers it on its Unix
// socket only (or over UDP with "opencommands authdata", chrony 4.7 and later).
type AuthData struct {
	Mode AuthMode
	// KeyID is the symmetric key's ID (NTS: the ID of the server's current cookie key).
	KeyID uint32
	// KeyType is the cipher or hash number (chronyc prints the number); KeyBits its length.
	KeyType, KeyBits int
	// KEAttempts counts NTS-KE sessions tried since the last one that succeeded.
	KEAttempts int
	// LastKEAgo is the time since the last successful NTS-KE session; Never for none.
	LastKEAgo    time.Duration
	Cookies      int // NTS cookies held
	CookieLength int // bytes
	NAK          bool
}

// Never is LastKEAgo for a source with no key exchange yet.
const Never = NeverSampled

// AuthData reads the authdata report of the NTP source at addr.
func (c *Client) AuthData(ctx context.Context, addr netip.Addr) (AuthData, error) {
	return read(ctx, c, authDataRequest(wireAddrFrom(addr)), decodeAuthData)
}

// decodeAuthData reads an authdata reply; the facebook/time library has no decoder for it.
// After the header: u16 mode, u16 key_type, u32 key_id, u16 key_length, u16 ke_attempts,
// u32 last_ke_ago, u16 cookies, u16 cookie_length, u16 nak, u16 pad.
func decodeAuthData(reply []byte) (AuthData, error) {
	const want = replyHeaderLen + 24
	if len(reply) != want {
		return AuthData{}, protocolErrorf("authdata reply of %d bytes, want %d", len(reply), want)
	}
	b := reply[replyHeaderLen:]
	u16 := func(o int) int { return int(binary.BigEndian.Uint16(b[o:])) }
	d := AuthData{
		Mode:         AuthMode(u16(0)),
		KeyType:      u16(2),
		KeyID:        binary.BigEndian.Uint32(b[4:]),
		KeyBits:      u16(8),
		KEAttempts:   u16(10),
		LastKEAgo:    time.Duration(binary.BigEndian.Uint32(b[12:])) * time.Second,
		Cookies:      u16(16),
		CookieLength: u16(18),
		NAK:          u16(20) != 0,
	}
	if binary.BigEndian.Uint32(b[12:]) == 0xffffffff {
		d.LastKEAgo = Never
	}
	return d, nil
}
