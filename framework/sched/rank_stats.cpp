// sched/rank_stats.cpp: per-rank measurements for the adaptive techniques (see rank_stats.hpp).
#include "sched/rank_stats.hpp"

#include <algorithm>

namespace pel::sched {

double RankMeasure::variance() const {
    if (reports < 2 || units <= 0) return 0;
    const double spread = busy_sq_per_unit - mean() * busy_s;
    return std::max(spread, 0.0) / (reports - 1);
}

double RankSum::relative(double value) const {
    // Normalising to a mean of 1 over the measured ranks is DLS4LB's normalisation (weights summing to P) applied to
    // the ranks that have a figure, the others counting as average until they report.
    if (value <= 0 || measured == 0 || sum <= 0) return 1.0;
    return std::clamp(value * measured / sum, 0.05, 20.0);
}

namespace {

/// Adds one report to `m`; `now` < 0: the wall time is unknown.
void add_report(RankMeasure& m, double units, double busy_s, double now) {
    const double j = m.reports + 1;
    m.units += units;
    m.busy_s += busy_s;
    m.busy_sq_per_unit += busy_s * busy_s / units;
    m.ranked_busy_s += j * busy_s;
    m.ranked_units += j * units;
    ++m.reports;
    if (now < 0) return;
    // The first report has no previous one to measure from: its wall time is unknown, and left out.
    if (m.last_report_at >= 0 && now > m.last_report_at) {
        const double k = m.elapsed_reports + 1;
        m.ranked_elapsed_s += k * (now - m.last_report_at);
        m.ranked_elapsed_units += k * units;
        ++m.elapsed_reports;
    }
    m.last_report_at = now;
}

/// AF's terms of one rank: sigma^2 / mu and 1 / mu, 0 until measured.
double af_d_term(const RankMeasure& m) { return m.mean() > 0 ? m.variance() / m.mean() : 0; }
double af_inverse_term(const RankMeasure& m) { return m.mean() > 0 ? 1 / m.mean() : 0; }

}  // namespace

void RankStats::add(int rank, double units, double busy_s, double now) {
    if (rank < 0 || static_cast<std::size_t>(rank) >= ranks_.size() || !(units > 0) || !(busy_s >= 0)) return;
    RankMeasure& m = ranks_[static_cast<std::size_t>(rank)];
    const RankMeasure before = m;
    add_report(m, units, busy_s, now);
    add_report(pooled_, units, busy_s, -1);
    ranked_rates_.replace(before.ranked_rate(), m.ranked_rate());
    elapsed_rates_.replace(before.ranked_elapsed_rate(), m.ranked_elapsed_rate());
    af_d_.replace(af_d_term(before), af_d_term(m));
    af_inverse_mean_.replace(af_inverse_term(before), af_inverse_term(m));
}

}  // namespace pel::sched
