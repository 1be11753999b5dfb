package match

// paymentDetectors are registered in registry.
var paymentDetectors = []*Detector{
	&iban,
	&usABARouting,
	&swiftBIC,
}
