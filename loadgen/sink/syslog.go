package sink

import "bytes"

// The RFC 5424 header the lab's sender puts before each line it sends as
// syslog: priority user.info (14), version 1, a UTC time to the
// microsecond, the host, the app name and no process id, message id or
// structured data. A data plane that passes syslog messages on as received
// delivers it before the line.
const (
	SyslogHeadStart  = "<14>1 "
	SyslogTimeLayout = "2006-01-02T15:04:05.000000Z"
	SyslogHeadEnd    = " loadgen-host loadgen - - - "
)

// syslogHeadLen is the length of the lab's syslog header.
const syslogHeadLen = len(SyslogHeadStart) + len(SyslogTimeLayout) + len(SyslogHeadEnd)

// syslogHead returns the length of the lab's syslog header at the start of
// b, or 0 if b does not start with one: its fixed text, and a digit
// wherever the time's layout has one. Such a header holds no delivery
// field and nothing the leak scan finds (its longest run of digits is 6
// long, and no space or dash joins two of them into an SSN or a card
// number), so the sink reads the line after it.
func syslogHead(b []byte) int {
	if len(b) < syslogHeadLen || !bytes.HasPrefix(b, []byte(SyslogHeadStart)) ||
		string(b[syslogHeadLen-len(SyslogHeadEnd):syslogHeadLen]) != SyslogHeadEnd {
		return 0
	}
	t := b[len(SyslogHeadStart) : len(SyslogHeadStart)+len(SyslogTimeLayout)]
	for i := range len(SyslogTimeLayout) {
		if c := SyslogTimeLayout[i]; isDigit(c) != isDigit(t[i]) || !isDigit(c) && t[i] != c {
			return 0
		}
	}
	return syslogHeadLen
}
