package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/nicholas-fedor/shoutrrr/pkg/format"
	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"
)

// Target is one notification URL in shoutrrr's form (ntfy://ntfy.sh/TOPIC,
// smtp://user:password@host:587/?from=...&to=..., generic+https://host/path, ...), with the
// service shoutrrr made of it. Its secrets never leave it: String and Display show it without
// them, and every error it returns has been through its redactor.
type Target struct {
	// Service is shoutrrr's name of the service: the URL's scheme before any "+".
	Service string
	raw     string
	red     redactor
	// config is the URL shoutrrr's service is made from: raw, or shoutrrr's own form of a
	// custom one (generic+https://...).
	config *url.URL
}

// Form is what a --notify value looks like, for help and error messages.
const Form = "a shoutrrr URL such as ntfy://ntfy.sh/TOPIC, smtp://USER:PASSWORD@HOST:587/?from=ADDRESS&to=ADDRESS, gotify://HOST/TOKEN or generic+https://HOST/PATH"

// Parse reads one notification URL and makes its service, so that a URL shoutrrr cannot use
// is refused at start rather than at the first message. Its error names the service (the
// scheme) and never the URL's secrets.
func Parse(raw string) (*Target, error) {
	raw = strings.TrimSpace(raw)
	t := &Target{raw: raw, red: newRedactor(raw)}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, t.errorf("not a URL (%v); want %s", err, Form)
	}
	if u.Scheme == "" {
		return nil, t.errorf("no service: the URL has no scheme; want %s", Form)
	}
	scheme, custom, _ := strings.Cut(strings.ToLower(u.Scheme), "+")
	t.Service = scheme
	var sr router.ServiceRouter
	svc, err := sr.NewService(scheme)
	if err != nil {
		return nil, t.errorf("shoutrrr knows no service %q (the URL's scheme); it knows %s", scheme, strings.Join(Services(), ", "))
	}
	if custom != "" {
		c, ok := svc.(types.CustomURLService)
		if !ok {
			return nil, t.errorf("the service %q takes no \"+%s\" in its scheme (only generic does: generic+https://HOST/PATH)", scheme, custom)
		}
		if u, err = safely(func() (*url.URL, error) { return c.GetConfigURLFromCustom(u) }); err != nil {
			return nil, t.errorf("%s: %v", scheme, err)
		}
		// shoutrrr's own form of the URL may spell the secrets differently: hide those too.
		t.red.add(u.String())
	}
	t.config = u
	if _, err := t.service(); err != nil {
		return nil, t.errorf("%s: %v", scheme, err)
	}
	return t, nil
}

// service makes shoutrrr's service of the URL anew. Each attempt to send has a service of its
// own: some keep what a call was given for the next (ntfy, in v0.13.2, adds every message's
// headers to the ones before, so that its second message arrives with the first's title).
func (t *Target) service() (types.Service, error) {
	var sr router.ServiceRouter
	svc, err := sr.NewService(t.Service)
	if err != nil {
		return nil, err
	}
	init := *t.config
	_, err = safely(func() (struct{}, error) { return struct{}{}, svc.Initialize(&init, nil) })
	return svc, err
}

// Services are the services shoutrrr knows, sorted.
func Services() []string {
	var sr router.ServiceRouter
	s := sr.ListServices()
	slices.Sort(s)
	return s
}

// errorf is an error about the target, with its secrets hidden.
func (t *Target) errorf(format string, args ...any) error {
	return errors.New(t.red.redact(fmt.Sprintf(format, args...)))
}

// String names the target for people: its service and where it sends ("ntfy at ntfy.sh").
func (t *Target) String() string {
	u, err := url.Parse(t.raw)
	if err != nil || !networkHost(u.Hostname()) {
		return t.Service
	}
	return t.Service + " at " + u.Host
}

// Display is the URL with its secrets hidden.
func (t *Target) Display() string { return t.red.display }

// Redact hides the URL's secrets in text.
func (t *Target) Redact(text string) string { return t.red.redact(text) }

// Key identifies the URL across restarts (the messages not delivered yet are kept by it)
// without keeping the URL, which may hold a secret.
func (t *Target) Key() string {
	sum := sha256.Sum256([]byte("second-hand notify " + t.raw))
	return hex.EncodeToString(sum[:8])
}

// Message is what is sent: a title (the e-mail's subject, the push notification's title), a
// body of plain text, and a link to the page it is about ("" for none).
type Message struct {
	Title, Body, Link string
}

// attemptTimeout bounds one attempt to send: shoutrrr's services give up after 10 s of their
// own, but the generic webhook has no timeout.
const attemptTimeout = 30 * time.Second

// Send makes one attempt to send m, for at most timeout (attemptTimeout when 0), and says why
// it failed, without the URL's secrets. Each attempt has a service of its own, so an attempt
// given up (which may still be running) does not meet the next.
func (t *Target) Send(ctx context.Context, m Message, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = attemptTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- t.send(m) }()
	select {
	case err := <-done:
		if err != nil {
			return t.errorf("%v", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s did not answer within %s", t, timeout)
	}
}

func (t *Target) send(m Message) error {
	svc, err := t.service()
	if err != nil {
		return err
	}
	title := m.Title
	if t.Service == "smtp" {
		title = mime.QEncoding.Encode("utf-8", title) // a subject is ASCII: words of UTF-8 encoded
	}
	params := types.Params{types.TitleKey: title}
	if t.Service == "ntfy" {
		params["click"] = m.Link // tapping the notification opens the host's page
	}
	_, err = safely(func() (struct{}, error) { return struct{}{}, svc.Send(m.Body, &params) })
	if errors.Is(err, format.ErrInvalidConfigKey) {
		// A service without a title (or a link) of its own: both go in the text.
		body := m.Title + "\n\n" + m.Body
		_, err = safely(func() (struct{}, error) { return struct{}{}, svc.Send(body, nil) })
	}
	return err
}

// safely turns a panic inside shoutrrr into an error: a service that cannot cope with a URL or
// a reply must not stop second-hand.
func safely[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error in shoutrrr: %v", r)
		}
	}()
	return f()
}
