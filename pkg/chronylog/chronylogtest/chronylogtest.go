// Package chronylogtest writes chronyd's statistics logs as chronyd 4.3 writes them, for the
// import's tests and benchmarks.
package chronylogtest

import (
	"bufio"
	"fmt"
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
		for t := end.Add(-time.Duration(days) * 24 * time.Hour); t.Before(end); t = t.Add(64 * time.Second) {
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
				switch name {
				case "tracking.log":
					fmt.Fprintf(w, "%s %-15s %2d %10.3f %10.3f %10.3e %1c %2d %10.3e %10.3e %10.3e %10.3e %10.3e\n",
						stamp, addr, 2, 12.345, 0.021, 1.2e-6, 'N', 3, 2.1e-7, -3.4e-7, 2.1e-3, 5.6e-4, 1.7e-3)
				case "measurements.log":
					fmt.Fprintf(w, "%s %-15s %1c %2d 111 111 1111  %2d %2d %4.2f %10.3e %10.3e %10.3e %10.3e %10.3e %08X 4B K K\n",
						stamp, addr, 'N', 1, 6, 6, 1.0, -1.1e-6, 2.5e-4, 1.1e-6, 0.0, 1.5e-5, 0x47505300)
				case "statistics.log":
					fmt.Fprintf(w, "%s %-15s %10.3e %10.3e %10.3e %10.3e %10.3e %7.1e %3d %3d %3d %5.2f\n",
						stamp, addr, 2.1e-5, 1.2e-6, 3.4e-6, 1.2e-9, 4.5e-8, 1.2e-1, 12, 0, 7, 0.1)
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
