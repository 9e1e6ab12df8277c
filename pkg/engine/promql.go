package engine

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// The series second-hand reads, in chrony_exporter's names (second-hand's /metrics has the
// same, and a few more).
const (
	mUp             = "chrony_up"
	mInfo           = "chrony_tracking_info"
	mSystemTime     = "chrony_tracking_system_time_seconds" // chronyd's correction: positive when the clock is slow
	mMaxError       = "chrony_tracking_max_error_seconds"   // second-hand's only
	mLastOffset     = "chrony_tracking_last_offset_seconds"
	mRMSOffset      = "chrony_tracking_rms_offset_seconds"
	mFrequency      = "chrony_tracking_frequency_ppms"
	mResidual       = "chrony_tracking_residual_frequency_ppms"
	mSkew           = "chrony_tracking_skew_ppms"
	mRootDelay      = "chrony_tracking_root_delay_seconds"
	mRootDisp       = "chrony_tracking_root_dispersion_seconds"
	mRefTime        = "chrony_tracking_reference_timestamp_seconds"
	mUpdateInterval = "chrony_tracking_update_interval_seconds"
	mStratum        = "chrony_tracking_stratum"
	mLeap           = "chrony_tracking_leap_status" // second-hand's only
	mSrcOffset      = "chrony_sources_last_sample_offset_seconds"
	mSrcError       = "chrony_sources_last_sample_error_margin_seconds"
	mSrcAge         = "chrony_sources_last_sample_age_seconds"
	mSrcReach       = "chrony_sources_reachability_ratio"
	mSrcSuccess     = "chrony_sources_reachability_success"
	mSrcPoll        = "chrony_sources_polling_interval_seconds"
	mSrcState       = "chrony_sources_state_info"
	mSrcStratum     = "chrony_sources_stratum"
)

// tag is the label that tells apart the parts of a query joined with "or".
const tag = "sh"

// neverSampled is chrony_exporter's last_sample_age_seconds of a source with no sample yet
// (chronyd's 2^32 - 1); second-hand leaves the series out instead.
const neverSampled = math.MaxUint32

// Source labels, as chrony_exporter has them.
const (
	lSourceAddress = "source_address"
	lSourceName    = "source_name"
	lSourceState   = "source_state"
	lSourceMode    = "source_mode"
)

// sel selects metric for one host (value, the host label's) or, with value "", every host.
func (e *Engine) sel(metric, value string) string {
	if value == "" {
		return metric + "{" + e.cfg.HostLabel + `!=""}`
	}
	return metric + "{" + e.cfg.HostLabel + "=" + strconv.Quote(value) + "}"
}

// by is the grouping that keeps one series per host (and per more labels): the same host
// scraped by two jobs, or by two Prometheus replicas, is one.
func (e *Engine) by(more ...string) string {
	return "by (" + strings.Join(append([]string{e.cfg.HostLabel}, more...), ",") + ")"
}

// tagged marks expr's series with tag=name, so that the parts of one query come apart.
func tagged(name, expr string) string {
	return "label_replace(" + expr + `,"` + tag + `","` + name + `","","")`
}

// or joins the parts of a query.
func or(parts ...string) string { return strings.Join(parts, " or ") }

// dur is a duration as PromQL reads it, in whole milliseconds (both engines read "ms").
func dur(d time.Duration) string { return strconv.FormatInt(max(d.Milliseconds(), 1), 10) + "ms" }

// valid is a sample's value unless it is NaN or infinite.
func valid(v model.SampleValue) (float64, bool) {
	f := float64(v)
	return f, !math.IsNaN(f) && !math.IsInf(f, 0)
}
