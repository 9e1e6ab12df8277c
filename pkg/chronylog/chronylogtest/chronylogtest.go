// Package chronylogtest writes chronyd's statistics logs as chronyd 4.3 writes them, for the
// import's tests and benchmarks.
package chronylogtest

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// Rule is the line above and below each header.
const Rule = "===============================================================================================================================\n"

// Headers are chronyd 4.3's, by the log's file name.
var Headers = map[string]string{
	"tracking.log":     "   Date (UTC) Time     IP Address   St   Freq ppm   Skew ppm     Offset L Co  Offset sd Rem. corr. Root delay Root disp. Max. error\n",
	"measurements.log": "   Date (UTC) Time     IP Address   L St 123 567 ABCD  LP RP Score    Offset  Peer del. Peer disp.  Root del. Root disp. Refid     MTxRx\n",
	"statistics.log":   "   Date (UTC) Time     IP Address    Std dev'n Est offset  Offset sd  Diff freq   Est skew  Stress  Ns  Bs  Nr  Asym\n",
}

// Write writes days of the three logs ending at end into dir, for a clock updated every 64 s
// from sources NTP sources (192.168.1.1 and on): a line of tracking.log, and a line of
// measurements.log and of statistics.log per source, every 64 s, with a header block every 32
// lines. It returns the files and how many lines of records they hold.
func Write(dir string, end time.Time, days, sources int) ([]string, int, error) {
	return write(dir, end, days, sources, 64*time.Second, 64*time.Second, false)
}

// WriteEvery is Write with a clock update every tracking, and a measurement and statistics of
// each source every measured, their values wandering as a clock's do (offsets of a few
// microseconds, a frequency that drifts), so that they summarise as real ones would.
func WriteEvery(dir string, end time.Time, days, sources int, tracking, measured time.Duration) ([]string, int, error) {
	return write(dir, end, days, sources, tracking, measured, true)
}

func write(dir string, end time.Time, days, sources int, tracking, measured time.Duration, wander bool) ([]string, int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, err
	}
	var files []string
	total := 0
	for _, name := range []string{"tracking.log", "measurements.log", "statistics.log"} {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			return nil, 0, err
		}
		w := bufio.NewWriter(f)
		n := 0
		every := measured
		if name == "tracking.log" {
			every = tracking
		}
		rng := rand.New(rand.NewPCG(uint64(days), uint64(sources)))
		off, freq := 0.0, 12.345
		v := func(base, spread float64) float64 {
			if !wander {
				return base
			}
			return base * (1 + spread*rng.NormFloat64())
		}
		for t := end.Add(-time.Duration(days) * 24 * time.Hour); t.Before(end); t = t.Add(every) {
			stamp := t.UTC().Format("2006-01-02 15:04:05")
			lines := 1
			if name != "tracking.log" {
				lines = sources
			}
			for i := range lines {
				if n%32 == 0 {
					w.WriteString(Rule + Headers[name] + Rule)
				}
				n++
				addr := fmt.Sprintf("192.168.1.%d", i+1)
				o, f := 1.2e-6, 12.345
				if wander {
					off = 0.99*off + 2e-7*rng.NormFloat64()
					freq += 1e-4 * rng.NormFloat64()
					o, f = off, freq
				}
				switch name {
				case "tracking.log":
					fmt.Fprintf(w, "%s %-15s %2d %10.3f %10.3f %10.3e %1c %2d %10.3e %10.3e %10.3e %10.3e %10.3e\n",
						stamp, addr, 2, f, v(0.021, 0.1), o, 'N', 3, v(2.1e-7, 0.2), v(-3.4e-7, 0.5), v(2.1e-3, 0.05), v(5.6e-4, 0.05), v(1.7e-3, 0.05))
				case "measurements.log":
					fmt.Fprintf(w, "%s %-15s %1c %2d 111 111 1111  %2d %2d %4.2f %10.3e %10.3e %10.3e %10.3e %10.3e %08X 4B K K\n",
						stamp, addr, 'N', 1, 6, 6, 1.0, -o+v(1e-6, 3)*float64(i+1)/4, v(2.5e-4, 0.1), v(1.1e-6, 0.1), 0.0, v(1.5e-5, 0.1), 0x47505300)
				case "statistics.log":
					fmt.Fprintf(w, "%s %-15s %10.3e %10.3e %10.3e %10.3e %10.3e %7.1e %3d %3d %3d %5.2f\n",
						stamp, addr, v(2.1e-5, 0.1), o, v(3.4e-6, 0.1), v(1.2e-9, 0.5), v(4.5e-8, 0.1), 1.2e-1, 12, 0, 7, 0.1)
				}
			}
		}
		total += n
		if err := w.Flush(); err != nil {
			f.Close()
			return nil, 0, err
		}
		if err := f.Close(); err != nil {
			return nil, 0, err
		}
		files = append(files, path)
	}
	return files, total, nil
}
