package notify

import (
	"encoding/base64"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// hidden stands for a secret wherever one would be written.
const hidden = "***"

// redactor hides the secrets of one notification URL: user info, the path, query values and
// the fragment (where services keep tokens, passwords, topics and webhook keys), and the host
// when it is not a network host (pushover's user key, telegram's "telegram"). It is the one
// place that decides what of a URL may be shown, for the URL itself (display) and for any text
// that may echo it (shoutrrr's errors, net/http's): logs, /readyz, the page and error messages
// all go through it.
type redactor struct {
	raw     string
	display string   // the URL as it may be shown
	secrets []string // longest first
}

// harmless are query values too common to be secrets, left in place so that error messages
// stay readable ("http" in every URL of an error would otherwise be hidden).
var harmless = []string{"yes", "no", "true", "false", "none", "auto", "json", "http", "https", "post", "put", "get",
	"plain", "html", "default", "min", "low", "high", "max", "urgent", "explicittls", "implicittls", "starttls", "unknown"}

func newRedactor(raw string) redactor {
	r := redactor{raw: raw}
	u, err := url.Parse(raw)
	if err != nil {
		// Nothing can be told apart: everything after the scheme is a secret.
		scheme, rest, ok := strings.Cut(raw, "://")
		r.display = hidden
		if !ok || !schemeRE.MatchString(scheme) {
			rest = raw
		} else {
			r.display = scheme + "://" + hidden
		}
		r.add(rest)
		for _, piece := range strings.FieldsFunc(rest, func(c rune) bool { return strings.ContainsRune(":@/?&=#", c) }) {
			r.add(piece)
		}
		r.sort()
		return r
	}
	var d strings.Builder
	d.WriteString(u.Scheme + ":")
	if u.Opaque != "" {
		r.add(u.Opaque)
		d.WriteString(hidden)
	} else {
		d.WriteString("//")
	}
	if u.User != nil {
		r.add(u.User.Username())
		if p, ok := u.User.Password(); ok {
			r.add(p)
			r.add(u.User.Username() + ":" + p)
			r.add(base64.StdEncoding.EncodeToString([]byte(u.User.Username() + ":" + p)))
		}
		r.add(u.User.String())
		d.WriteString(hidden + "@")
	}
	switch {
	case networkHost(u.Hostname()):
		d.WriteString(u.Host)
	case u.Host != "":
		r.add(u.Hostname())
		d.WriteString(hidden)
		if p := u.Port(); p != "" {
			d.WriteString(":" + p)
		}
	}
	for i, seg := range strings.Split(u.Path, "/") {
		if i > 0 {
			d.WriteString("/")
		}
		if seg != "" {
			r.add(seg)
			d.WriteString(hidden)
		}
	}
	if u.RawPath != "" {
		for _, seg := range strings.Split(u.RawPath, "/") {
			r.add(seg)
		}
	}
	if u.RawQuery != "" {
		values, _ := url.ParseQuery(u.RawQuery)
		keys := make([]string, 0, len(values))
		for k := range values {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var query []string
		for _, k := range keys {
			for _, v := range values[k] {
				if v == "" || isHarmless(v) {
					query = append(query, k+"="+v)
					continue
				}
				r.add(v)
				query = append(query, k+"="+hidden)
			}
		}
		for _, part := range strings.Split(u.RawQuery, "&") {
			if _, v, ok := strings.Cut(part, "="); ok && v != "" && !isHarmless(v) {
				r.add(v)
			}
		}
		d.WriteString("?" + strings.Join(query, "&"))
	}
	if u.Fragment != "" {
		r.add(u.Fragment)
		d.WriteString("#" + hidden)
	}
	r.display = d.String()
	r.sort()
	return r
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// networkHost reports whether a URL's host names a machine (a name with a dot, an address,
// localhost) rather than standing for an account or a key, as some services' URLs have it.
func networkHost(h string) bool {
	if h == "" {
		return false
	}
	if net.ParseIP(h) != nil || h == "localhost" {
		return true
	}
	return strings.Contains(h, ".")
}

func isHarmless(v string) bool {
	if slices.Contains(harmless, strings.ToLower(v)) {
		return true
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(v) <= 5 // a port, a priority, a timeout: not a PIN-sized secret
}

// add notes a secret in every form an error may echo it: as given, decoded, and escaped for
// a path or a query.
func (r *redactor) add(s string) {
	if s == "" {
		return
	}
	forms := []string{s, url.PathEscape(s), url.QueryEscape(s)}
	if d, err := url.PathUnescape(s); err == nil {
		forms = append(forms, d)
	}
	if d, err := url.QueryUnescape(s); err == nil {
		forms = append(forms, d)
	}
	for _, f := range forms {
		if f != "" && !slices.Contains(r.secrets, f) {
			r.secrets = append(r.secrets, f)
		}
		// "Bearer TOKEN": the token alone may be echoed too.
		if words := strings.Fields(f); len(words) > 1 {
			for _, w := range words {
				r.add(w)
			}
		}
	}
}

func (r *redactor) sort() {
	slices.SortFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
}

// shortSecret is the length under which a secret is hidden only where it stands alone (between
// characters that are not letters or digits), so that a two-letter path segment does not blank
// out every word that contains it.
const shortSecret = 3

// redact hides the URL's secrets in text: the URL itself (as given, or as shoutrrr rewrites
// it) becomes its display form, and every secret becomes ***.
func (r redactor) redact(text string) string {
	if r.raw == "" || text == "" {
		return text
	}
	text = strings.ReplaceAll(text, r.raw, r.display)
	for _, s := range r.secrets {
		if len(s) >= shortSecret {
			text = strings.ReplaceAll(text, s, hidden)
			continue
		}
		if strings.Contains(hidden, s) {
			continue // a secret of asterisks is hidden already
		}
		re := regexp.MustCompile(`(^|[^A-Za-z0-9])` + regexp.QuoteMeta(s) + `($|[^A-Za-z0-9])`)
		for re.MatchString(text) {
			text = re.ReplaceAllString(text, "${1}"+hidden+"${2}")
		}
	}
	return text
}

// Redact hides the secrets of the notification URL raw in text: every error or log line about
// a URL goes through it before anyone sees it.
func Redact(raw, text string) string { return newRedactor(raw).redact(text) }

// Display is the notification URL raw as it may be shown: its scheme and host, with user info,
// path segments, query values and fragment replaced by ***.
func Display(raw string) string { return newRedactor(raw).display }
