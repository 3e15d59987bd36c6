package jobs

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the scheduler's Prometheus metrics. They are registered on
// the registry the caller passes (serve exposes it on /metrics), never on
// the global default one. A nil *Metrics records nothing.
type Metrics struct {
	runs        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	records     *prometheus.CounterVec
	failures    *prometheus.CounterVec
	queueLag    *prometheus.HistogramVec
	running     *prometheus.GaugeVec
	lastSuccess *prometheus.GaugeVec
	queued      prometheus.Gauge
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	job := []string{"job", "kind"}
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pophealth_job_runs_total",
			Help: "Job runs recorded in the history, by final status (succeeded, failed, aborted, skipped, missed).",
		}, append(job, "status")),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pophealth_job_run_duration_seconds",
			Help:    "Wall time of job runs that started, from start to final status, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.1, 3, 10), // 0.1 s to about 33 minutes
		}, job),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pophealth_job_records_total",
			Help: "Records read (direction=in) and written (direction=out) by successful job runs.",
		}, append(job, "direction")),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pophealth_job_attempt_failures_total",
			Help: "Failed attempts, including those a retry then made good.",
		}, job),
		queueLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pophealth_job_queue_lag_seconds",
			Help:    "Time from when a run was due (its scheduled time, or when it was queued) to when it started.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10), // 10 ms to about 45 minutes
		}, job),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pophealth_job_running",
			Help: "1 while a run of the job is in progress in this process.",
		}, job),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pophealth_job_last_success_timestamp_seconds",
			Help: "Unix time at which the job's last successful run in this process ended.",
		}, job),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pophealth_job_queue_length",
			Help: "Runs waiting in this scheduler's queue.",
		}),
	}
	for _, c := range []prometheus.Collector{m.runs, m.duration, m.records, m.failures, m.queueLag, m.running, m.lastSuccess, m.queued} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) recorded(r Run) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(r.Job, r.Kind, string(r.Status)).Inc()
	if !r.Status.Finished() {
		return
	}
	m.duration.WithLabelValues(r.Job, r.Kind).Observe(r.Seconds())
	if r.Status == Succeeded {
		m.records.WithLabelValues(r.Job, r.Kind, "in").Add(float64(r.RecordsIn))
		m.records.WithLabelValues(r.Job, r.Kind, "out").Add(float64(r.RecordsOut))
		m.lastSuccess.WithLabelValues(r.Job, r.Kind).Set(float64(r.End.Unix()))
	}
}

func (m *Metrics) started(j *Spec, lag time.Duration) {
	if m == nil {
		return
	}
	m.running.WithLabelValues(j.Name, j.Kind).Set(1)
	m.queueLag.WithLabelValues(j.Name, j.Kind).Observe(max(lag, 0).Seconds())
}

func (m *Metrics) stopped(j *Spec) {
	if m == nil {
		return
	}
	m.running.WithLabelValues(j.Name, j.Kind).Set(0)
}

func (m *Metrics) attemptFailed(j *Spec) {
	if m == nil {
		return
	}
	m.failures.WithLabelValues(j.Name, j.Kind).Inc()
}

func (m *Metrics) queueLength(n int) {
	if m == nil {
		return
	}
	m.queued.Set(float64(n))
}
