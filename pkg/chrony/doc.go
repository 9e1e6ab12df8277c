// Package chrony reads chronyd's monitoring reports over its command protocol (version 6), on
// its Unix socket or over UDP, the way chronyc does: a deadline per request, retries with a
// doubling timeout, and every reply checked against the request it answers.
//
// It is read-only by construction: the only requests it can build are the monitoring requests
// listed in protocol.go (tracking, the number of sources, source data, source statistics,
// source names, the RTC report, activity, server statistics, selectdata, ntpdata, authdata,
// and clients with its reset word always 0), and the exchange refuses anything else before it
// reaches the socket.
//
// The types here (Tracking, Source, SourceStats, RTC) are this project's own, with units in
// their field names; the wire types of github.com/facebook/time/ntp/chrony, which decodes most
// replies, never leave this package.
package chrony
