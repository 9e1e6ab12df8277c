package notify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/notify/notifytest"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// TestParseErrors: a URL shoutrrr cannot use is refused with the service (the scheme) it did
// not understand or why, and never with the URL's secrets.
func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		raw    string
		want   []string
		secret string
	}{
		{"ntfyy://user:hunter22@ntfy.sh/topic", []string{`no service "ntfyy"`, "ntfy, ", "smtp"}, "hunter22"},
		{"ntfy+https://user:hunter22@ntfy.sh/topic", []string{`"ntfy" takes no "+https"`}, "hunter22"},
		{"ntfy://user:hunter22@ntfy.sh/", []string{"ntfy: topic is required"}, "hunter22"},
		{"smtp://user:hunter22@mail.example.org/?to=a@example.org", []string{"smtp:", "fromAddress missing"}, "hunter22"},
		{"ntfy://user:hunt%zz22@ntfy.sh/topic", []string{"not a URL", "invalid URL escape"}, "hunt%zz22"},
		{"user:hunter22@ntfy.sh/topic", []string{`no service "user"`}, "hunter22"},
		{"//user:hunter22@ntfy.sh/topic", []string{"no service"}, "hunter22"},
		{"generic+https://hooks.example.org/x?disabletls=maybe&token=hunter22", []string{"generic:"}, "hunter22"},
		{"ntfy://user:hunter22@ntfy.sh/topic?priority=loudest", []string{"ntfy:"}, "hunter22"},
	} {
		_, err := Parse(c.raw)
		if err == nil {
			t.Errorf("Parse(%q): no error", c.raw)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Parse(%q) = %q, want it to say %q", c.raw, err, w)
			}
		}
		if strings.Contains(err.Error(), c.secret) {
			t.Errorf("Parse(%q) = %q: it shows the secret", c.raw, err)
		}
	}
}

// TestParseNamesTheTarget: a good URL is named by its service and host, its display has no
// secret, and its key is the same for the same URL only.
func TestParseNamesTheTarget(t *testing.T) {
	a, err := Parse("ntfy://bob:hunter22@ntfy.example.org/alerts")
	if err != nil {
		t.Fatal(err)
	}
	if a.String() != "ntfy at ntfy.example.org" || a.Display() != "ntfy://***@ntfy.example.org/***" || a.Service != "ntfy" {
		t.Errorf("String %q, Display %q, Service %q", a, a.Display(), a.Service)
	}
	b, _ := Parse("ntfy://bob:hunter22@ntfy.example.org/alerts")
	c, _ := Parse("ntfy://bob:hunter22@ntfy.example.org/other")
	if a.Key() != b.Key() || a.Key() == c.Key() || strings.Contains(a.Key(), "hunter22") {
		t.Errorf("keys %s %s %s", a.Key(), b.Key(), c.Key())
	}
}

// TestSendToRealReceivers: two messages, one after the other, to ntfy's HTTP API, a generic
// JSON webhook and an SMTP server (aiosmtpd), all on loopback; each receives each message's
// title, body and (ntfy) link, nothing of the message before, and ntfy the login of its URL.
func TestSendToRealReceivers(t *testing.T) {
	http := notifytest.StartHTTP(t)
	smtp := notifytest.StartSMTP(t)
	messages := []Message{
		{Title: "! nas: warning · second-hand", Body: "nas is warning: one source.\nFix: add sources.", Link: "https://dash.example.org/hosts/nas/"},
		{Title: "✕ nas: failing · second-hand", Body: "nas is failing: chronyd does not answer.\nFix: start chronyd.", Link: "https://dash.example.org/hosts/nas/?x=1"},
	}
	ntfy, err := Parse("ntfy://bob:hunter22@" + http.Host + "/alerts?scheme=http")
	if err != nil {
		t.Fatal(err)
	}
	hook, err := Parse("generic+" + http.URL + "/hook?template=json")
	if err != nil {
		t.Fatal(err)
	}
	mail, err := Parse(smtp.URL("ops@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range messages {
		for _, target := range []*Target{ntfy, hook, mail} {
			if err := target.Send(context.Background(), m, 0); err != nil {
				t.Fatalf("%s: %v", target, err)
			}
		}

		got := http.Wait(t, "/alerts", i+1, 10*time.Second)[i]
		if got.Method != "POST" || !slices.Equal(got.Header.Values("Title"), []string{m.Title}) || got.Body != m.Body ||
			!slices.Equal(got.Header.Values("Click"), []string{m.Link}) {
			t.Errorf("ntfy's message %d: %s title %q click %q body %q", i+1, got.Method, got.Header.Values("Title"), got.Header.Values("Click"), got.Body)
		}
		if want := "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:hunter22")); got.Header.Get("Authorization") != want {
			t.Errorf("ntfy's login: %q", got.Header.Get("Authorization"))
		}
		var payload map[string]string
		got = http.Wait(t, "/hook", i+1, 10*time.Second)[i]
		if err := json.Unmarshal([]byte(got.Body), &payload); err != nil || payload["title"] != m.Title || payload["message"] != m.Body {
			t.Errorf("the webhook's message %d: %q (%v)", i+1, got.Body, err)
		}
		e := smtp.Wait(t, i+1, 10*time.Second)[i]
		if e.Subject != m.Title || !strings.Contains(e.Body, m.Body) || !strings.Contains(e.To, "ops@example.org") {
			t.Errorf("e-mail %d: subject %q, to %q, body %q", i+1, e.Subject, e.To, e.Body)
		}
	}
}

// TestSendFailureHidesTheSecret: a receiver that is not there is an error that names the
// target without its secrets.
func TestSendFailureHidesTheSecret(t *testing.T) {
	port := testkit.FreePort(t)
	for _, raw := range []string{
		"ntfy://bob:hunter22@127.0.0.1:" + port + "/topic-hunter33?scheme=http",
		"generic+http://127.0.0.1:" + port + "/hook/hunter33?@Authorization=Bearer%20hunter22",
	} {
		target, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		err = target.Send(context.Background(), Message{Title: "t", Body: "b"}, 5*time.Second)
		if err == nil {
			t.Fatalf("%s: sent to a port nobody listens on", target)
		}
		if strings.Contains(err.Error(), "hunter22") || strings.Contains(err.Error(), "hunter33") {
			t.Errorf("%s: the error shows a secret: %v", target, err)
		}
		if !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s: the error does not say why: %v", target, err)
		}
	}
}
