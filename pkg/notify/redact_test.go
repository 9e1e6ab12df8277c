package notify

import (
	"strings"
	"testing"
)

// TestRedact: every kind of secret shoutrrr's URLs carry (user info, tokens in the path, the
// host that stands for a key, query values, headers of a webhook) is hidden in the URL shown
// and in any text that echoes the URL or a part of it, as shoutrrr's and net/http's errors do.
func TestRedact(t *testing.T) {
	for _, c := range []struct {
		name, raw, display string
		secrets            []string // none of these may survive in any echo
		keep               []string // these stay readable
	}{
		{"ntfy with a login", "ntfy://alice:s3cr3tpass@ntfy.example.org/alerts-x7?priority=high",
			"ntfy://***@ntfy.example.org/***?priority=high", []string{"alice", "s3cr3tpass", "alerts-x7"}, []string{"ntfy.example.org", "priority=high"}},
		{"ntfy topic alone is a secret on a public server", "ntfy://ntfy.sh/my-private-topic-93",
			"ntfy://ntfy.sh/***", []string{"my-private-topic-93"}, []string{"ntfy.sh"}},
		{"smtp password and addresses", "smtp://bob:p%40ss%2Fw0rd@mail.example.org:587/?from=ops@example.org&to=me@example.org",
			"smtp://***@mail.example.org:587/?from=***&to=***", []string{"bob", "p@ss/w0rd", "p%40ss%2Fw0rd", "ops@example.org", "me@example.org"}, []string{"mail.example.org:587"}},
		{"telegram token as user info, host not a machine", "telegram://110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw@telegram?chats=@mychannel",
			"telegram://***@***?chats=***", []string{"110201543", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "@mychannel", "telegram?"}, nil},
		{"pushover user key in the host", "pushover://shoutrrr:azGDORePK8gMaC0QOYAMyEEuzJnyUi@uQiRzpo4DXghDmr9QzzfQu27cmVRsG/?devices=phone",
			"pushover://***@***/?devices=***", []string{"azGDORePK8gMaC0QOYAMyEEuzJnyUi", "uQiRzpo4DXghDmr9QzzfQu27cmVRsG", "phone"}, nil},
		{"gotify token in the path", "gotify://gotify.example.org/AzyoeNS.D4iJLVa",
			"gotify://gotify.example.org/***", []string{"AzyoeNS.D4iJLVa"}, []string{"gotify.example.org"}},
		{"discord token as user, webhook id as host", "discord://T0kenT0ken@123456789012",
			"discord://***@***", []string{"T0kenT0ken", "123456789012"}, nil},
		{"webhook with a header secret and a token in the query", "generic+https://hooks.example.org/api/v1/notify?@Authorization=Bearer%20xyzzy123&token=abc987&template=json",
			"generic+https://hooks.example.org/***/***/***?@Authorization=***&template=json&token=***",
			[]string{"Bearer xyzzy123", "Bearer%20xyzzy123", "Bearer+xyzzy123", "xyzzy123", "abc987", "notify"}, []string{"hooks.example.org", "template=json"}},
		{"a short path segment is hidden only where it stands alone", "gotify://gotify.example.org/ab",
			"gotify://gotify.example.org/***", []string{"/ab"}, []string{"about", "tab"}},
		{"not a URL: all of it after the scheme", "ntfy://user:pa%zzss@ntfy.sh/topic",
			"ntfy://***", []string{"pa%zzss", "user:pa%zzss@ntfy.sh/topic", "topic"}, nil},
		{"not even a scheme", "::::hunter2", "***", []string{"hunter2"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Display(c.raw); got != c.display {
				t.Errorf("Display(%q) = %q, want %q", c.raw, got, c.display)
			}
			// Texts as errors write them: the URL whole, quoted, and each secret on its own.
			echoes := []string{
				"locating service for URL " + `"` + c.raw + `"` + ": failed",
				`Post "` + c.raw + `": dial tcp 127.0.0.1:9: connect: connection refused`,
				"sending to " + strings.Join(c.secrets, " and ") + " failed",
			}
			for _, echo := range echoes {
				got := Redact(c.raw, echo)
				for _, s := range c.secrets {
					if strings.Contains(got, s) {
						t.Errorf("Redact(%q) = %q: %q is still there", echo, got, s)
					}
				}
			}
			for _, k := range c.keep {
				if got := Redact(c.raw, "about the tab of "+k); !strings.Contains(got, k) {
					t.Errorf("Redact hid %q, which is no secret: %q", k, got)
				}
			}
		})
	}
}

// TestRedactLeavesOtherTextAlone: a text that holds none of the URL's secrets is unchanged.
func TestRedactLeavesOtherTextAlone(t *testing.T) {
	const text = "dial tcp 127.0.0.1:25: connect: connection refused"
	if got := Redact("smtp://127.0.0.1:25/?from=a@example.org&to=b@example.org", text); got != text {
		t.Errorf("got %q, want %q", got, text)
	}
}
