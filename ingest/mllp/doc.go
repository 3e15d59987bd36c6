// Package mllp receives HL7 v2 messages over TCP with the Minimal Lower
// Layer Protocol, the way hospital integration engines send live ADT feeds,
// and lands each one durably before acknowledging it.
//
// # Protocol
//
// A message travels in a frame: a start block 0x0B, the message, and an end
// block 0x1C 0x0D. For each frame the server replies with one framed HL7
// acknowledgement (ACK) in original mode, written in the sender's own
// delimiters:
//
//	AA  accepted: the message is on disk (written, fsynced, renamed into
//	    place, directory fsynced) before the ACK leaves;
//	AE  landed, but the hl7v2 parser would quarantine it: MSA-3 and ERR-8
//	    give the reason (e.g. "PID-7: impossible date 20230230"). The
//	    message is kept: ingest quarantines it and an operator can fix and
//	    replay it ("pophealth quarantine");
//	AR  rejected and not landed: the frame is not an HL7 message that can
//	    be acknowledged (no MSH, bad MSH-1/MSH-2, no MSH-10, not v2.x), is
//	    larger than Config.MaxMessageBytes, or the landing write failed
//	    (the sender should retry later). MSA-3 says why.
//
// # Landing
//
// Each accepted message becomes one file,
// <landing>/YYYYMMDD/HH/<unix-nanos>-<seq>.hl7, holding exactly the
// message's bytes. "pophealth ingest <landing>" reads them like any HL7
// file; since ingest skips content it has committed before (same SHA-256),
// a message resent byte for byte after a lost ACK is ingested once.
// Temporary files start with a dot, so ingest never sees a partial one.
//
// # Robustness
//
// The server bounds what any peer can take: at most MaxConns connections
// (more are closed at once), at most MaxMessageBytes buffered per
// connection (so memory is bounded by MaxConns × MaxMessageBytes), an
// IdleTimeout to wait for the next frame and a MessageTimeout for a whole
// frame to arrive once started, which ends slow-drip (slowloris) and
// half-open connections. Bytes outside frames are discarded; a connection
// that sends more than MaxMessageBytes of them without a frame is closed.
// Serve stops accepting when its context is cancelled, lands and
// acknowledges any message already received, closes every connection (a
// frame half received is left unacknowledged, for the sender to resend)
// and returns when all handlers have ended.
package mllp
