package chrony

// chronyd answers every report whole. Where it has nothing to report it puts a placeholder in
// the field: an unsynchronised chronyd reports stratum 0, a root delay and dispersion of 1 s, a
// reference time of zero and zero offsets; a source it has no sample of, offsets of 0 and
// stratum 0; the statistics of a source before their first regression, a skew of 2000 ppm and a
// deviation of 4 s; the last packet of a source that never answered, version 0, mode 0, stratum
// 0 and no reference time (chronyc prints its precision as 1 s). The methods here say which fields are
// measurements, so that a page says "unknown" or "none yet" instead of printing a placeholder
// as if it were measured.
//
// Offsets follow one sign convention, chronyc's for every report but one: positive means this
// clock is ahead of (fast compared with) the reference or the source, negative behind (slow).
// The tracking report's system time offset (Tracking.SystemTimeOffsetSeconds), the sources
// report's offsets, the source statistics' offset and the selection report's interval all count
// so; ntpdata's offset counts the other way, as NTP does, and NTPData.LocalOffsetSeconds turns
// it round.

// Measured reports whether the tracking report holds chronyd's estimates of the clock against a
// reference. An unsynchronised chronyd reports placeholders instead: stratum 0, a root delay and
// root dispersion of 1 s, a reference time of zero, and zero for its last and RMS offsets,
// residual frequency, skew and update interval; and the system time offset it reports is
// relative to no reference. Its frequency is still its own estimate (from its drift file, or
// what it last measured), whatever this says.
func (t Tracking) Measured() bool { return t.Synchronised() }

// Updated reports whether chronyd has updated the clock from a reference since it started (the
// reference time is not its zero).
func (t Tracking) Updated() bool { return !t.RefTime.IsZero() }

// Sampled reports whether chronyd holds a sample of the source. Without one, the row's offsets
// and error bound (0) are placeholders, and so is its stratum unless the source answered with
// one (StratumKnown).
func (s Source) Sampled() bool { return s.LastSampleAgo != NeverSampled }

// StratumKnown reports whether the row's stratum is the source's: chronyd reports 0 for a
// source that has given it neither a sample nor a packet with a stratum. (A reference clock's
// stratum, 0 by default, is known once it gives samples.)
func (s Source) StratumKnown() bool { return s.Sampled() || s.Stratum != 0 }

// NoEstimateSkewPPM is the frequency skew chronyd reports for a source it has no estimate of:
// its bound on any clock's frequency error, kept until the first regression of the source's
// samples.
const NoEstimateSkewPPM = 2000

// MinSamplesForEstimate is how many samples chronyd's first regression of a source needs.
const MinSamplesForEstimate = 3

// Estimated reports whether chronyd has estimated the source's frequency, its skew and the
// deviation of its samples by a regression. With fewer than three samples it reports
// placeholders: a frequency of 0, a skew of 2000 ppm (NoEstimateSkewPPM) and a standard
// deviation of 4 s; with none, its offset is a placeholder too (OffsetKnown).
func (s SourceStats) Estimated() bool { return s.Samples >= MinSamplesForEstimate }

// OffsetKnown reports whether the statistics' offset is the source's: with one sample or two it
// is that of their newest, with none a placeholder (0).
func (s SourceStats) OffsetKnown() bool { return s.Samples > 0 }

// Received reports whether a valid packet has come from the source. Until one has, the report's
// header (leap, version 0, mode 0, stratum 0, poll, precision, root delay and dispersion),
// its reference, offset, delay, dispersion, response time and test results are placeholders:
// only the addresses and the counts of packets are facts.
func (d NTPData) Received() bool { return d.TotalValidRX > 0 }

// LocalOffsetSeconds is the offset measured from the source's last packet in the page's
// convention: how far this clock is ahead of the source (negative: behind). chronyd reports it
// as NTP counts, the other way round (positive when this clock is behind).
func (d NTPData) LocalOffsetSeconds() float64 { return -d.OffsetSeconds }

// HasInterval reports whether the selection row holds an offset interval: chronyd computes one
// only for a source with samples that takes part in the selection (a noselect source does not),
// and reports 0 to 0 otherwise.
func (s Selection) HasInterval() bool { return s.Hi > s.Lo }
