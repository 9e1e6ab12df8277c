// Package notify sends messages through shoutrrr (github.com/nicholas-fedor/shoutrrr), the one
// place second-hand touches it: a notification URL in shoutrrr's form (ntfy, Gotify, e-mail
// over SMTP, Telegram, Discord, Slack, Matrix, Pushover, a generic webhook...) is checked at
// start (Parse), and a Notifier sends to every URL in the background, retrying with growing
// waits, counting what happened and keeping each URL's last result for the page.
//
// A URL may hold a password or a token, so it is never shown as given: Display and String
// name it without its secrets, and every error and log line about it goes through Redact,
// which also catches the URL as shoutrrr or net/http may echo it in their errors.
package notify
