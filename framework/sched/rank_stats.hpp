// sched/rank_stats.hpp: what rank 0 has measured of each rank's speed in a phase, as the adaptive techniques read it.
#pragma once

#include <cstddef>
#include <vector>

namespace pel::sched {

/// One rank's measurements, built from its reports. A report covers the items done since the rank's previous request
/// (a chunk, or part of one with prefetch): pel measures per report, not per item, to keep a worker's per-item path
/// free of bookkeeping. A "unit" is an item, or with a cost profile an expected second of work.
struct RankMeasure {
    double units = 0;   ///< units reported done
    double busy_s = 0;  ///< kernel thread-seconds for them
    int reports = 0;    ///< reports with items in them
    /// Sum over reports of busy^2 / units: with `units` and `busy_s`, the spread of the per-report means.
    double busy_sq_per_unit = 0;
    double ranked_busy_s = 0;         ///< sum of j x busy of report j (j = 1, 2, ...): recent reports weigh more
    double ranked_units = 0;          ///< sum of j x units of report j
    double ranked_elapsed_s = 0;      ///< sum of j x wall seconds since the rank's previous report (j counts from 1)
    double ranked_elapsed_units = 0;  ///< sum of j x units of the reports counted in ranked_elapsed_s
    int elapsed_reports = 0;          ///< reports with a measured wall time (all but the first)
    double last_report_at = -1;       ///< rank 0's clock at the previous report; < 0: none yet

    /// Mean kernel time per unit, 0 until measured.
    [[nodiscard]] double mean() const { return units > 0 ? busy_s / units : 0; }
    /// The variance of one unit's kernel time, estimated from the per-report means: a mean over n units varies by
    /// sigma^2 / n, so sigma^2 = sum_k n_k (m_k - mu)^2 / (K - 1) = (sum_k t_k^2 / n_k - mu T) / (K - 1). 0 with
    /// fewer than two reports (as DLS4LB's AF takes sigma = 0 from a single item).
    [[nodiscard]] double variance() const;
    /// Units per second of kernel time by the report-weighted means of AWF-B and AWF-C (Carino & Banicescu 2008:
    /// the time of chunk j counts j times), 0 until measured.
    [[nodiscard]] double ranked_rate() const { return ranked_busy_s > 0 ? ranked_units / ranked_busy_s : 0; }
    /// The same from the wall time between reports, scheduling overhead and waiting included (AWF-D and AWF-E).
    [[nodiscard]] double ranked_elapsed_rate() const {
        return ranked_elapsed_s > 0 ? ranked_elapsed_units / ranked_elapsed_s : 0;
    }
};

/// Sums over the measured ranks of one per-rank figure, kept current report by report so that reading them costs
/// the same at any rank count.
struct RankSum {
    double sum = 0;
    int measured = 0;  ///< ranks whose figure is above 0
    /// Replaces one rank's figure `before` by `after`.
    void replace(double before, double after) {
        sum += after - before;
        measured += (after > 0 ? 1 : 0) - (before > 0 ? 1 : 0);
    }
    /// `value` over the mean of the measured figures, in [0.05, 20]; 1 when `value` or the mean is not measured.
    [[nodiscard]] double relative(double value) const;
};

/// Every rank's measurements in one phase.
class RankStats {
  public:
    explicit RankStats(int ranks) : ranks_(static_cast<std::size_t>(ranks)) {}
    /// Records that `rank` did `units` in `busy_s` thread-seconds, reported at rank 0's time `now` (< 0: unknown).
    void add(int rank, double units, double busy_s, double now);
    [[nodiscard]] const RankMeasure& of(int rank) const { return ranks_[static_cast<std::size_t>(rank)]; }
    [[nodiscard]] int ranks() const noexcept { return static_cast<int>(ranks_.size()); }
    /// The ranks' measures pooled: every report of every rank (FSC's sigma before any rank knows its own).
    [[nodiscard]] const RankMeasure& pooled() const noexcept { return pooled_; }
    /// AWF-B/C's weight of `rank`: its report-weighted rate over the mean of the measured ranks' (1 unmeasured).
    [[nodiscard]] double ranked_weight(int rank) const { return ranked_rates_.relative(of(rank).ranked_rate()); }
    /// AWF-D/E's weight of `rank`: the same from wall time between reports.
    [[nodiscard]] double elapsed_weight(int rank) const {
        return elapsed_rates_.relative(of(rank).ranked_elapsed_rate());
    }
    /// AF's sums over the ranks measured: D = sum sigma_i^2 / mu_i and sum 1 / mu_i (Banicescu & Liu 2000).
    [[nodiscard]] const RankSum& af_d() const noexcept { return af_d_; }
    [[nodiscard]] const RankSum& af_inverse_mean() const noexcept { return af_inverse_mean_; }

  private:
    std::vector<RankMeasure> ranks_;
    RankMeasure pooled_;
    RankSum ranked_rates_;
    RankSum elapsed_rates_;
    RankSum af_d_;
    RankSum af_inverse_mean_;
};

}  // namespace pel::sched
