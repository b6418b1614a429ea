// sched/policy.hpp: chunk-size techniques and the chunk dispenser rank 0 runs for a phase.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pel/types.hpp"
#include "sched/cost_profile.hpp"
#include "sched/rank_stats.hpp"

namespace pel::sched {

/// How chunk sizes are chosen. Each technique's formula is in Dispenser::chunk_size (policy.cpp).
enum class Technique {
    static_block,  ///< one contiguous block per rank (the baseline)
    ss,            ///< self-scheduling: every chunk has --chunk-size items
    gss,           ///< guided self-scheduling: remaining / ranks
    tss,           ///< trapezoid self-scheduling: sizes fall linearly from N / 2P to --chunk-size
    fac2,          ///< factoring: batches of P equal chunks, each batch half of what remains
    awf,           ///< adaptive weighted factoring: fac2 with each rank's chunks scaled by its measured speed
    fsc,           ///< fixed size chunking: one size from N, P, the chunk overhead and the spread of item times
    mfsc,          ///< modified fsc: one size giving as many chunks as fac2
    wf,            ///< weighted factoring: fac2 with each rank's chunks scaled by a fixed weight
    awf_b,         ///< awf by batch: fac2's batches, weights from report-weighted kernel time
    awf_c,         ///< awf by chunk: each chunk weight x remaining / 2P, weights as awf_b
    awf_d,         ///< awf_b with weights from wall time between requests (overhead included)
    awf_e,         ///< awf_c with weights from wall time between requests (overhead included)
    af,            ///< adaptive factoring: chunks from each rank's measured mean and variance of item time
    automatic,     ///< auto: chosen per phase by simulating each technique on measured costs (sched/selection.hpp)
};

/// What auto runs when nothing is known of a phase's costs (and what a Dispenser given auto runs). Chosen by
/// `pel_simulate --schedule all` over ten seeds of pareto and bimodal costs at 16, 64 and 128 ranks (perf/RESULTS.md,
/// "--schedule auto").
constexpr Technique kColdTechnique = Technique::awf_c;

/// Every technique's name, as --schedule takes it.
std::vector<std::string> technique_names();
/// The technique called `name`; throws pel::Error (usage) listing the known names otherwise.
Technique parse_technique(const std::string& name);
std::string technique_name(Technique technique);

/// Settings of a technique.
struct Params {
    Technique technique = Technique::awf;
    std::uint64_t chunk_size = 1;  ///< fixed size (ss), else the smallest chunk
    /// wf: one weight per rank, in rank order (any positive scale: normalised to a mean of 1). Empty: measured, and
    /// fixed at the first batch that starts once every rank has reported.
    std::vector<double> weights = {};
    /// fsc: h, what one chunk costs the run beyond its items (a request, a grant, a worker's per-chunk work).
    /// perf/grant_rate measures 0.6 us over shared memory and 6.2 us over TCP; 10 us stands for a real network.
    double chunk_overhead_s = 10e-6;
};

/// What a rank did since its previous request: the measure adaptive techniques learn from.
struct Report {
    std::uint64_t items = 0;
    double busy_s = 0;  ///< thread-seconds spent in the job's kernel
};

/// Hands out the items [0, items) of one phase in chunks, one request at a time. Every item is granted exactly
/// once. Not thread-safe; rank 0 calls it under its scheduling lock.
class Dispenser {
  public:
    Dispenser(Params params, std::uint64_t items, int ranks);
    /// Hands out only the items of `todo` (sorted, disjoint ranges within [0, items)): the rest of a phase that was
    /// paused for a checkpoint or resumed from one. Techniques size chunks by what is left to do; static gives each
    /// rank the part of its block that is still to do, possibly as several chunks.
    Dispenser(Params params, std::uint64_t items, int ranks, std::vector<ItemRange> todo);

    /// Uses measured costs of this phase's items. gss, tss, fac2, awf and static then aim at a share of the remaining
    /// cost instead of the remaining count (ss stays a fixed count), and every technique but static hands out the
    /// costliest items first: each item (bin) costing more than kHeavyShare of a rank's share of the total becomes a
    /// chunk of its own, granted in order of falling cost before the rest, so that no long item starts late (the
    /// longest-processing-time-first rule). Call before the first next().
    void set_profile(CostProfile profile);
    /// An item is "heavy", and goes first, if it costs more than this fraction of total cost / ranks.
    static constexpr double kHeavyShare = 1.0 / 32;
    /// Records what `rank` did since its last report, at rank 0's time `now` (seconds, any origin; < 0: unknown).
    /// Used by the adaptive techniques; harmless for the others.
    void report(int rank, const Report& work, double now = -1);
    /// The next chunk for `rank`, or nothing when that rank gets no more work in this phase.
    std::optional<ItemRange> next(int rank);
    /// Items not yet granted.
    [[nodiscard]] std::uint64_t remaining() const noexcept { return items_ - granted_; }
    /// True once set_profile() took a profile: expected costs are known.
    [[nodiscard]] bool has_profile() const noexcept { return !profile_.empty(); }
    /// The expected cost (thread-seconds) of `range` by the profile; 0 without one.
    [[nodiscard]] double expected_cost(ItemRange range) const {
        return profile_.empty() ? 0 : profile_.cumulative(range.end) - profile_.cumulative(range.begin);
    }
    /// The expected cost of the items to do that are not yet granted; 0 without a profile.
    [[nodiscard]] double remaining_cost() const noexcept { return std::max(todo_cost_ - granted_cost_, 0.0); }
    /// The item ranges in the order they are granted: [0, items) without a profile.
    [[nodiscard]] const std::vector<ItemRange>& order() const noexcept { return order_; }
    /// The weight awf gives `rank`'s chunks: its speed relative to the mean of the ranks measured so far (1 when
    /// nothing is measured).
    [[nodiscard]] double weight(int rank) const;

  private:
    /// The size of the next chunk for `rank` (before clamping to what remains).
    std::uint64_t chunk_size(int rank);
    /// fsc, mfsc, wf, awf_b..e, af: the size of the next chunk in units (items, or with a profile expected seconds),
    /// given `left` units not yet granted; the caller turns units into items.
    double factoring_units(int rank, double left);
    /// fsc: the fixed chunk in units, once the spread of item times is known (0 before).
    double fsc_units();
    /// wf: the weight of `rank`: given, measured and fixed, or 1 until every rank is measured.
    [[nodiscard]] double wf_weight(int rank) const;
    /// static: cuts each rank's block and keeps the parts still to do.
    void cut_static_blocks();
    /// Rank r's speed from what it reported: work done per busy second, 0 until measured.
    [[nodiscard]] double measure_rate(std::size_t r) const;

    Params params_;
    std::uint64_t items_;
    int ranks_;
    std::vector<ItemRange> order_;  ///< what is granted, in order: chunks never cross from one range to the next
    std::size_t segment_ = 0;       ///< the range of order_ being granted
    std::uint64_t next_ = 0;        ///< the next item to grant, in order_[segment_]
    std::uint64_t granted_ = 0;     ///< items granted so far
    double granted_cost_ = 0;       ///< their expected cost (with a profile)
    double todo_cost_ = 0;          ///< the expected cost of todo_ (with a profile)
    std::vector<ItemRange> todo_;   ///< what this dispenser hands out, in item order
    std::vector<std::vector<ItemRange>> static_left_;  ///< static: per rank, its chunks not yet granted
    bool static_cut_ = false;                          ///< static: static_left_ is filled
    bool started_ = false;                             ///< next() was called
    double tss_size_ = 0;                              ///< tss: size of the next chunk
    double tss_step_ = 0;                              ///< tss: how much each chunk shrinks
    std::uint64_t batch_size_ = 0;                     ///< fac2, awf: the current batch's chunk size (before weighting)
    int batch_left_ = 0;                               ///< fac2, awf: chunks left in the current batch
    std::vector<std::uint64_t> items_done_;            ///< awf: per rank
    std::vector<double> busy_s_;                       ///< awf: per rank
    std::vector<std::uint64_t> items_given_;           ///< awf with a profile: items granted per rank
    std::vector<double> cost_given_;                   ///< awf with a profile: their expected cost
    std::vector<double> rate_;                         ///< awf: per rank, as of its last report
    double rate_sum_ = 0;                              ///< awf: sum of the measured ranks' rates
    int measured_ = 0;                                 ///< awf: ranks with a measured rate
    CostProfile profile_;                              ///< empty: every item counts alike
    double batch_cost_ = 0;                            ///< fac2, awf with a profile: the current batch's chunk cost
    RankStats stats_;                                  ///< fsc, wf, awf_b..e, af: what each rank reported
    std::uint64_t todo_items_ = 0;                     ///< items to do at the start
    double todo_units_ = 0;                            ///< the same in units (with a profile: their expected cost)
    double fixed_units_ = 0;                           ///< fsc, mfsc: the chunk size in units, once known
    double batch_units_ = 0;                           ///< wf, awf_b, awf_d: the current batch's chunk in units
    std::vector<double> wf_weights_;                   ///< wf: the weights in force (given, or fixed when measured)
};

}  // namespace pel::sched
