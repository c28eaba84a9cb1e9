package screening

import (
	"strings"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
	"github.com/openekyc/ekyc/services/screening/media"
	"github.com/openekyc/ekyc/services/signal"
)

// Signal names of the screening check, as policies see them after the
// "screening." prefix.
const (
	// SignalHits counts the entities at or above the threshold.
	SignalHits = "hits"
	// SignalSanctionHits and SignalPEPHits split them: sanctions lists
	// (and non-PEP FtM entities) versus politically exposed persons.
	SignalSanctionHits = "sanction_hits"
	SignalPEPHits      = "pep_hits"
	// SignalTopScore is the best score (0 when nothing matched at all).
	SignalTopScore = "top_score"
	// SignalListVersions are the list versions screened against, comma
	// separated ("ofac@…,un@…").
	SignalListVersions = "list_versions"
)

// QueryFromRequest builds the query of a verification request: the
// applicant's name ("given surname"), date of birth and nationality. ok is
// false when the request has no name to screen.
func QueryFromRequest(req *ekycv1.VerificationRequest) (q Query, ok bool) {
	a := req.GetApplicant()
	name := strings.TrimSpace(strings.TrimSpace(a.GetGivenNames()) + " " + strings.TrimSpace(a.GetSurname()))
	if name == "" {
		return Query{}, false
	}
	q = Query{Name: name, Type: EntityPerson}
	if d, err := ParseDate(a.GetDateOfBirth()); err == nil {
		q.DOB = d
	}
	if n := icaoToISO(strings.Trim(a.GetNationality(), "<")); n != "" {
		q.Countries = []string{n}
	}
	return q, true
}

// CheckResult turns a screening result into the screening check's result:
// hits at or above threshold raise SCREENING_SANCTIONS_HIT or
// SCREENING_PEP_HIT (warnings: a human confirms or clears them), and every
// such hit is listed with its score components.
func CheckResult(res *Result, threshold float64) *ekycv1.CheckResult {
	out := &ekycv1.CheckResult{Kind: ekycv1.CheckKind_CHECK_KIND_SCREENING}
	var sanctions, peps int
	top := 0.0
	for _, h := range res.Hits {
		top = max(top, h.Score)
		if h.Score < threshold {
			continue
		}
		pep := h.Entity != nil && h.Entity.IsPEP()
		if pep {
			peps++
		} else {
			sanctions++
		}
		hit := &ekycv1.ScreeningHit{
			EntityId: h.EntityID, Source: string(h.Source), ListVersion: h.ListVersion, EntityType: string(h.Type),
			Name: h.Name, MatchedName: h.MatchedName, Score: h.Score, Pep: pep,
			Components: map[string]float64{"name": h.Components.Name, "dob": h.Components.DOB,
				"country": h.Components.Country, "document": h.Components.Document, "type": h.Components.Type},
		}
		if h.Entity != nil {
			hit.Programs = append(hit.Programs, h.Entity.Programs...)
		}
		out.ScreeningHits = append(out.ScreeningHits, hit)
	}
	if sanctions > 0 {
		out.ReasonCodes = append(out.ReasonCodes, reasons.ScreeningSanctionsHit)
	}
	if peps > 0 {
		out.ReasonCodes = append(out.ReasonCodes, reasons.ScreeningPEPHit)
	}
	out.Signals = []*ekycv1.Signal{
		signal.Number(SignalHits, float64(sanctions+peps), "count"),
		signal.Number(SignalSanctionHits, float64(sanctions), "count"),
		signal.Number(SignalPEPHits, float64(peps), "count"),
		signal.Number(SignalTopScore, top, "score"),
		signal.Text(SignalListVersions, strings.Join(res.Versions, ",")),
	}
	out.Status = signal.Status(out.ReasonCodes)
	out.Score = max(0, 1-top)
	if len(out.ScreeningHits) == 0 {
		out.Score = 1
	}
	return out
}

// icaoToISO maps the ICAO 9303 nationality codes that are not ISO 3166
// alpha-3 (D for Germany, the British GBx codes) to ISO; the UN and
// stateless codes (UNO, UNA, UNK, XXA, XXB, XXC, XXX) carry no country.
func icaoToISO(code string) string {
	switch code {
	case "D":
		return "DEU"
	case "GBD", "GBN", "GBO", "GBP", "GBS":
		return "GBR"
	case "UNO", "UNA", "UNK", "XXA", "XXB", "XXC", "XXX", "XOM", "XPO", "XIM", "XCC", "XES", "EUE":
		return ""
	}
	return code
}

// Adverse-media signals (after the "screening." prefix).
const (
	// SignalMediaHits counts the provider's articles at or above the
	// relevance threshold.
	SignalMediaHits = "adverse_media_hits"
	// SignalMediaAvailable is false when the provider failed.
	SignalMediaAvailable = "adverse_media_available"
)

// AddMedia adds an adverse-media search's outcome to a screening check
// result: the count of articles at or above minScore (SCREENING_ADVERSE_MEDIA
// when any), or, when the search failed (err), SCREENING_MEDIA_UNAVAILABLE —
// the sanctions and PEP part stands either way. Articles are not copied into
// the result: their ids and URLs go to the case, not the decision.
func AddMedia(res *ekycv1.CheckResult, arts []media.Article, minScore float64, err error) {
	if err != nil {
		res.Signals = append(res.Signals, signal.Flag(SignalMediaAvailable, false))
		res.ReasonCodes = append(res.ReasonCodes, reasons.ScreeningMediaUnavailable)
	} else {
		n := 0
		for _, a := range arts {
			if a.Score >= minScore {
				n++
			}
		}
		res.Signals = append(res.Signals, signal.Flag(SignalMediaAvailable, true), signal.Number(SignalMediaHits, float64(n), "count"))
		if n > 0 {
			res.ReasonCodes = append(res.ReasonCodes, reasons.ScreeningAdverseMedia)
		}
	}
	res.Status = signal.Status(res.ReasonCodes)
}
