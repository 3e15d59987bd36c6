package riskmodel

import (
	"math"
	"math/rand/v2"
	"testing"
)

func simulate(n int, coef []float64, seed uint64) ([][]float64, []bool) {
	rng := rand.New(rand.NewPCG(seed, 7))
	X := make([][]float64, n)
	y := make([]bool, n)
	for i := range X {
		X[i] = []float64{rng.NormFloat64()*10 + 60, float64(rng.IntN(2)), float64(rng.IntN(6))}
		y[i] = rng.Float64() < Predict(coef, X[i])
	}
	return X, y
}

func TestFitLogistic_RecoversSimulatedCoefficients(t *testing.T) {
	want := []float64{-6, 0.06, -0.3, 0.4}
	X, y := simulate(40000, want, 1)
	fit, err := FitLogistic(X, y)
	if err != nil {
		t.Fatal(err)
	}
	for j, w := range want {
		if math.Abs(fit.Coef[j]-w) > 4*fit.SE[j] || fit.SE[j] <= 0 {
			t.Errorf("coef %d: %.4f ± %.4f, true %.4f", j, fit.Coef[j], fit.SE[j], w)
		}
	}
}

// At the maximum-likelihood estimate the score equations hold: the sum of
// (y - p) x over rows is zero for every column and the intercept.
func TestFitLogistic_SolvesScoreEquations(t *testing.T) {
	X, y := simulate(3000, []float64{-3, 0.03, 0.5, 0.2}, 2)
	fit, err := FitLogistic(X, y)
	if err != nil {
		t.Fatal(err)
	}
	grad := make([]float64, 4)
	for i, row := range X {
		r := -Predict(fit.Coef, row)
		if y[i] {
			r++
		}
		grad[0] += r
		for j, v := range row {
			grad[j+1] += r * v
		}
	}
	for j, g := range grad {
		if math.Abs(g) > 1e-5 {
			t.Errorf("score equation %d: %g, want 0", j, g)
		}
	}
	if fit.Deviance <= 0 || fit.Iterations < 2 {
		t.Errorf("deviance %v after %d iterations", fit.Deviance, fit.Iterations)
	}
}

func TestFitLogistic_ConstantColumnGetsZero(t *testing.T) {
	X, y := simulate(2000, []float64{-2, 0.02, 0.3, 0.1}, 3)
	for _, row := range X {
		row[1] = 1
	}
	fit, err := FitLogistic(X, y)
	if err != nil {
		t.Fatal(err)
	}
	if fit.Coef[2] != 0 || fit.SE[2] != 0 || fit.SE[0] > 1 {
		t.Errorf("constant column: coef %v SE %v", fit.Coef, fit.SE)
	}
}

func TestFitLogistic_RefusesSeparableAndBadInput(t *testing.T) {
	X := [][]float64{{1}, {2}, {3}, {4}}
	if _, err := FitLogistic(X, []bool{false, false, true, true}); err == nil {
		t.Error("perfectly separable data fitted")
	}
	if _, err := FitLogistic(X, []bool{true}); err == nil {
		t.Error("mismatched outcomes accepted")
	}
	if _, err := FitLogistic([][]float64{{1}, {1, 2}}, []bool{true, false}); err == nil {
		t.Error("ragged matrix accepted")
	}
}
