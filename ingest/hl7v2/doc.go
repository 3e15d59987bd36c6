// Package hl7v2 reads HL7 version 2 ADT (admission, discharge, transfer)
// feeds from hospital patient administration systems into pophealth's
// canonical records. Parse implements feed.Parser.
//
// # Source records
//
// One message is one source record. It is either accepted, yielding a
// models.PatientRecord, for visit events a models.Encounter, and one
// models.Diagnosis per usable DG1, or quarantined with its raw bytes and a
// reason naming the segment and field at fault, such as
// "PID-7: impossible date 20230230". Every record's SourceRef gives the
// file, the line and byte offset of the message's MSH segment, and MSH-10
// (message control ID) as RecordID.
//
// # Framing
//
// A file is read as a stream, one message at a time, so its size does not
// matter. A message runs from an MSH segment to the next MSH, batch
// segment or end of file. Segments may end in CR (the standard), LF or
// CRLF, mixed freely; blank lines, trailing spaces, a UTF-8 byte-order
// mark before MSH, MLLP framing (0x0B … 0x1C 0x0D) and batch envelopes
// (FHS, BHS, BTS, FTS, which are not messages and are not counted) are all
// accepted. Lines before the first MSH are quarantined as one record. A
// message larger than 1 MiB is quarantined truncated and reading resumes
// at the next MSH. Lines are numbered as an editor numbers them, with CR,
// LF and CRLF each ending one line.
//
// Delimiters are read from MSH-1 and MSH-2 of each message; none is
// assumed. Escape sequences \F\ \S\ \T\ \R\ \E\ \Xhh…\ and \.br\ are
// decoded in the values kept, after splitting into repetitions and
// components. MSH-18 may declare 8859/1, which is converted to UTF-8;
// otherwise text must be UTF-8 (ASCII included).
//
// # Versions and events
//
// The parser is written to HL7 v2.3–2.5.1 as profiled by the NHS ITK. The
// fields it reads keep their positions from v2.2 to v2.8, so any 2.x
// version in MSH-12 is read. The trigger event is MSH-9 component 2, or
// EVN-1 when MSH-9 has none (as some v2.2 senders do).
//
//	event            records                                     Cancelled
//	A01 A02 A03 A04  patient, encounter (PV1 required), diagnoses  no
//	A05              patient, encounter (PV1 required), diagnoses  no
//	A11 A12 A13      patient, encounter (PV1 required), diagnoses  yes
//	A08              patient, encounter if PV1-2 is not N, diagnoses
//	A28 A31          patient, diagnoses (person-level events)
//	A40              per PID/MRG group: patient, models.Merge
//
// A40 (merge patient, identifier list) may carry several groups of PID,
// optional PD1 and MRG. Each yields the surviving patient's record and a
// models.Merge whose RetiredID is read from MRG-1 by PID-3's rule (type
// MR, else the first non-NHS repetition) and RetiredNHSNumber from an
// NHS-typed repetition. The ingest job stores merges in the restricted
// zone (lake/mpi/merges, models.MergeRow) for linkage to honour. A PID
// without its MRG, an MRG without a PID, or an MRG-1 with no identifier
// quarantines the message.
//
// Other ADT events of HL7 table 0003 (A01–A62, e.g. A17 bed swap, A29
// delete person) and messages other than ADT (e.g. ORU) are accepted,
// counted in feed.Stats.Skipped as "event:A17" or "message:ORU", and kept
// whole as one models.Unread with the message's raw bytes (the ingest job
// stores it in the restricted zone, lake/quarantine/unread), so that no
// message is lost. A trigger outside A01–A62 is quarantined.
//
// # Field mapping
//
//	HL7 v2 field                   model field                notes
//	MSH-10 message control ID      SourceRef.RecordID         required
//	MSH-9.2 trigger (or EVN-1)     Encounter.Event            A01, A03, ...
//	PID-3 CX-1 of type MR, else    PatientRecord.LocalID,     the hospital number; when PID-3 holds
//	  first non-NHS repetition     Encounter.PatientID,       only an NHS number, "nhs:" and the
//	                               Diagnosis.PatientID        number
//	PID-3 CX-1 of type NH or       PatientRecord.NHSNumber    spaces removed; PID-2 in v2.1–2.2
//	  authority NHS
//	PID-32 identity reliability    NHSNumberStatus            see below
//	PID-5 XPN-1.1 (legal name L,   FamilyName
//	  else first repetition)
//	PID-5 XPN-2                    GivenName
//	PID-7 date of birth            BirthDate                  not after tomorrow, not before 1850
//	PID-8 administrative sex       Sex                        M male, F female, O A other, else unknown
//	PID-11 XAD-5, first present    Postcode                   UK shape only, as "CB1 2AB"
//	PID-29 death date/time         DeathDate
//	PD1-3 XON-10, else XON-3       PracticeCode               ODS code of the registered practice
//	PV1-2 patient class            Encounter.Class            I inpatient, E emergency,
//	                                                          O outpatient, else other
//	PV1-4 admission type           Encounter.AdmissionMethod  see below
//	PV1-19 visit number CX-1       Encounter.EncounterID,     "msh-10:" and MSH-10 when absent
//	                               Diagnosis.EncounterID
//	PV1-44 admit date/time         Encounter.Start
//	PV1-45 discharge date/time     Encounter.End
//	DG1-3 CE-1 code                Diagnosis.Code             ICD-10 without the dot: E11.9 -> E119
//	DG1-3 CE-3, else DG1-2         Diagnosis.System           I10 ICD10 ICD-10 -> icd10, SCT -> snomed
//	DG1-5 diagnosis date/time      Diagnosis.Date
//
// PV1-4 is mapped to the admission method from either of two code sets,
// which do not overlap. From HL7 table 0007: E, EM (emergency), A
// (accident) and U (urgent) give emergency; C (elective) and R (routine)
// give elective; L (labour and delivery) gives maternity; N (newborn)
// gives other. From the NHS Data Dictionary admission method: 11–13
// (waiting list, booked, planned) give elective; 21–28 and 2A–2D give
// emergency; 31–32 (ante- and post-partum) give maternity; 81 (transfer
// from another provider, not in an emergency) gives transfer; 82–83
// (births) give other. 99 (not known) and an empty field give "" (the
// source does not say); any other value, free text included, gives other.
//
// NHS number status: absent gives missing; present but failing the
// Modulus 11 check gives invalid (the record is kept and flagged, never
// quarantined); valid gives verified when PID-32 carries the NHS Number
// Status Indicator NSTS01 ("present and verified", also accepted as the
// bare code 01) in any repetition, and valid otherwise. In v2.1–2.2
// messages, where UK interfaces sent the NHS number unqualified in PID-2,
// a ten-digit PID-2 is taken when PID-3 holds no NHS number.
//
// Dates (DTM/TS) must hold at least YYYYMMDD and be real calendar dates
// and times. The date is taken as written: a UTC offset is checked but not
// applied, since dates of birth and admission are local calendar dates.
// PV2 is not read: its dates are expected, not actual, ones.
//
// A DG1 in a code system other than ICD-10 or SNOMED CT (ICD-9 "I9"
// included, whose codes are not ICD-10 codes) is dropped and counted as
// "dg1:unknown-system"; a code that cannot belong to its system as
// "dg1:invalid-code". A postcode that is not UK-shaped is dropped and
// counted as "pid-11:not-uk-postcode". The message is still accepted.
//
// # Quarantine
//
// A message is quarantined when it has no MSH; bad delimiters in MSH-1 or
// MSH-2; no MSH-9 message type or trigger event, or an unknown trigger;
// no MSH-10; a missing or non-2.x MSH-12; an unsupported MSH-18 character
// set; a line that is not a segment; no PID, or more than one in a
// single-patient event; no patient identifier in PID-3; no PV1 in an
// event that requires one; any date read (MSH-7, PID-7, PID-29, PV1-44,
// PV1-45, DG1-5) that is malformed, incomplete or impossible; a birth date
// in the future or before 1850; or text kept that is not valid UTF-8.
package hl7v2
