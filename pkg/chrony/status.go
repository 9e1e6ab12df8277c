package chrony

import "fmt"

// Status is the status code of a chronyd reply.
type Status uint16

// The status codes chronyd sends (candm.h). Only a few can answer a monitoring request; the
// others are listed so that an unexpected one still prints by name.
const (
	StatusSuccess        Status = 0
	StatusFailed         Status = 1
	StatusUnauth         Status = 2
	StatusInvalid        Status = 3
	StatusNoSuchSource   Status = 4
	StatusInvalidTS      Status = 5
	StatusNotEnabled     Status = 6
	StatusBadSubnet      Status = 7
	StatusAccessAllowed  Status = 8
	StatusAccessDenied   Status = 9
	StatusNoHostAccess   Status = 10
	StatusAlreadyKnown   Status = 11
	StatusTooManySources Status = 12
	StatusNoRTC          Status = 13
	StatusBadRTCFile     Status = 14
	StatusInactive       Status = 15
	StatusBadSample      Status = 16
	StatusInvalidAF      Status = 17
	StatusBadPktVersion  Status = 18
	StatusBadPktLength   Status = 19
)

// statusText is how chronyc prints each status: its own three-digit code and words.
var statusText = map[Status]struct {
	code int
	text string
}{
	StatusSuccess:        {200, "OK"},
	StatusFailed:         {500, "Failure"},
	StatusUnauth:         {501, "Not authorised"},
	StatusInvalid:        {502, "Invalid command"},
	StatusNoSuchSource:   {503, "No such source"},
	StatusInvalidTS:      {504, "Duplicate or stale logon detected"},
	StatusNotEnabled:     {505, "Facility not enabled in daemon"},
	StatusBadSubnet:      {507, "Bad subnet"},
	StatusAccessAllowed:  {208, "Access allowed"},
	StatusAccessDenied:   {209, "Access denied"},
	StatusNoHostAccess:   {510, "No command access from this host"},
	StatusAlreadyKnown:   {511, "Source already present"},
	StatusTooManySources: {512, "Too many sources present"},
	StatusNoRTC:          {513, "RTC driver not running"},
	StatusBadRTCFile:     {514, "Can't write RTC parameters"},
	StatusInactive:       {519, "Client logging is not active in the daemon"},
	StatusBadSample:      {516, "Sample index out of range"},
	StatusInvalidAF:      {515, "Invalid address family"},
	StatusBadPktVersion:  {517, "Protocol version mismatch"},
	StatusBadPktLength:   {518, "Packet length mismatch"},
}

// String prints the status as chronyc does ("501 Not authorised"); an unknown code prints
// with its number.
func (s Status) String() string {
	if t, ok := statusText[s]; ok {
		return fmt.Sprintf("%d %s", t.code, t.text)
	}
	return fmt.Sprintf("520 unexpected status %d", uint16(s))
}
