package web

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/pophealth/pophealth/pseudonymise"
)

// sessionCookie is the name of the signed session cookie.
const sessionCookie = "pophealth_session"

// sessions signs and checks session cookies. A cookie carries the user
// name, an expiry and a random nonce, MACed with a key kept in the
// workspace's keys directory; nothing about the session is stored on the
// server, so a restart keeps people signed in and there is no session
// table to leak.
type sessions struct {
	mac *pseudonymise.Pseudonymiser
	ttl time.Duration
	now func() time.Time
}

// issue returns a cookie value for user, valid for the session lifetime.
// Revoking every session is done by replacing the key file.
func (s *sessions) issue(user string) string {
	payload := user + "|" + strconv.FormatInt(s.now().Add(s.ttl).Unix(), 10) + "|" + rand.Text()
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + s.mac.Derive("web-session", payload)
}

var errBadSession = errors.New("invalid or expired session")

// check returns the user name of a valid, unexpired cookie value.
func (s *sessions) check(value string) (string, error) {
	enc, sig, ok := strings.Cut(value, ".")
	if !ok {
		return "", errBadSession
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", errBadSession
	}
	payload := string(raw)
	if !hmac.Equal([]byte(sig), []byte(s.mac.Derive("web-session", payload))) {
		return "", errBadSession
	}
	parts := strings.Split(payload, "|")
	if len(parts) != 3 {
		return "", errBadSession
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || s.now().Unix() >= exp {
		return "", errBadSession
	}
	return parts[0], nil
}
