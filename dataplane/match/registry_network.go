package match

// networkDetectors are registered in registry.
var networkDetectors = []*Detector{
	&phoneE164,
	&phoneNANP,
	&ipv6,
	&macAddress,
	&urlCredentials,
}
