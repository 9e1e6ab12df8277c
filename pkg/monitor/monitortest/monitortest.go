// Package monitortest helps tests build fake monitor.Reporters.
package monitortest

import (
	"context"
	"errors"
	"net/netip"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// NoSocketReports, embedded in a fake Reporter, answers the reports chronyd gives only on its
// socket (selectdata, ntpdata, authdata, clients) with an error, for fakes that do not need
// them.
type NoSocketReports struct{}

func (NoSocketReports) SelectDataN(context.Context, int) ([]chrony.Selection, error) {
	return nil, errors.New("no selectdata in this fake")
}

func (NoSocketReports) NTPData(context.Context, netip.Addr) (chrony.NTPData, error) {
	return chrony.NTPData{}, errors.New("no ntpdata in this fake")
}

func (NoSocketReports) AuthData(context.Context, netip.Addr) (chrony.AuthData, error) {
	return chrony.AuthData{}, errors.New("no authdata in this fake")
}

func (NoSocketReports) Clients(context.Context, int) ([]chrony.ClientAccess, error) {
	return nil, errors.New("no clients in this fake")
}
