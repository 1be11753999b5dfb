package match

// governmentIDDetectors are registered in registry.
var governmentIDDetectors = []*Detector{
	&usSSN,
	&usITIN,
	&usPassport,
	&ukNINO,
	&ukNHS,
	&caSIN,
	&frINSEE,
	&deTaxID,
	&esDNINIE,
	&itCodiceFiscale,
}
