package mrz

import "strings"

// CodeKind says where a three-letter state/organisation code comes from.
type CodeKind int

// Kinds of code in the table.
const (
	// CodeUnknown: not in the table.
	CodeUnknown CodeKind = iota
	// CodeISO: an officially assigned ISO 3166-1 alpha-3 code.
	CodeISO
	// CodeICAO: a code listed in ICAO Doc 9303 Part 3 in addition to ISO 3166-1
	// (Germany's "D", British nationality classes, UN, organisations, stateless
	// persons and refugees).
	CodeICAO
	// CodeInUse: not listed by ICAO, but carried by genuine documents in
	// circulation (accepted so that those documents are not rejected outright).
	CodeInUse
	// CodeSpecimen: ICAO's fictional state "Utopia", used only in the specimens
	// of Doc 9303. Accepted so the public test vectors validate; no genuine
	// document carries it.
	CodeSpecimen
)

// String names the kind.
func (k CodeKind) String() string {
	switch k {
	case CodeISO:
		return "iso3166"
	case CodeICAO:
		return "icao"
	case CodeInUse:
		return "in_use"
	case CodeSpecimen:
		return "specimen"
	default:
		return "unknown"
	}
}

// iso3166Alpha3 lists the 249 officially assigned ISO 3166-1 alpha-3 codes
// (ISO 3166 Maintenance Agency, status as of 2024). ICAO Doc 9303 Part 3
// §5 uses these codes for states, with the exceptions and additions in
// icaoCodes below.
var iso3166Alpha3 = strings.Fields(`
ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE
BDI BEL BEN BES BFA BGD BGR BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA
CAF CAN CCK CHE CHL CHN CIV CMR COD COG COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE
DEU DJI DMA DNK DOM DZA
ECU EGY ERI ESH ESP EST ETH
FIN FJI FLK FRA FRO FSM
GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD GRL GTM GUF GUM GUY
HKG HMD HND HRV HTI HUN
IDN IMN IND IOT IRL IRN IRQ ISL ISR ITA
JAM JEY JOR JPN
KAZ KEN KGZ KHM KIR KNA KOR KWT
LAO LBN LBR LBY LCA LIE LKA LSO LTU LUX LVA
MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS MWI MYS MYT
NAM NCL NER NFK NGA NIC NIU NLD NOR NPL NRU NZL
OMN
PAK PAN PCN PER PHL PLW PNG POL PRI PRK PRT PRY PSE PYF
QAT
REU ROU RUS RWA
SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR SVK SVN SWE SWZ SXM SYC SYR
TCA TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA
UGA UKR UMI URY USA UZB
VAT VCT VEN VGB VIR VNM VUT
WLF WSM
YEM
ZAF ZMB ZWE
`)

// icaoCodes are the codes ICAO Doc 9303 Part 3 (8th ed., 2021, §5 "Codes
// for nationality, place of birth, location of issuing State/organization")
// lists beyond ISO 3166-1. Only codes we are confident appear in that list
// are here; the list is cross-checked against the ICAOCountry table of the
// JMRTD library (org.jmrtd.lds.icao.ICAOCountry), which carries the same set
// minus XCE, XDC, XES and XMP.
var icaoCodes = map[string]string{
	"D":   "Germany",
	"GBD": "British Overseas Territories Citizen",
	"GBN": "British National (Overseas)",
	"GBO": "British Overseas Citizen",
	"GBP": "British Protected Person",
	"GBS": "British Subject",
	"UNA": "Specialized agency of the United Nations",
	"UNK": "Resident of Kosovo, document issued by UNMIK",
	"UNO": "United Nations Organization",
	"EUE": "European Union",
	"XBA": "African Development Bank",
	"XIM": "African Export-Import Bank",
	"XCC": "Caribbean Community (CARICOM)",
	"XCE": "Council of Europe",
	"XCO": "Common Market for Eastern and Southern Africa (COMESA)",
	"XDC": "Southern African Development Community",
	"XEC": "Economic Community of West African States (ECOWAS)",
	"XES": "Organisation of Eastern Caribbean States",
	"XMP": "Parliamentary Assembly of the Mediterranean",
	"XOM": "Sovereign Military Order of Malta",
	"XPO": "International Criminal Police Organization (INTERPOL)",
	"XXA": "Stateless person (1954 Convention)",
	"XXB": "Refugee (1951 Convention)",
	"XXC": "Refugee (other than 1951 Convention)",
	"XXX": "Person of unspecified nationality",
}

// inUseCodes are not ICAO-listed but appear on genuine documents.
var inUseCodes = map[string]string{
	// Republic of Kosovo passports carry RKS; neither ISO 3166-1 nor Doc 9303
	// assigns it, but rejecting every Kosovo passport would be wrong.
	"RKS": "Kosovo",
}

// specimenCodes are fictional codes of the ICAO specimens. SPECIMEN ONLY.
var specimenCodes = map[string]string{
	"UTO": "Utopia (ICAO Doc 9303 specimen state; no genuine document)",
}

var codeTable = func() map[string]CodeKind {
	t := make(map[string]CodeKind, len(iso3166Alpha3)+len(icaoCodes)+len(inUseCodes)+len(specimenCodes))
	for _, c := range iso3166Alpha3 {
		t[c] = CodeISO
	}
	for c := range icaoCodes {
		t[c] = CodeICAO
	}
	for c := range inUseCodes {
		t[c] = CodeInUse
	}
	for c := range specimenCodes {
		t[c] = CodeSpecimen
	}
	return t
}()

// NormalizeCode turns an MRZ or declared state code into its table form:
// upper case, with the '<' padding of the MRZ field (e.g. "D<<") and
// surrounding spaces removed.
func NormalizeCode(s string) string {
	return strings.ToUpper(strings.Trim(strings.TrimSpace(s), "<"))
}

// LookupCode reports which table a state/organisation code belongs to. The
// code may be given as it appears in the MRZ field ("D<<").
func LookupCode(code string) CodeKind {
	return codeTable[NormalizeCode(code)]
}

// KnownCode reports whether code is a valid ICAO 9303 state/organisation code
// (including the specimen code UTO).
func KnownCode(code string) bool {
	return LookupCode(code) != CodeUnknown
}

// SameState reports whether two codes denote the same state, treating
// Germany's ICAO code "D" and its ISO code "DEU" as equal.
func SameState(a, b string) bool {
	a, b = canonicalState(NormalizeCode(a)), canonicalState(NormalizeCode(b))
	return a != "" && a == b
}

func canonicalState(c string) string {
	if c == "D" {
		return "DEU"
	}
	return c
}
