// Package names turns person and organisation names into comparable tokens
// for sanctions and PEP screening, and compares tokens.
//
// The pipeline (Tokenize) is, per whitespace-separated word:
//
//  1. Transliteration to Latin of Cyrillic (ICAO Doc 9303 Part 3, with a
//     BGN/PCGN-style variant), Greek (ELOT 743), Arabic with Persian and Urdu
//     letters, Hebrew, Armenian and Georgian, using the tables in translit.go.
//     Arabic and Hebrew are abjads: short vowels are not written, so tokens
//     from them are flagged Abjad and compared with AbjadSimilarity, which
//     lets the Latin side carry vowels the skeleton lacks. Vowel marks
//     (harakat, niqqud) are skipped. CJK and other scripts are out of scope:
//     their letters are kept verbatim and only match exactly.
//  2. Folding to ASCII: Unicode NFKD, combining marks removed, letters that do
//     not decompose mapped (ß→SS, Æ→AE, Ø→O, Ł→L, Đ→D, Þ→TH, ı→I, Ə→A, ...),
//     upper case. Words with German umlauts also get an AE/OE/UE variant.
//  3. Punctuation folding: apostrophes join (O'BRIEN → OBRIEN), dotted
//     abbreviations join (S.A. → SA), hyphens and other punctuation split.
//  4. Lexicon: stopwords (OF, THE, AND, ...) and honorifics (MR, DR, SHEIKH,
//     HAJI, ...) are dropped; the Arabic article (AL, EL, UL, and the
//     assimilated AD-, AR-, ASH-, ... when hyphenated) is dropped; legal forms
//     and generic company words (LTD, LLC, OOO, JSC, HOLDING, GROUP, "JOINT
//     STOCK COMPANY", "SA DE CV", ...) are kept but classed LegalForm, so a
//     matcher can give them a small weight and never let them carry a match.
//     Legal forms are not classed in person names (flag Person).
//
// Key computes a phonetic key (a simplified Metaphone documented in
// phonetic.go); JaroWinkler, EditSimilarity and AbjadSimilarity compare
// tokens. Everything here is pure, allocation-light and safe for concurrent
// use.
package names
