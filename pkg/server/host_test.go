package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHostCheck: with AllowedHosts set (second-hand on loopback), only localhost, loopback
// addresses (with or without a port, IPv6 in brackets) and the names allowed are served; any
// other name is 421 with a body that says how to allow it. Without it, every name is served.
func TestHostCheck(t *testing.T) {
	on := oneHost(t, &fakeReports{}, Config{AllowedHosts: []string{"time.example.org"}})
	off := oneHost(t, &fakeReports{}, Config{})
	for _, tc := range []struct {
		host string
		want int
	}{
		{"localhost", 200},
		{"localhost:8080", 200},
		{"LOCALHOST.:8080", 200},
		{"127.0.0.1", 200},
		{"127.0.0.1:8080", 200},
		{"127.1.2.3:80", 200},
		{"[::1]", 200},
		{"[::1]:8080", 200},
		{"[::ffff:127.0.0.1]:8080", 200},
		{"time.example.org", 200},
		{"Time.Example.Org:443", 200},
		{"", 200}, // HTTP/1.0 without a Host: no browser sends it
		{"attacker.example", 421},
		{"attacker.example:8080", 421},
		{"localhost.attacker.example", 421},
		{"127.0.0.1.nip.io", 421},
		{"192.168.1.10:8080", 421},
		{"[2001:db8::1]:8080", 421},
		{"time.example.org.attacker.example", 421},
	} {
		for _, path := range []string{"/", "/panels/tracking", "/healthz", "/nothing"} {
			req := httptest.NewRequest("GET", path, nil)
			req.Host = tc.host
			rec := httptest.NewRecorder()
			on.ServeHTTP(rec, req)
			if rec.Code != tc.want && !(tc.want == 200 && path == "/nothing" && rec.Code == 404) {
				t.Errorf("Host %q, %s: %d, want %d", tc.host, path, rec.Code, tc.want)
			}
			if tc.want == http.StatusMisdirectedRequest {
				name := HostName(tc.host)
				for _, want := range []string{"--allowed-hosts " + name, "SECOND_HAND_ALLOWED_HOSTS=" + name, "DNS rebinding"} {
					if !strings.Contains(rec.Body.String(), want) {
						t.Errorf("Host %q: the 421's body does not say %q:\n%s", tc.host, want, rec.Body)
					}
				}
			}
			rec = httptest.NewRecorder()
			off.ServeHTTP(rec, req)
			if path == "/" && rec.Code != 200 {
				t.Errorf("without a host check, Host %q: %d", tc.host, rec.Code)
			}
		}
	}
}
