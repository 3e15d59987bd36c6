package riskmodel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/queries"
)

// ModelName identifies this model in stored files.
const ModelName = "emergency-admission-12m"

// Model is a fitted emergency-admission model with its provenance and
// validation. It is what FitOnLake stores and Run reads.
type Model struct {
	Name string `json:"name"`
	// Version is "v1-" plus the first 12 hex digits of the SHA-256 of the
	// coefficients, feature names and snapshot: the same fit on the same
	// data gives the same version.
	Version   string    `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	// FitIndex is T-1: features on it, outcome in the 12 months after.
	FitIndex string `json:"fit_index"`
	// ValidationIndex is T: the held-out year.
	ValidationIndex string `json:"validation_index"`
	// Snapshot lists the lake batches the engine read (the data snapshot).
	Snapshot []string `json:"snapshot_batches"`
	Features []string `json:"features"`
	// Coefficients are on the log-odds scale, intercept first, then one
	// per feature; SE are their standard errors.
	Coefficients []float64  `json:"coefficients"`
	SE           []float64  `json:"se"`
	FitPeople    int        `json:"fit_people"`
	FitEvents    int        `json:"fit_events"`
	Iterations   int        `json:"iterations"`
	Validation   Validation `json:"validation"`
}

// Validation is the model's performance on the held-out year.
type Validation struct {
	People      int                `json:"people"`
	Events      int                `json:"events"`
	AUROC       AUROC              `json:"auroc"`
	Calibration []CalibrationGroup `json:"calibration_by_decile"`
	// MeanPredicted and ObservedRate compare overall (calibration in the
	// large).
	MeanPredicted float64  `json:"mean_predicted"`
	ObservedRate  float64  `json:"observed_rate"`
	Brier         float64  `json:"brier"`
	Top           []TopPPV `json:"ppv_top"`
	// FitAUROC is the AUROC on the fitting year, to show optimism.
	FitAUROC AUROC `json:"fit_auroc"`
}

// design builds the feature matrix and outcomes for people.
func design(s *Scorer, people []Person) (X [][]float64, y []bool, keys []string) {
	X = make([][]float64, len(people))
	y = make([]bool, len(people))
	keys = make([]string, len(people))
	for i, p := range people {
		X[i] = s.Features(p).Features
		y[i] = p.Outcome
		keys[i] = p.Key
	}
	return X, y, keys
}

// FitOnLake fits the model with features on fitIndex (T-1) and outcome in
// the year after, and validates it with features on fitIndex + 12 months
// (T) and outcome in the year after that. The caller checks that the lake
// covers T + 12 months. snapshot names the lake batches the engine reads.
func FitOnLake(ctx context.Context, eng *queries.Engine, fitIndex models.Date, snapshot []string) (*Model, error) {
	s, err := NewScorer()
	if err != nil {
		return nil, err
	}
	valIndex := models.DateOf(fitIndex.Time().AddDate(1, 0, 0))
	fitPeople, err := Extract(ctx, eng, fitIndex)
	if err != nil {
		return nil, err
	}
	X, y, _ := design(s, fitPeople)
	events := 0
	for _, o := range y {
		if o {
			events++
		}
	}
	if events < 10 || len(y)-events < 10 {
		return nil, fmt.Errorf("riskmodel: fitting year from %s has %d people with %d emergency admissions: too few to fit", fitIndex, len(y), events)
	}
	fit, err := FitLogistic(X, y)
	if err != nil {
		return nil, err
	}
	m := &Model{
		Name: ModelName, CreatedAt: time.Now().UTC(), FitIndex: fitIndex.String(), ValidationIndex: valIndex.String(),
		Snapshot: slices.Sorted(slices.Values(snapshot)), Features: FeatureNames(),
		Coefficients: fit.Coef, SE: fit.SE, FitPeople: len(y), FitEvents: events, Iterations: fit.Iterations,
	}
	fitPred := make([]float64, len(X))
	for i, row := range X {
		fitPred[i] = Predict(m.Coefficients, row)
	}
	if m.Validation.FitAUROC, err = ROC(y, fitPred); err != nil {
		return nil, err
	}
	valPeople, err := Extract(ctx, eng, valIndex)
	if err != nil {
		return nil, err
	}
	if m.Validation, err = validate(s, m, valPeople, m.Validation.FitAUROC); err != nil {
		return nil, err
	}
	m.Version = m.computeVersion()
	return m, nil
}

func validate(s *Scorer, m *Model, people []Person, fitAUROC AUROC) (Validation, error) {
	X, y, keys := design(s, people)
	pred := make([]float64, len(X))
	v := Validation{People: len(X), FitAUROC: fitAUROC}
	for i, row := range X {
		pred[i] = Predict(m.Coefficients, row)
		v.MeanPredicted += pred[i]
		if y[i] {
			v.Events++
		}
	}
	if len(X) == 0 {
		return v, fmt.Errorf("riskmodel: validation year has nobody")
	}
	v.MeanPredicted /= float64(len(X))
	v.ObservedRate = float64(v.Events) / float64(len(X))
	var err error
	if v.AUROC, err = ROC(y, pred); err != nil {
		return v, fmt.Errorf("riskmodel: validation: %w", err)
	}
	v.Calibration = Calibration(y, pred, keys, 10)
	v.Brier = Brier(y, pred)
	v.Top = []TopPPV{PPVAtTop(y, pred, keys, 0.005), PPVAtTop(y, pred, keys, 0.05)}
	return v, nil
}

func (m *Model) computeVersion() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%s|%s|%v|%v", m.Name, m.FitIndex, strings.Join(m.Features, ","), strings.Join(m.Snapshot, ","), m.Coefficients, m.SE)
	return "v1-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// Dir is where models live inside a workspace.
func Dir(workspaceDir string) string { return filepath.Join(workspaceDir, "models", ModelName) }

// Save writes the model as <dir>/<version>.json and points latest.json at
// it, each through a temporary file and a rename so a crash never leaves a
// half-written model. It returns the path written.
func (m *Model) Save(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("riskmodel: %w", err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", fmt.Errorf("riskmodel: %w", err)
	}
	path := filepath.Join(dir, m.Version+".json")
	for _, p := range []string{path, filepath.Join(dir, "latest.json")} {
		if err := writeAtomic(p, b); err != nil {
			return "", err
		}
	}
	return path, nil
}

func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".model-*")
	if err != nil {
		return fmt.Errorf("riskmodel: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("riskmodel: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("riskmodel: sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("riskmodel: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("riskmodel: %w", err)
	}
	return nil
}

// ErrNoModel is returned by Load when no model has been fitted.
var ErrNoModel = errors.New("riskmodel: no fitted model (run pophealth risk fit)")

// Load reads a model file; an empty version reads latest.json.
func Load(dir, version string) (*Model, error) {
	name := "latest.json"
	if version != "" {
		if strings.ContainsAny(version, `/\.`) && !strings.HasSuffix(version, ".json") {
			return nil, fmt.Errorf("riskmodel: bad model version %q", version)
		}
		name = strings.TrimSuffix(filepath.Base(version), ".json") + ".json"
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoModel
	}
	if err != nil {
		return nil, fmt.Errorf("riskmodel: %w", err)
	}
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("riskmodel: %s: %w", name, err)
	}
	if m.Name != ModelName || !slices.Equal(m.Features, FeatureNames()) || len(m.Coefficients) != len(m.Features)+1 {
		return nil, fmt.Errorf("riskmodel: %s: model %q with features %v does not match this version of pophealth (%v)", name, m.Name, m.Features, FeatureNames())
	}
	return &m, nil
}

// Scored is one person's predicted risk and tier.
type Scored struct {
	Key      string
	Risk     float64
	Tier     Tier
	Charlson int
	EFI      float64
	// Prior is the person's emergency admissions in the previous 12 months.
	Prior int
	Age   *int
	// Deprivation is the IMD decile of the person's area, nil if unknown.
	Deprivation *int
}

// Run scores everyone alive and registered on asOf with the model and
// assigns risk-pyramid tiers.
func Run(ctx context.Context, eng *queries.Engine, m *Model, asOf models.Date) ([]Scored, error) {
	s, err := NewScorer()
	if err != nil {
		return nil, err
	}
	people, err := Extract(ctx, eng, asOf)
	if err != nil {
		return nil, err
	}
	out := make([]Scored, len(people))
	riskv := make([]float64, len(people))
	keys := make([]string, len(people))
	for i, p := range people {
		r := s.Features(p)
		riskv[i] = Predict(m.Coefficients, r.Features)
		keys[i] = p.Key
		out[i] = Scored{Key: p.Key, Risk: riskv[i], Charlson: r.Charlson, EFI: r.EFI.Value, Prior: p.EmergencyPrior, Age: p.Age, Deprivation: p.Deprivation}
	}
	for i, t := range AssignTiers(riskv, keys) {
		out[i].Tier = t
	}
	return out, nil
}
