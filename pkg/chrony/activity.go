package chrony

import (
	"context"

	fb "github.com/facebook/time/ntp/chrony"
)

// Activity is chronyd's activity report: how many of its sources are online, offline, in a
// burst, or not resolved yet. chronyd answers it over UDP too.
type Activity struct {
	Online       int // sources chronyd polls
	Offline      int // sources set offline (chronyc offline, or with the offline option)
	BurstOnline  int // in a burst, then online
	BurstOffline int // in a burst, then offline
	Unresolved   int // names not resolved yet
}

// Activity reads the activity report.
func (c *Client) Activity(ctx context.Context) (Activity, error) {
	return read(ctx, c, activityRequest(), decodeActivity)
}

func decodeActivity(reply []byte) (Activity, error) {
	r, err := decodeAs[*fb.ReplyActivity](reply)
	if err != nil {
		return Activity{}, err
	}
	return Activity{Online: int(r.Online), Offline: int(r.Offline), BurstOnline: int(r.BurstOnline),
		BurstOffline: int(r.BurstOffline), Unresolved: int(r.Unresolved)}, nil
}
