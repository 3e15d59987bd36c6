package riskmodel

import (
	"errors"
	"fmt"
	"math"
)

// ErrNotConverged is returned by Fit when IRLS does not settle; the data
// are then usually separable (a feature predicts the outcome perfectly).
var ErrNotConverged = errors.New("riskmodel: logistic regression did not converge")

// Fit is a fitted logistic regression.
type Fit struct {
	// Coef[0] is the intercept; Coef[j] belongs to column j of X.
	Coef []float64
	// SE are the standard errors from the inverse Fisher information.
	SE         []float64
	Iterations int
	// Deviance is -2 log-likelihood at the fit.
	Deviance float64
}

// FitLogistic fits P(y) = 1/(1+exp(-(b0 + X b))) by iteratively reweighted
// least squares (Newton's method on the log-likelihood). X holds one row
// per observation without an intercept column; the intercept is added
// here. A tiny ridge term (1e-9 on the standardised scale) keeps the
// normal equations solvable when a column is constant.
//
// Columns are standardised internally (mean 0, SD 1) for numerical
// stability; the coefficients returned are on the original scale. A
// constant column gets coefficient 0 and standard error 0.
func FitLogistic(X [][]float64, y []bool) (*Fit, error) {
	n := len(X)
	if n == 0 || n != len(y) {
		return nil, fmt.Errorf("riskmodel: fit needs as many outcomes as rows (%d rows, %d outcomes)", n, len(y))
	}
	k := len(X[0])
	mean, sd := make([]float64, k), make([]float64, k)
	constant := make([]bool, k)
	for _, row := range X {
		if len(row) != k {
			return nil, fmt.Errorf("riskmodel: ragged design matrix")
		}
		for j, v := range row {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for _, row := range X {
		for j, v := range row {
			sd[j] += (v - mean[j]) * (v - mean[j])
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j] / float64(n))
		if sd[j] == 0 {
			sd[j], constant[j] = 1, true
		}
	}
	p := k + 1
	z := make([][]float64, n) // standardised rows with intercept
	for i, row := range X {
		z[i] = make([]float64, p)
		z[i][0] = 1
		for j, v := range row {
			z[i][j+1] = (v - mean[j]) / sd[j]
		}
	}
	beta := make([]float64, p)
	var info [][]float64
	fit := &Fit{}
	for iter := 1; iter <= 100; iter++ {
		info = make([][]float64, p)
		for a := range info {
			info[a] = make([]float64, p)
		}
		grad := make([]float64, p)
		for i, row := range z {
			eta := dot(beta, row)
			mu := sigmoid(eta)
			w := max(mu*(1-mu), 1e-12)
			r := -mu
			if y[i] {
				r = 1 - mu
			}
			for a := 0; a < p; a++ {
				grad[a] += row[a] * r
				wa := w * row[a]
				for b := 0; b <= a; b++ {
					info[a][b] += wa * row[b]
				}
			}
		}
		for a := 0; a < p; a++ {
			info[a][a] += 1e-9
			for b := 0; b < a; b++ {
				info[b][a] = info[a][b]
			}
		}
		step, err := solveSPD(info, grad)
		if err != nil {
			return nil, fmt.Errorf("riskmodel: iteration %d: %w", iter, err)
		}
		delta := 0.0
		for a := range beta {
			beta[a] += step[a]
			delta = max(delta, math.Abs(step[a]))
		}
		fit.Iterations = iter
		if math.IsNaN(delta) || math.IsInf(delta, 0) {
			return nil, ErrNotConverged
		}
		if delta < 1e-9 {
			break
		}
		if iter == 100 {
			return nil, ErrNotConverged
		}
	}
	// Covariance on the standardised scale at the final beta, then back to
	// the original scale: b_j = beta_j/sd_j, b0 = beta0 - sum beta_j mean_j/sd_j.
	cov, err := invertSPD(info)
	if err != nil {
		return nil, fmt.Errorf("riskmodel: covariance: %w", err)
	}
	// Linear map A from standardised to original coefficients.
	A := make([][]float64, p)
	for a := range A {
		A[a] = make([]float64, p)
	}
	A[0][0] = 1
	for j := 0; j < k; j++ {
		if constant[j] {
			// A constant column carries no information: its coefficient
			// stays 0 and it must not leak its (ridge-sized) variance into
			// the intercept's.
			continue
		}
		A[j+1][j+1] = 1 / sd[j]
		A[0][j+1] = -mean[j] / sd[j]
	}
	fit.Coef = make([]float64, p)
	fit.SE = make([]float64, p)
	for a := 0; a < p; a++ {
		fit.Coef[a] = dot(A[a], beta)
		// var(A beta)_aa = sum_bc A[a][b] cov[b][c] A[a][c]
		v := 0.0
		for b := 0; b < p; b++ {
			for c := 0; c < p; c++ {
				v += A[a][b] * cov[b][c] * A[a][c]
			}
		}
		fit.SE[a] = math.Sqrt(max(v, 0))
	}
	for i, row := range X {
		pr := Predict(fit.Coef, row)
		if y[i] {
			fit.Deviance -= 2 * math.Log(max(pr, 1e-300))
		} else {
			fit.Deviance -= 2 * math.Log(max(1-pr, 1e-300))
		}
	}
	return fit, nil
}

// Predict returns the probability for one row of features (no intercept
// column) under coefficients coef (intercept first).
func Predict(coef, row []float64) float64 {
	eta := coef[0]
	for j, v := range row {
		eta += coef[j+1] * v
	}
	return sigmoid(eta)
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// cholesky returns lower-triangular L with L L' = m.
func cholesky(m [][]float64) ([][]float64, error) {
	p := len(m)
	L := make([][]float64, p)
	for i := range L {
		L[i] = make([]float64, p)
	}
	for i := 0; i < p; i++ {
		for j := 0; j <= i; j++ {
			s := m[i][j]
			for k := 0; k < j; k++ {
				s -= L[i][k] * L[j][k]
			}
			if i == j {
				if s <= 0 || math.IsNaN(s) {
					return nil, fmt.Errorf("matrix not positive definite at column %d", i)
				}
				L[i][i] = math.Sqrt(s)
			} else {
				L[i][j] = s / L[j][j]
			}
		}
	}
	return L, nil
}

// solveSPD solves m x = b for symmetric positive definite m.
func solveSPD(m [][]float64, b []float64) ([]float64, error) {
	L, err := cholesky(m)
	if err != nil {
		return nil, err
	}
	return cholSolve(L, b), nil
}

func cholSolve(L [][]float64, b []float64) []float64 {
	p := len(L)
	y := make([]float64, p)
	for i := 0; i < p; i++ {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= L[i][k] * y[k]
		}
		y[i] = s / L[i][i]
	}
	x := make([]float64, p)
	for i := p - 1; i >= 0; i-- {
		s := y[i]
		for k := i + 1; k < p; k++ {
			s -= L[k][i] * x[k]
		}
		x[i] = s / L[i][i]
	}
	return x
}

func invertSPD(m [][]float64) ([][]float64, error) {
	L, err := cholesky(m)
	if err != nil {
		return nil, err
	}
	p := len(m)
	inv := make([][]float64, p)
	for j := 0; j < p; j++ {
		e := make([]float64, p)
		e[j] = 1
		col := cholSolve(L, e)
		for i := 0; i < p; i++ {
			if inv[i] == nil {
				inv[i] = make([]float64, p)
			}
			inv[i][j] = col[i]
		}
	}
	return inv, nil
}
