// Package alerting turns each host's diagnosis (package diagnose) into messages: a Watcher
// diagnoses every host in the background, on the history recorder's moments and with its reads
// (so that nobody need look at a page, and chronyd is asked nothing more); its Policy decides
// when a state is worth a message (worse, and held for a while; ok again, as long), groups the
// hosts that change together into one digest and never tells about a host twice within the
// wait; Compose writes the message; a Ledger keeps what was sent and what is still to be
// delivered, in the history store or in memory; package notify delivers it.
package alerting
