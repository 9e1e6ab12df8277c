package panels

import (
	"net/url"
	"strings"
	"testing"
)

// hostileKeys are keys chronyd can report: a reference clock's ID is up to four characters of
// chrony.conf, whatever they are.
var hostileKeys = []string{"..", ".", "a/b", "%2e", "%2E%2E", "?#", "~x", "~", "", "=1+1", "@SUM", "-0.1", "a b", "é",
	"192.168.1.10", "fe80::1", "2001:db8::1", "GPS", "PPS", "ntp_1.lan", "\x00\x01", "<b>"}

// TestSourceURLsStayUnderSources: every key's detail URL, resolved from a host's page (at the
// root, under a proxy's sub-path, under hosts/NAME/), is one segment under sources/, and that
// segment reads back as the key.
func TestSourceURLsStayUnderSources(t *testing.T) {
	for _, page := range []string{"http://127.0.0.1:8080/", "http://proxy.lan/chrony/", "http://proxy.lan/chrony/hosts/nas/"} {
		base, _ := url.Parse(page)
		for _, key := range hostileKeys {
			link, err := url.Parse(SourceURL(key) + "?in=sources")
			if err != nil {
				t.Errorf("key %q: %q is not a URL: %v", key, SourceURL(key), err)
				continue
			}
			got := base.ResolveReference(link)
			segment, under := strings.CutPrefix(got.EscapedPath(), base.EscapedPath()+"sources/")
			if !under || segment == "" || strings.ContainsAny(segment, "/%") {
				t.Errorf("key %q from %s: %s is not one plain segment under sources/", key, page, got)
				continue
			}
			if back, ok := KeyOfSegment(segment); !ok || back != key {
				t.Errorf("key %q: segment %q reads back as %q, %v", key, segment, back, ok)
			}
		}
	}
	for _, bad := range []string{"..", ".", "~zz", "~41", "a%2Fb", "~3139322e3136382e312e3130"} {
		if key, ok := KeyOfSegment(bad); ok {
			t.Errorf("segment %q read as key %q; SourceSegment never makes it", bad, key)
		}
	}
}

// TestDetailIDsAreDistinct: two keys never share a detail's id, which would open one source's
// detail in another's row.
func TestDetailIDsAreDistinct(t *testing.T) {
	seen := map[string]string{}
	for _, key := range hostileKeys {
		id := DetailID("sources", key)
		if other, dup := seen[id]; dup {
			t.Errorf("keys %q and %q share the id %q", key, other, id)
		}
		seen[id] = key
		if strings.ContainsAny(strings.TrimPrefix(id, "detail-sources-"), "\"'<>& .#/") {
			t.Errorf("key %q: id %q has a character that needs escaping", key, id)
		}
	}
}
