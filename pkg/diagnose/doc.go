// Package diagnose judges one chronyd: from its reports (package chrony's types) and what its
// history knows of when things happened, Diagnose says whether the clock is right and, if not,
// why, since when and what to do. It is the one place where second-hand judges: the host
// page's diagnosis, the overview's "Why", /readyz, diagnosis.json, the /metrics series, the
// tab title, a source's verdict, the colours of values and the words of an error all come from
// here, and views only render what it returns.
//
// It has no view or HTTP code. Its input is a plain struct (Input), so that a diagnosis can be
// made from a monitor's shared reads (Gather, the only part that knows package monitor), from
// another store of the same reports (Prometheus series), or from captured replies in a test.
//
// Where chrony's documentation gives a rule, the rule follows it: chronyc(1) for the bound on
// the clock's error (|system time offset| + root dispersion + root delay / 2) and for the
// meaning of each selection state; chrony.conf(5) for maxdistance (3 s), maxjitter (1 s),
// minsources, maxclockerror (1 ppm, the rate at which the error bound grows without updates)
// and clientloglimit; chrony's FAQ for redundancy ("the client should have at least three
// servers").
package diagnose
