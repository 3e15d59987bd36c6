package fhir

// The structs in this file are projections of FHIR R4 resources: they hold
// only the members the mapping reads, and their read methods skip every
// other member without building it. Member names are matched exactly, as
// FHIR JSON is case-sensitive.

type coding struct {
	System, Code string
}

func (c *coding) read(r *reader) error {
	return r.object(func(name []byte) (err error) {
		switch string(name) {
		case "system":
			c.System, err = r.code()
		case "code":
			c.Code, err = r.code()
		default:
			err = r.skip()
		}
		return err
	})
}

type codeableConcept struct {
	Coding []coding
}

func (cc *codeableConcept) read(r *reader) error {
	return r.object(func(name []byte) error {
		if string(name) == "coding" {
			return list(r, &cc.Coding, (*coding).read)
		}
		return r.skip()
	})
}

type reference struct {
	Reference string
}

func (ref *reference) read(r *reader) error {
	return r.object(func(name []byte) (err error) {
		if string(name) == "reference" {
			ref.Reference, err = r.str()
			return err
		}
		return r.skip()
	})
}

type period struct {
	Start, End string
}

func (p *period) read(r *reader) error {
	return r.object(func(name []byte) (err error) {
		switch string(name) {
		case "start":
			p.Start, err = r.str()
		case "end":
			p.End, err = r.str()
		default:
			err = r.skip()
		}
		return err
	})
}

type extension struct {
	URL                  string
	ValueCodeableConcept codeableConcept
}

func (e *extension) read(r *reader) error {
	return r.object(func(name []byte) (err error) {
		switch string(name) {
		case "url":
			e.URL, err = r.code()
		case "valueCodeableConcept":
			err = e.ValueCodeableConcept.read(r)
		default:
			err = r.skip()
		}
		return err
	})
}

type identifier struct {
	System, Value string
	Period        period
	Extension     []extension
}

func (id *identifier) read(r *reader) error {
	return r.object(func(name []byte) (err error) {
		switch string(name) {
		case "system":
			id.System, err = r.code()
		case "value":
			id.Value, err = r.str()
		case "period":
			err = id.Period.read(r)
		case "extension":
			err = list(r, &id.Extension, (*extension).read)
		default:
			err = r.skip()
		}
		return err
	})
}

// header is what every resource has. For the resource types pophealth does
// not map, reading it is also what checks the rest of their JSON.
type header struct {
	ResourceType, ID string
}

func (h *header) read(r *reader) error {
	return r.object(func(name []byte) (err error) {
		switch string(name) {
		case "resourceType":
			h.ResourceType, err = r.str()
		case "id":
			h.ID, err = r.str()
		default:
			err = r.skip()
		}
		return err
	})
}

type humanName struct {
	Use, Family string
	Given       []string
	Period      period
}

func (n *humanName) read(r *reader) error {
	return r.object(func(name []byte) (err error) {
		switch string(name) {
		case "use":
			n.Use, err = r.code()
		case "family":
			n.Family, err = r.str()
		case "given":
			err = r.array(func() error {
				g, err := r.str()
				n.Given = append(n.Given, g)
				return err
			})
		case "period":
			err = n.Period.read(r)
		default:
			err = r.skip()
		}
		return err
	})
}

type address struct {
	Use, PostalCode string
	Period          period
}

func (a *address) read(r *reader) error {
	return r.object(func(name []byte) (err error) {
		switch string(name) {
		case "use":
			a.Use, err = r.code()
		case "postalCode":
			a.PostalCode, err = r.str()
		case "period":
			err = a.Period.read(r)
		default:
			err = r.skip()
		}
		return err
	})
}

// organisationRef is a Reference read for its logical identifier, the
// form in which PDS names a patient's GP practice.
type organisationRef struct {
	Identifier identifier
}

func (o *organisationRef) read(r *reader) error {
	return r.object(func(name []byte) error {
		if string(name) == "identifier" {
			return o.Identifier.read(r)
		}
		return r.skip()
	})
}

type patientResource struct {
	ID, Gender, BirthDate, DeceasedDateTime string
	Identifier                              []identifier
	Name                                    []humanName
	Address                                 []address
	GeneralPractitioner                     []organisationRef
}

func (p *patientResource) read(r *reader) error {
	return r.object(func(name []byte) (err error) {
		switch string(name) {
		case "id":
			p.ID, err = r.str()
		case "identifier":
			err = list(r, &p.Identifier, (*identifier).read)
		case "name":
			err = list(r, &p.Name, (*humanName).read)
		case "gender":
			p.Gender, err = r.code()
		case "birthDate":
			p.BirthDate, err = r.str()
		case "deceasedDateTime":
			p.DeceasedDateTime, err = r.str()
		case "address":
			err = list(r, &p.Address, (*address).read)
		case "generalPractitioner":
			err = list(r, &p.GeneralPractitioner, (*organisationRef).read)
		default:
			err = r.skip()
		}
		return err
	})
}

type encounterResource struct {
	ID, Status string
	// ClassCode is the code of Encounter.class: a Coding in R4, a list of
	// CodeableConcepts in R5. Exporters mix them up, so both are read.
	ClassCode   string
	Subject     reference
	Period      period
	Extension   []extension
	AdmitSource codeableConcept
	// HospitalizationExtension is Encounter.hospitalization.extension,
	// where UK Core puts the admission method.
	HospitalizationExtension []extension
}

func (e *encounterResource) read(r *reader) error {
	return r.object(func(name []byte) (err error) {
		switch string(name) {
		case "id":
			e.ID, err = r.str()
		case "status":
			e.Status, err = r.code()
		case "class":
			e.ClassCode, err = readClass(r)
		case "subject":
			err = e.Subject.read(r)
		case "period":
			err = e.Period.read(r)
		case "extension":
			err = list(r, &e.Extension, (*extension).read)
		case "hospitalization":
			err = r.object(func(name []byte) error {
				switch string(name) {
				case "admitSource":
					return e.AdmitSource.read(r)
				case "extension":
					return list(r, &e.HospitalizationExtension, (*extension).read)
				}
				return r.skip()
			})
		default:
			err = r.skip()
		}
		return err
	})
}

func readClass(r *reader) (string, error) {
	if r.peek() != '[' {
		var c coding
		err := c.read(r)
		return c.Code, err
	}
	var ccs []codeableConcept
	if err := list(r, &ccs, (*codeableConcept).read); err != nil {
		return "", err
	}
	for _, cc := range ccs {
		for _, c := range cc.Coding {
			if c.Code != "" {
				return c.Code, nil
			}
		}
	}
	return "", nil
}

type conditionResource struct {
	ID                          string
	VerificationStatus, Code    codeableConcept
	Subject, Encounter          reference
	RecordedDate, OnsetDateTime string
}

func (c *conditionResource) read(r *reader) error {
	return r.object(func(name []byte) (err error) {
		switch string(name) {
		case "id":
			c.ID, err = r.str()
		case "verificationStatus":
			err = c.VerificationStatus.read(r)
		case "code":
			err = c.Code.read(r)
		case "subject":
			err = c.Subject.read(r)
		case "encounter":
			err = c.Encounter.read(r)
		case "recordedDate":
			c.RecordedDate, err = r.str()
		case "onsetDateTime":
			c.OnsetDateTime, err = r.str()
		default:
			err = r.skip()
		}
		return err
	})
}

type quantity struct {
	Value              *float64
	Unit, System, Code string
}

func (q *quantity) read(r *reader) error {
	return r.object(func(name []byte) (err error) {
		switch string(name) {
		case "value":
			q.Value, err = r.number()
		case "unit":
			q.Unit, err = r.code()
		case "system":
			q.System, err = r.code()
		case "code":
			q.Code, err = r.code()
		default:
			err = r.skip()
		}
		return err
	})
}

type component struct {
	Code          codeableConcept
	ValueQuantity *quantity
}

func (c *component) read(r *reader) error {
	return r.object(func(name []byte) error {
		switch string(name) {
		case "code":
			return c.Code.read(r)
		case "valueQuantity":
			return optional(r, &c.ValueQuantity, (*quantity).read)
		}
		return r.skip()
	})
}

type observationResource struct {
	ID, Status                          string
	Code                                codeableConcept
	Subject                             reference
	EffectiveDateTime, EffectiveInstant string
	EffectivePeriod                     period
	ValueQuantity                       *quantity
	Component                           []component
}

func (o *observationResource) read(r *reader) error {
	return r.object(func(name []byte) (err error) {
		switch string(name) {
		case "id":
			o.ID, err = r.str()
		case "status":
			o.Status, err = r.code()
		case "code":
			err = o.Code.read(r)
		case "subject":
			err = o.Subject.read(r)
		case "effectiveDateTime":
			o.EffectiveDateTime, err = r.str()
		case "effectivePeriod":
			err = o.EffectivePeriod.read(r)
		case "effectiveInstant":
			o.EffectiveInstant, err = r.str()
		case "valueQuantity":
			err = optional(r, &o.ValueQuantity, (*quantity).read)
		case "component":
			err = list(r, &o.Component, (*component).read)
		default:
			err = r.skip()
		}
		return err
	})
}

// medicationResource covers MedicationRequest and MedicationStatement,
// which share the members pophealth reads apart from their dates.
type medicationResource struct {
	ID, Status                string
	MedicationCodeableConcept *codeableConcept
	HasMedicationReference    bool
	Subject                   reference
	// AuthoredOn is MedicationRequest's date.
	AuthoredOn string
	// EffectiveDateTime, EffectivePeriod and DateAsserted are
	// MedicationStatement's dates.
	EffectiveDateTime, DateAsserted string
	EffectivePeriod                 period
}

func (m *medicationResource) read(r *reader) error {
	return r.object(func(name []byte) (err error) {
		switch string(name) {
		case "id":
			m.ID, err = r.str()
		case "status":
			m.Status, err = r.code()
		case "medicationCodeableConcept":
			err = optional(r, &m.MedicationCodeableConcept, (*codeableConcept).read)
		case "medicationReference":
			m.HasMedicationReference = r.peek() != 'n'
			err = r.skip()
		case "subject":
			err = m.Subject.read(r)
		case "authoredOn":
			m.AuthoredOn, err = r.str()
		case "effectiveDateTime":
			m.EffectiveDateTime, err = r.str()
		case "effectivePeriod":
			err = m.EffectivePeriod.read(r)
		case "dateAsserted":
			m.DateAsserted, err = r.str()
		default:
			err = r.skip()
		}
		return err
	})
}

type procedureResource struct {
	ID, Status         string
	Code               codeableConcept
	Subject, Encounter reference
	PerformedDateTime  string
	PerformedPeriod    period
}

func (p *procedureResource) read(r *reader) error {
	return r.object(func(name []byte) (err error) {
		switch string(name) {
		case "id":
			p.ID, err = r.str()
		case "status":
			p.Status, err = r.code()
		case "code":
			err = p.Code.read(r)
		case "subject":
			err = p.Subject.read(r)
		case "encounter":
			err = p.Encounter.read(r)
		case "performedDateTime":
			p.PerformedDateTime, err = r.str()
		case "performedPeriod":
			err = p.PerformedPeriod.read(r)
		default:
			err = r.skip()
		}
		return err
	})
}
