package synth

import "math"

// This file holds the fixed reference tables the generator draws from. They
// are read-only after package initialisation.

// ageBand is one five-year band of the population pyramid.
type ageBand struct {
	from, to int // inclusive single years of age
	// thousands is the band's population in thousands.
	thousands float64
	// male is the share of the band that is male.
	male float64
	// deathsPer1000 is the annual death rate of the band, both sexes.
	deathsPer1000 float64
}

// ageBands approximates England's population by five-year band from the
// ONS mid-2022 population estimates (MYE2, persons and males, rounded), with
// annual death rates approximating ONS deaths registered in England and
// Wales in 2022 per 1,000 population. The figures are rounded and meant to
// give synthetic data a realistic shape, not to be quoted.
var ageBands = [...]ageBand{
	{0, 4, 3180, 0.512, 0.85},
	{5, 9, 3460, 0.512, 0.07},
	{10, 14, 3560, 0.512, 0.09},
	{15, 19, 3340, 0.513, 0.25},
	{20, 24, 3550, 0.505, 0.35},
	{25, 29, 3790, 0.495, 0.45},
	{30, 34, 3970, 0.493, 0.6},
	{35, 39, 3870, 0.495, 0.9},
	{40, 44, 3690, 0.497, 1.3},
	{45, 49, 3500, 0.494, 2.0},
	{50, 54, 3830, 0.492, 3.0},
	{55, 59, 3800, 0.492, 4.6},
	{60, 64, 3330, 0.488, 7.1},
	{65, 69, 2850, 0.483, 11},
	{70, 74, 2740, 0.475, 17.5},
	{75, 79, 2250, 0.462, 29},
	{80, 84, 1430, 0.440, 52},
	{85, 89, 860, 0.405, 95},
	{90, maxAge, 550, 0.335, 210},
}

// maxAge is the oldest age generated; the 90+ band tails off towards it.
const maxAge = 104

// Sex differences in mortality relative to the both-sexes rate.
const (
	maleMortality   = 1.18
	femaleMortality = 0.85
)

// conditionShape describes how a long-term condition is distributed.
type conditionShape struct {
	// name is the condition's name in codelists (ltc.csv).
	name string
	// prevalence is the target share of people with the condition by the
	// end of the study period.
	prevalence float64
	// byDecade is the relative risk by age at the start of the study for
	// ages 0-9, 10-19, ..., 80-89 and 90+. Only ratios matter: the
	// generator scales them so that overall prevalence meets the target.
	byDecade [10]float64
	// male and female are relative risks by sex.
	male, female float64
	// onsetAge is the youngest age at diagnosis.
	onsetAge int
	// excludedBy names a condition that rules this one out (type 1 and
	// type 2 diabetes are exclusive).
	excludedBy string
	// deathHazard multiplies the annual risk of death.
	deathHazard float64
}

// conditionShapes are the long-term conditions with England-like QOF
// register prevalence (rounded). Type 1 diabetes is about a tenth of all
// diabetes.
var conditionShapes = [...]conditionShape{
	{"hypertension", 0.14, [10]float64{0, 0.01, 0.03, 0.07, 0.15, 0.28, 0.45, 0.6, 0.68, 0.7}, 1.1, 0.9, 18, "", 1.1},
	{"depression", 0.12, [10]float64{0, 0.3, 1, 1, 1, 1, 0.9, 0.8, 0.8, 0.8}, 0.6, 1.4, 12, "", 1.1},
	{"diabetes_t1", 0.007, [10]float64{0.6, 1, 1, 1, 1, 1, 1, 0.8, 0.6, 0.5}, 1.1, 0.9, 1, "", 1.5},
	{"diabetes_t2", 0.063, [10]float64{0, 0.01, 0.05, 0.2, 0.5, 1, 1.5, 1.8, 1.7, 1.4}, 1.2, 0.8, 15, "diabetes_t1", 1.3},
	{"asthma", 0.06, [10]float64{0.7, 1.2, 1, 1, 1, 1, 1, 1, 0.9, 0.8}, 0.9, 1.1, 1, "", 1.1},
	{"ckd", 0.04, [10]float64{0, 0, 0.01, 0.03, 0.08, 0.2, 0.5, 1.2, 2.2, 2.8}, 0.9, 1.1, 18, "", 1.4},
	{"chd", 0.03, [10]float64{0, 0, 0, 0.02, 0.1, 0.35, 0.8, 1.5, 2, 2}, 1.5, 0.6, 30, "", 1.4},
	{"copd", 0.02, [10]float64{0, 0, 0, 0.02, 0.1, 0.4, 0.9, 1.4, 1.5, 1.3}, 1.1, 0.9, 35, "", 1.8},
	{"af", 0.02, [10]float64{0, 0, 0.01, 0.02, 0.05, 0.2, 0.7, 1.8, 3, 3.2}, 1.2, 0.85, 20, "", 1.3},
	{"heart_failure", 0.01, [10]float64{0, 0, 0, 0.01, 0.04, 0.15, 0.5, 1.3, 2.6, 3}, 1.2, 0.85, 30, "", 2.2},
	{"dementia", 0.008, [10]float64{0, 0, 0, 0, 0.005, 0.03, 0.15, 0.7, 3, 6}, 0.9, 1.1, 45, "", 2.5},
	{"smi", 0.01, [10]float64{0, 0.3, 1, 1, 1, 1, 0.9, 0.7, 0.6, 0.5}, 1.05, 0.95, 16, "", 1.6},
}

// Hospital admission rates per person-year by age decade (0-9, ..., 90+),
// before the effect of long-term conditions. Emergency admissions rise
// steeply with age and with each condition; elective ones less so.
var (
	emergencyRate = [10]float64{0.07, 0.035, 0.05, 0.05, 0.055, 0.07, 0.09, 0.14, 0.26, 0.4}
	electiveRate  = [10]float64{0.03, 0.03, 0.04, 0.05, 0.08, 0.12, 0.17, 0.2, 0.15, 0.08}
)

// Relative increase of the admission rate per long-term condition.
const (
	emergencyPerCondition = 0.5
	electivePerCondition  = 0.15
)

// emergencyFrailtySD is the standard deviation of the log of a person's
// emergency-admission multiplier (log-normal with mean 1): people alike in
// age and conditions still differ, as the over-dispersion of admission
// counts in real data shows, which is what makes prior admissions predict.
const emergencyFrailtySD = 0.7

// deprivationEffect is the multiplier of the emergency-admission rate in
// an area of IMD decile d: about 1.8 times as high in the most deprived
// tenth as in the least, the gradient of age-standardised emergency
// admissions across England's deciles. An unknown decile counts as middling.
func deprivationEffect(d int8) float64 {
	if d < 1 || d > 10 {
		return 1
	}
	return math.Exp(0.065 * (5.5 - float64(d)))
}

// practice is a GP practice of the synthetic ICS.
type practice struct {
	ods  string
	name string
	town string
	// districts are postcode districts of the practice's patients; the
	// first is the practice's own and holds most of them.
	districts []string
	// listSize is the number of registered patients, in thousands.
	listSize float64
}

// practices are the GP practices of a West Yorkshire-like ICS. ODS codes
// follow the real pattern (commissioner letter and digits, e.g. B86 for
// Leeds, B83 Bradford, B84 Calderdale, B85 Kirklees, B87 Wakefield) but the
// practices are made up. Several names hold an ampersand, which HL7 must
// escape.
var practices = [...]practice{
	{"B86001", "Hyde Park Surgery", "Leeds", []string{"LS6", "LS4", "LS3"}, 14.2},
	{"B86004", "Chapel Allerton Medical Centre", "Leeds", []string{"LS7", "LS8", "LS17"}, 11.8},
	{"B86008", "Kirkstall Lane Surgery", "Leeds", []string{"LS5", "LS4", "LS13"}, 6.4},
	{"B86012", "Beeston Village Surgery", "Leeds", []string{"LS11", "LS10", "LS12"}, 9.1},
	{"B86017", "Armley Medical Practice", "Leeds", []string{"LS12", "LS13", "LS1"}, 12.5},
	{"B86022", "Oakwood Lane Medical Practice", "Leeds", []string{"LS8", "LS9", "LS14"}, 8.2},
	{"B86025", "Dr Malik & Partners", "Leeds", []string{"LS9", "LS8", "LS2"}, 5.3},
	{"B86030", "Meanwood Group Practice", "Leeds", []string{"LS6", "LS7", "LS16"}, 10.7},
	{"B86038", "Horsforth Health Centre", "Leeds", []string{"LS18", "LS16", "LS19"}, 13.9},
	{"B86041", "Rothwell & Methley Medical Practice", "Leeds", []string{"LS26", "WF3", "LS10"}, 9.6},
	{"B86049", "Wetherby Surgery", "Wetherby", []string{"LS22", "LS23", "LS17"}, 12.1},
	{"B86055", "Garforth Medical Practice", "Leeds", []string{"LS25", "LS15", "LS26"}, 8.8},
	{"B86062", "Morley Health Centre", "Leeds", []string{"LS27", "WF3", "LS11"}, 15.4},
	{"B86071", "Seacroft Green Surgery", "Leeds", []string{"LS14", "LS15", "LS9"}, 7.2},
	{"B86093", "Yeadon Tarn Practice", "Leeds", []string{"LS19", "LS20", "LS18"}, 6.1},
	{"B83002", "Manningham Medical Practice", "Bradford", []string{"BD8", "BD9", "BD1"}, 16.3},
	{"B83006", "Shipley Medical Practice", "Shipley", []string{"BD18", "BD17", "BD9"}, 11.2},
	{"B83011", "Ilkley Moor Medical Practice", "Ilkley", []string{"LS29", "BD20"}, 9.9},
	{"B83015", "Keighley Health Centre", "Keighley", []string{"BD21", "BD22", "BD20"}, 13.0},
	{"B83019", "Dr Hussain & Partners", "Bradford", []string{"BD3", "BD2", "BD4"}, 7.7},
	{"B83024", "Thornbury Medical Centre", "Bradford", []string{"BD3", "BD4", "BD10"}, 10.4},
	{"B83029", "Bingley Medical Practice", "Bingley", []string{"BD16", "BD13", "BD15"}, 8.6},
	{"B83033", "Idle Medical Centre", "Bradford", []string{"BD10", "BD2", "BD17"}, 5.9},
	{"B83040", "Little Horton Lane Surgery", "Bradford", []string{"BD5", "BD7", "BD6"}, 12.8},
	{"B84003", "Spring Hall Group Practice", "Halifax", []string{"HX1", "HX3", "HX2"}, 14.6},
	{"B84007", "Hebden Bridge Group Practice", "Hebden Bridge", []string{"HX7", "HX2"}, 6.8},
	{"B84011", "Brighouse Medical Group", "Brighouse", []string{"HD6", "HX3", "HX4"}, 10.2},
	{"B84016", "King Cross Practice", "Halifax", []string{"HX1", "HX2", "HX6"}, 4.9},
	{"B85005", "Greenhead Family Doctors", "Huddersfield", []string{"HD1", "HD2", "HD3"}, 17.8},
	{"B85010", "Meltham Road Surgery", "Huddersfield", []string{"HD4", "HD7", "HD1"}, 7.1},
	{"B85014", "Holmfirth Medical Centre", "Holmfirth", []string{"HD9", "HD8", "HD4"}, 11.5},
	{"B85022", "Dewsbury Health Centre", "Dewsbury", []string{"WF13", "WF12", "WF14"}, 13.3},
	{"B85027", "Batley Health Centre", "Batley", []string{"WF17", "WF16", "WF13"}, 9.4},
	{"B87002", "Trinity Medical Centre", "Wakefield", []string{"WF1", "WF2", "WF4"}, 15.9},
	{"B87008", "Ossett Surgery", "Ossett", []string{"WF5", "WF2", "WF4"}, 8.3},
	{"B87013", "Pontefract Health Centre", "Pontefract", []string{"WF8", "WF7", "WF9"}, 12.0},
	{"B87019", "Castleford & Normanton Group Practice", "Castleford", []string{"WF10", "WF6", "WF7"}, 16.7},
	{"B87025", "Featherstone Surgery", "Pontefract", []string{"WF7", "WF9", "WF8"}, 5.6},
}

// homeDistrictShare is the share of a practice's patients living in its
// own postcode district.
const homeDistrictShare = 0.6

// inwardLetters are the letters a postcode's inward unit may use (never C,
// I, K, M, O or V).
const inwardLetters = "ABDEFGHJLNPQRSTUWXYZ"

var streets = [...]string{
	"High Street", "Church Lane", "Mill Lane", "Station Road", "Park Avenue",
	"Victoria Road", "Manor Way", "Green Lane", "Town Street", "Chapel Street",
	"Moor Road", "Queens Road", "Kings Avenue", "Albert Terrace", "Springfield Mount",
	"Woodhouse Lane", "Harehills Road", "Otley Road", "Leeds Road", "Bradford Road",
	"Halifax Road", "Wakefield Road", "Oak Tree Drive", "Beech Grove", "Ash Close",
	"Cliff Side Gardens", "Brunswick Place", "Hill Top View", "Back Mill Street", "Canal Walk",
	"Prospect Terrace", "Westfield Crescent", "Moorland Rise", "Clough Lane", "Fold Court",
}

// Given names common in England, including the spellings a clerk may
// confuse, split by sex.
var (
	maleGiven = [...]string{
		"Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Thomas", "Oscar", "William",
		"James", "Robert", "David", "Michael", "John", "Richard", "Peter", "Stephen", "Christopher", "Andrew",
		"Anthony", "Daniel", "Matthew", "Mark", "Paul", "Steven", "Kenneth", "Edward", "Joseph", "Samuel",
		"Benjamin", "Alexander", "Nicholas", "Jonathan", "Gary", "Keith", "Brian", "Ian", "Graham", "Alan",
		"Mohammed", "Muhammad", "Ali", "Imran", "Bilal", "Hamza", "Ibrahim", "Yusuf", "Arjun", "Rajesh",
		"Gurpreet", "Tomasz", "Piotr", "Kwame", "Liam", "Connor", "Callum", "Kieran", "Dylan", "Ryan",
	}
	femaleGiven = [...]string{
		"Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophia", "Grace", "Lily", "Freya", "Isabella",
		"Elizabeth", "Margaret", "Susan", "Patricia", "Catherine", "Katherine", "Jennifer", "Deborah", "Rebecca", "Victoria",
		"Sarah", "Helen", "Julie", "Karen", "Linda", "Barbara", "Dorothy", "Joan", "Jean", "Christine",
		"Charlotte", "Abigail", "Samantha", "Jessica", "Hannah", "Lauren", "Megan", "Chloe", "Emma", "Rachel",
		"Aisha", "Ayesha", "Fatima", "Maryam", "Zainab", "Khadija", "Amina", "Priya", "Sunita", "Harpreet",
		"Agnieszka", "Magdalena", "Abena", "Siobhan", "Niamh", "Bethany", "Kirsty", "Leanne", "Nicola", "Joanne",
	}
)

// nicknames maps a formal given name to the informal forms that appear in
// another system's record of the same person, or to a common alternative
// transliteration.
var nicknames = map[string][]string{
	"Robert": {"Bob", "Rob", "Bobby"}, "William": {"Bill", "Will", "Billy"},
	"James": {"Jim", "Jimmy", "Jamie"}, "Michael": {"Mike", "Mick"},
	"Richard": {"Rick", "Dick", "Richie"}, "Thomas": {"Tom", "Tommy"},
	"Christopher": {"Chris"}, "Anthony": {"Tony"}, "Daniel": {"Dan", "Danny"},
	"Matthew": {"Matt"}, "Stephen": {"Steve"}, "Steven": {"Steve"},
	"Kenneth": {"Ken", "Kenny"}, "Edward": {"Ed", "Ted", "Eddie"},
	"Joseph": {"Joe"}, "Samuel": {"Sam"}, "Benjamin": {"Ben"},
	"Alexander": {"Alex"}, "Nicholas": {"Nick"}, "Jonathan": {"Jon"},
	"David": {"Dave"}, "Peter": {"Pete"}, "Andrew": {"Andy"}, "John": {"Jack", "Johnny"},
	"Mohammed": {"Muhammad", "Mohammad"}, "Muhammad": {"Mohammed", "Mohamed"},
	"Ibrahim": {"Ebrahim"}, "Yusuf": {"Yousuf"},
	"Elizabeth": {"Liz", "Beth", "Lizzie"}, "Margaret": {"Maggie", "Peggy", "Maggi"},
	"Susan": {"Sue", "Susie"}, "Patricia": {"Pat", "Trish"},
	"Catherine": {"Cathy", "Kate", "Katherine"}, "Katherine": {"Kate", "Kathy", "Catherine"},
	"Jennifer": {"Jenny", "Jen"}, "Deborah": {"Debbie", "Debra"},
	"Rebecca": {"Becky", "Becca"}, "Victoria": {"Vicky", "Tori"},
	"Charlotte": {"Charlie", "Lottie"}, "Abigail": {"Abby"}, "Samantha": {"Sam"},
	"Jessica": {"Jess"}, "Christine": {"Chris", "Tina"}, "Dorothy": {"Dot"},
	"Isabella": {"Bella", "Izzy"}, "Aisha": {"Ayesha"}, "Ayesha": {"Aisha"},
	"Nicola": {"Nicky"}, "Joanne": {"Jo"}, "Barbara": {"Babs"},
}

// Family names common in West Yorkshire. Double-barrelled names are made
// by joining two of them.
var familyNames = [...]string{
	"Smith", "Jones", "Taylor", "Brown", "Wilson", "Johnson", "Walker", "Wood", "Robinson", "Thompson",
	"Wright", "White", "Hall", "Green", "Clarke", "Jackson", "Hill", "Harrison", "Turner", "Lee",
	"Shaw", "Atkinson", "Marshall", "Holmes", "Hirst", "Sykes", "Firth", "Haigh", "Crowther", "Barraclough",
	"Ackroyd", "Greenwood", "Priestley", "Sutcliffe", "Lister", "Midgley", "Pickles", "Illingworth", "Booth", "Bairstow",
	"Khan", "Hussain", "Ahmed", "Ali", "Akhtar", "Begum", "Mahmood", "Iqbal", "Rashid", "Bibi",
	"Patel", "Singh", "Kaur", "Sharma", "Mistry", "Kowalski", "Nowak", "Mensah", "Okafor", "Murphy",
	"O'Brien", "O'Connor", "McDonald", "McKenzie", "MacLeod", "Kelly", "Doherty", "Evans", "Roberts", "Hughes",
}

// doubleBarrelShare is the share of people with a hyphenated surname.
const doubleBarrelShare = 0.04

// icd10Detail gives the four-character ICD-10 code a hospital records for
// a three-character code of the code lists, with its title. Codes without
// subdivisions take the UK filler X (I10.X), as hospital systems do.
var icd10Detail = map[string][2]string{
	"E10": {"E10.9", "Insulin-dependent diabetes mellitus without complications"},
	"E11": {"E11.9", "Non-insulin-dependent diabetes mellitus without complications"},
	"I10": {"I10.X", "Essential (primary) hypertension"},
	"F32": {"F32.9", "Depressive episode, unspecified"},
	"F33": {"F33.9", "Recurrent depressive disorder, unspecified"},
	"J45": {"J45.9", "Asthma, unspecified"},
	"N18": {"N18.3", "Chronic kidney disease, stage 3"},
	"I20": {"I20.9", "Angina pectoris, unspecified"},
	"I21": {"I25.2", "Old myocardial infarction"},
	"I25": {"I25.9", "Chronic ischaemic heart disease, unspecified"},
	"J44": {"J44.9", "Chronic obstructive pulmonary disease, unspecified"},
	"I48": {"I48.9", "Atrial fibrillation and atrial flutter, unspecified"},
	"I50": {"I50.9", "Heart failure, unspecified"},
	"F03": {"F03.X", "Unspecified dementia"},
	"G30": {"G30.9", "Alzheimer's disease, unspecified"},
	"F20": {"F20.9", "Schizophrenia, unspecified"},
	"F31": {"F31.9", "Bipolar affective disorder, unspecified"},
}

// admissionReason is a primary diagnosis for a hospital spell.
type admissionReason struct {
	code, term string
	// condition, if set, restricts the reason to people with it.
	condition string
	minAge    int
	maxAge    int
	// sex restricts the reason to one sex ("" for both).
	sex    string
	weight float64
	// specialty is the NHS treatment function code (PV1-10).
	specialty string
}

// emergencyReasons are primary diagnoses of emergency admissions.
var emergencyReasons = [...]admissionReason{
	{"J18.9", "Pneumonia, unspecified", "", 0, maxAge, "", 10, "300"},
	{"N39.0", "Urinary tract infection, site not specified", "", 0, maxAge, "", 8, "300"},
	{"R07.4", "Chest pain, unspecified", "", 18, maxAge, "", 9, "300"},
	{"R10.4", "Other and unspecified abdominal pain", "", 0, maxAge, "", 8, "100"},
	{"A09.9", "Gastroenteritis and colitis of unspecified origin", "", 0, maxAge, "", 5, "300"},
	{"L03.1", "Cellulitis of other parts of limb", "", 0, maxAge, "", 5, "300"},
	{"S72.0", "Fracture of neck of femur", "", 65, maxAge, "", 4, "110"},
	{"R55.X", "Syncope and collapse", "", 16, maxAge, "", 5, "300"},
	{"K35.8", "Acute appendicitis, other and unspecified", "", 5, 60, "", 3, "100"},
	{"J06.9", "Acute upper respiratory infection, unspecified", "", 0, 15, "", 6, "420"},
	{"J44.1", "Chronic obstructive pulmonary disease with acute exacerbation, unspecified", "copd", 0, maxAge, "", 25, "340"},
	{"I50.0", "Congestive heart failure", "heart_failure", 0, maxAge, "", 25, "320"},
	{"I21.4", "Acute subendocardial myocardial infarction", "chd", 0, maxAge, "", 15, "320"},
	{"I48.9", "Atrial fibrillation and atrial flutter, unspecified", "af", 0, maxAge, "", 10, "320"},
	{"J45.9", "Asthma, unspecified", "asthma", 0, maxAge, "", 8, "340"},
	{"E10.1", "Insulin-dependent diabetes mellitus with ketoacidosis", "diabetes_t1", 0, maxAge, "", 15, "307"},
	{"E11.6", "Non-insulin-dependent diabetes mellitus with other specified complications", "diabetes_t2", 0, maxAge, "", 5, "307"},
	{"N17.9", "Acute renal failure, unspecified", "ckd", 0, maxAge, "", 10, "361"},
	{"F05.1", "Delirium superimposed on dementia", "dementia", 0, maxAge, "", 15, "430"},
	{"F20.9", "Schizophrenia, unspecified", "smi", 0, maxAge, "", 10, "710"},
}

// electiveReasons are primary diagnoses of elective admissions. Like
// emergencyReasons, the list starts with a reason that fits everyone.
var electiveReasons = [...]admissionReason{
	{"K40.9", "Unilateral or unspecified inguinal hernia, without obstruction or gangrene", "", 0, maxAge, "", 5, "100"},
	{"H25.9", "Senile cataract, unspecified", "", 55, maxAge, "", 10, "130"},
	{"M17.1", "Other primary gonarthrosis", "", 50, maxAge, "", 6, "110"},
	{"M16.1", "Other primary coxarthrosis", "", 50, maxAge, "", 5, "110"},
	{"K80.2", "Calculus of gallbladder without cholecystitis", "", 18, maxAge, "", 5, "100"},
	{"Z51.1", "Chemotherapy session for neoplasm", "", 18, maxAge, "", 6, "370"},
	{"K57.3", "Diverticular disease of large intestine without perforation or abscess", "", 40, maxAge, "", 4, "301"},
	{"D12.6", "Benign neoplasm: colon, unspecified", "", 40, maxAge, "", 5, "301"},
	{"N40.X", "Hyperplasia of prostate", "", 50, maxAge, "male", 4, "101"},
	{"J35.0", "Chronic tonsillitis", "", 2, 16, "", 5, "120"},
	{"K21.9", "Gastro-oesophageal reflux disease without oesophagitis", "", 18, maxAge, "", 4, "301"},
	{"N92.0", "Excessive and frequent menstruation with regular cycle", "", 18, 55, "female", 4, "502"},
	{"Z49.1", "Extracorporeal dialysis", "ckd", 18, maxAge, "", 12, "361"},
	{"I25.1", "Atherosclerotic heart disease", "chd", 0, maxAge, "", 8, "320"},
}

// NHS admission method codes (NHS Data Dictionary, ADMISSION METHOD) sent in
// PV1-4, with their shares among elective and emergency admissions.
var (
	electiveMethods  = [...]weighted{{"11", 0.55}, {"12", 0.30}, {"13", 0.15}} // waiting list, booked, planned
	emergencyMethods = [...]weighted{{"21", 0.70}, {"22", 0.15}, {"24", 0.05}, {"28", 0.10}}
)

// weighted is a code chosen with a relative weight.
type weighted struct {
	code   string
	weight float64
}
