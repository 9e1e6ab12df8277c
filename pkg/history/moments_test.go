package history

import (
	"context"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/store"
)

// TestMomentsLiveAndFromTheStore: a host's moments as the recorder writes them, and the same
// read back from the store at a start, agree: when its source stopped answering, when
// synchronisation was lost, when chronyd stopped answering and when it restarted (a gap after
// which every source's statistics start over).
func TestMomentsLiveAndFromTheStore(t *testing.T) {
	ctx := context.Background()
	s := Open(Config{Dir: t.TempDir(), Sample: 16 * time.Second, Retention: store.Retention{Raw: 30 * 24 * time.Hour}})
	defer s.Close()
	live := newMoments()
	live.seed(ctx, func(context.Context, store.Visitor) error { return nil })
	s.moments["h"] = live

	clock := t0
	synced := chrony.Tracking{RefID: 1, Stratum: 2, Leap: chrony.LeapNormal, RefTime: t0.Add(-10 * time.Second), UpdateIntervalSeconds: 16}
	f := &fakeReporter{
		tracking: synced,
		sources: []chrony.Source{
			{Name: "nas", State: chrony.StateSelected, Reach: 0o377, LastSampleAgo: 10 * time.Second, MeasuredOffsetSeconds: 2e-6},
			{Name: "dead", State: chrony.StateNonselectable, LastSampleAgo: chrony.NeverSampled},
		},
		stats: []chrony.SourceStats{{Name: "nas", Samples: 8}},
	}
	m := monitor.New("h", f, monitor.Config{Now: func() time.Time { return clock }})
	r := NewRecorder(m, s, 16*time.Second, nil)
	at := func(n int) time.Time { return t0.Add(time.Duration(n) * 16 * time.Second) }
	step := func() {
		clock = clock.Add(16 * time.Second)
		if f.sources[0].LastSampleAgo != chrony.NeverSampled {
			f.sources[0].LastSampleAgo += 16 * time.Second
		}
		r.Sample(ctx)
	}
	r.Sample(ctx) // 0
	step()        // 1
	f.sources[0].Reach = 0o376
	step() // 2
	f.sources[0].Reach, f.sources[0].State = 0, chrony.StateNonselectable
	f.tracking = chrony.Tracking{Leap: chrony.LeapUnsynchronised}
	step() // 3: the source unreachable, synchronisation lost
	f.trackErr = &chrony.Error{Kind: chrony.KindTimeout, Op: "tracking", Addr: "udp://fake:323"}
	step() // 4
	step() // 5: chronyd silent since 4
	h := s.Moments("h")
	if !h.Known || !h.Silent.Equal(at(4)) || !h.Unsynchronised.Equal(at(3)) || !h.Sources["nas"].Unreachable.Equal(at(3)) {
		t.Fatalf("during the silence: %+v", h)
	}
	f.trackErr = nil
	f.sources[0].Reach, f.sources[0].LastSampleAgo, f.sources[0].MeasuredOffsetSeconds = 0o1, time.Second, 5e-6
	f.stats[0].Samples = 1
	step() // 6: back, its statistics started over: a restart
	step() // 7

	h = s.Moments("h")
	nas, dead := h.Sources["nas"], h.Sources["dead"]
	for _, c := range []struct {
		what      string
		got, want time.Time
	}{
		{"start", h.Start, at(0)},
		{"unsynchronised", h.Unsynchronised, at(3)},
		{"silent", h.Silent, time.Time{}},
		{"restart", h.Restart, at(6)},
		{"nas's last sample", nas.LastSample, at(5).Add(-time.Second)},
		{"nas unreachable", nas.Unreachable, time.Time{}},
		{"nas first seen", nas.FirstSeen, at(0).Add(-10 * time.Second)}, // its first sample's time
		{"dead first seen", dead.FirstSeen, at(0)},
		{"dead's last sample", dead.LastSample, time.Time{}},
	} {
		if !c.got.Equal(c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if n := len(h.Recent); n != 6 || !h.Recent[0].T.Equal(at(0)) || h.Recent[3].Synchronised {
		t.Errorf("recent samples: %+v", h.Recent)
	}

	// The same, read from the store as at a start.
	seeded := newMoments()
	seeded.seed(ctx, func(ctx context.Context, v store.Visitor) error {
		st, err := s.openStore()
		if err != nil {
			return err
		}
		return st.Walk(ctx, "h", t0.Add(-time.Hour), clock.Add(time.Hour), v)
	})
	got := seeded.history()
	if got.Start != h.Start || got.Unsynchronised != h.Unsynchronised || got.Restart != h.Restart || got.Silent != h.Silent ||
		got.Sources["nas"] != h.Sources["nas"] || got.Sources["dead"] != h.Sources["dead"] || len(got.Recent) != len(h.Recent) {
		t.Errorf("from the store:\n%+v\nlive:\n%+v", got, h)
	}
}

// TestMomentsWhileSeeding: batches written while the store is being read are applied after it,
// once.
func TestMomentsWhileSeeding(t *testing.T) {
	m := newMoments()
	if h := m.history(); h.Known || h.Why == "" {
		t.Fatalf("before the store is read: %+v", h)
	}
	b := store.Batch{Samples: []store.Sample{{T: t0.Add(time.Minute), State: store.Unsynchronised}}}
	m.apply(b)
	m.seed(context.Background(), func(_ context.Context, v store.Visitor) error {
		if v.Sample != nil {
			v.Sample(store.Sample{T: t0, State: store.Synchronised})
			v.Sample(store.Sample{T: t0.Add(time.Minute), State: store.Unsynchronised}) // the same batch, already stored
		}
		return nil
	})
	h := m.history()
	if !h.Known || len(h.Recent) != 2 || !h.Unsynchronised.Equal(t0.Add(time.Minute)) || !h.Start.Equal(t0) {
		t.Errorf("%+v", h)
	}
}

// TestMomentsOff: with history off, a diagnosis is told why there are no moments.
func TestMomentsOff(t *testing.T) {
	s := Open(Config{})
	if h := s.Moments("h"); h.Known || h.Why != "history is off (--sample 0)" {
		t.Errorf("%+v", h)
	}
	var _ diagnose.History = s.Moments("h")
}
