package synth

import "github.com/pophealth/pophealth/models"

// fileID names one output feed file.
type fileID int

const (
	gpPatients fileID = iota
	gpEvents
	fhirPatient
	fhirEncounter
	fhirCondition
	fhirObservation
	fhirMedicationRequest
	hl7ADT
	numFiles
)

// fileSpec describes an output feed file.
type fileSpec struct {
	path   string // relative to OutDir, with forward slashes
	feed   models.Feed
	header string // first line of a CSV file, without the newline
}

var fileSpecs = [numFiles]fileSpec{
	gpPatients:            {"gp/patients.csv", models.FeedGP, "patient_id,nhs_number,given_name,family_name,date_of_birth,sex,postcode,practice_code,registration_date,deregistration_date,date_of_death,lsoa_code"},
	gpEvents:              {"gp/events.csv", models.FeedGP, "event_id,patient_id,event_date,event_type,code_system,code,value,unit"},
	fhirPatient:           {"fhir/Patient.ndjson", models.FeedFHIR, ""},
	fhirEncounter:         {"fhir/Encounter.ndjson", models.FeedFHIR, ""},
	fhirCondition:         {"fhir/Condition.ndjson", models.FeedFHIR, ""},
	fhirObservation:       {"fhir/Observation.ndjson", models.FeedFHIR, ""},
	fhirMedicationRequest: {"fhir/MedicationRequest.ndjson", models.FeedFHIR, ""},
	hl7ADT:                {"hl7v2/adt.hl7", models.FeedHL7, ""},
}

// chunkSize is the number of people generated together from one seeded
// random source. It is fixed, not derived from Workers, so that the output
// does not depend on the number of workers.
const chunkSize = 1000

// Identifiers made within a chunk are chunk*limit + sequence. The limits
// are orders of magnitude above what 1,000 people produce (a few dozen GP
// events and a few HL7 messages each), so sequences never overlap.
const (
	eventsPerChunk   = 1_000_000_000
	messagesPerChunk = 10_000_000
	spellsPerChunk   = 10_000_000
)

// chunk is the output of chunkSize consecutive people: one byte buffer per
// feed file, in file order, plus their truth rows and counts. Every record
// is exactly one line of its file.
type chunk struct {
	index int
	out   [numFiles][]byte
	// records counts the records of each file in this chunk.
	records   [numFiles]int64
	malformed []malformedRecord
	truth     []byte
	truthRows int64
	stats     chunkStats
	// seq numbers identifiers made in this chunk.
	eventSeq, spellSeq int
}

// malformedRecord locates a deliberately broken record within its chunk.
type malformedRecord struct {
	file fileID
	// record is the 0-based index of the record among the chunk's records
	// of the file; offset is where its bytes start in chunk.out[file].
	record   int64
	offset   int
	recordID string
	reason   string
}

// chunkStats is the part of the Summary one chunk contributes.
type chunkStats struct {
	people, deaths, fhirPatients, admitted, emergency, elective, moved int
	conds                                                              []int
	fhirDirt, hl7Dirt                                                  DirtCounts
}

func (c *chunk) reset(index, nconds int) {
	c.index = index
	for f := range c.out {
		c.out[f] = c.out[f][:0]
	}
	c.records = [numFiles]int64{}
	c.malformed = c.malformed[:0]
	c.truth = c.truth[:0]
	c.truthRows = 0
	conds := c.stats.conds
	if len(conds) != nconds {
		conds = make([]int, nconds)
	}
	clear(conds)
	c.stats = chunkStats{conds: conds}
	c.eventSeq, c.spellSeq = 0, 0
}

// begin returns the offset at which the next record of f starts.
func (c *chunk) begin(f fileID) int { return len(c.out[f]) }

// end counts a finished record of f, which started at offset start; a
// non-empty reason marks it malformed.
func (c *chunk) end(f fileID, start int, recordID, reason string) {
	if reason != "" {
		c.malformed = append(c.malformed, malformedRecord{f, c.records[f], start, recordID, reason})
	}
	c.records[f]++
}

// addTruth appends a truth.csv row.
func (c *chunk) addTruth(feed models.Feed, recordID, localID, personID string) {
	c.truth = append(c.truth, feed...)
	c.truth = append(c.truth, ',')
	c.truth = appendCSVField(c.truth, recordID)
	c.truth = append(c.truth, ',')
	c.truth = appendCSVField(c.truth, localID)
	c.truth = append(c.truth, ',')
	c.truth = append(c.truth, personID...)
	c.truth = append(c.truth, '\n')
	c.truthRows++
}

// appendEventID appends a new GP event id, unique within the extract.
func (c *chunk) appendEventID(b []byte) []byte {
	c.eventSeq++
	b = append(b, 'E')
	return appendPadded(b, c.index*eventsPerChunk+c.eventSeq, 13)
}

// nextVisitNumber returns a hospital spell number unique within the feed.
func (c *chunk) nextVisitNumber() string {
	c.spellSeq++
	return "IP" + pad(uint64(c.index)*spellsPerChunk+uint64(c.spellSeq), 11)
}
