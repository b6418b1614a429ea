// jobs/synthetic: items whose cost is drawn from a named distribution, for testing and benchmarking the scheduler.
// Item i's cost and result come only from pel::Rng(seed, i), so they are the same on any ranks x threads x chunks;
// the checksums in the results show a lost or doubled item.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>

#include <pel/exact_sum.hpp>
#include <pel/plugin.hpp>
#include <pel/random.hpp>

#include "costs.hpp"
#include "cpu_work.hpp"

namespace {

using pel::synthetic::calibrate_cpu_work;
using pel::synthetic::cpu_work;
using pel::synthetic::Distribution;

/// What the items of a phase add up to. Every field merges exactly and in any order.
struct Totals {
    std::uint64_t items = 0;       ///< items processed
    std::uint64_t result_sum = 0;  ///< sum of the items' results, mod 2^64
    std::uint64_t result_xor = 0;  ///< xor of the items' results
    pel::ExactSum cost_us;         ///< sum of the drawn costs
    double max_cost_us = 0;        ///< largest drawn cost (costs are >= 0)

    void merge(const Totals& other) {
        items += other.items;
        result_sum += other.result_sum;
        result_xor ^= other.result_xor;
        cost_us.merge(other.cost_us);
        max_cost_us = std::max(max_cost_us, other.max_cost_us);
    }
    template <class A>
    void fields(A& a) {
        a("items", items)("result_sum", result_sum)("result_xor", result_xor);
        a("cost_us", cost_us)("max_cost_us", max_cost_us);
    }
};

class Synthetic final : public pel::Job<Totals> {
  public:
    void declare_options(pel::Options& o) override {
        o.add("items", items_, "number of items").range(0, 1e12);
        o.add("distribution", distribution_, "how item costs are distributed")
            .choices({"uniform", "normal", "bimodal", "pareto"});
        o.add("mean-us", mean_us_, "mean item cost in microseconds").range(0, 1e9);
        o.add("mode", mode_,
              "spin: busy-wait for the cost; sleep: sleep for it; work: compute for it (a fixed amount of CPU work, "
              "calibrated once per process: an item on a shared core takes longer)")
            .choices({"spin", "sleep", "work"});
        o.add("seed", seed_, "seed of the item costs and results");
        o.add("slow-rank", slow_rank_, "this rank's items take --slow-factor times their cost (-1: none)").min(-1);
        o.add("slow-factor", slow_factor_, "how much slower --slow-rank is").range(0, 1e6);
        o.add("fail-every", fail_every_,
              "item i throws when (i + 1) is a multiple of this (0: never; for testing "
              "--max-retries and --on-error)")
            .min(0);
        o.add("fail-rank", fail_rank_, "--fail-every items throw only on this rank (-1: on every rank)").min(-1);
    }

    void setup(pel::SetupContext& ctx) override {
        ctx.total_on_every_rank();  // end_phase checks the item count on every rank
        kind_ = pel::synthetic::distribution_named(distribution_).value_or(Distribution::uniform);
        spend_ = mode_ == "sleep" ? Spend::sleep : mode_ == "work" ? Spend::work : Spend::spin;
        if (spend_ == Spend::work) {
            // Once per process: every item's work is a number of steps, so a rank's items cost the same however its
            // core is shared later. Outputs hold the drawn cost, never the constant, so they do not depend on it.
            steps_per_us_ = calibrate_cpu_work();
            ctx.log("synthetic: --mode work calibrated at " + std::to_string(steps_per_us_) + " steps per us");
        }
        const auto n = static_cast<std::uint64_t>(items_);
        cost_column_ = ctx.item_output<double>("cost_us", n, 1, "drawn cost of each item in microseconds");
        result_column_ = ctx.item_output<std::uint64_t>("result", n, 1, "result of each item: Rng(seed, item, 1)");
        for (const char* name : {"items_processed", "checksum_sum", "checksum_xor", "total_cost_us", "max_cost_us"}) {
            ctx.result_attribute(name);
        }
    }

    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override {
        if (done_) return std::nullopt;
        return pel::Phase{"items", static_cast<std::uint64_t>(items_)};
    }

    void process(pel::ItemRange items, Totals& totals, pel::ItemSink& out, const pel::Context& ctx) const override {
        const auto seed = static_cast<std::uint64_t>(seed_);
        // A slowed rank spends longer on the same items; what the items compute does not change.
        const double slowdown = ctx.rank() == slow_rank_ ? slow_factor_ : 1.0;
        for (std::uint64_t i = items.begin; i < items.end; ++i) {
            if (fail_every_ > 0 && (i + 1) % static_cast<std::uint64_t>(fail_every_) == 0 &&
                (fail_rank_ < 0 || ctx.rank() == fail_rank_)) {
                throw std::runtime_error("synthetic: item " + std::to_string(i) + " fails (--fail-every)");
            }
            const double cost = cost_us(i);
            const std::uint64_t result = pel::Rng(seed, i, 1).next_u64();
            if (cost > 0) spend(cost * slowdown);
            out.row(cost_column_, i)[0] = cost;
            out.row(result_column_, i)[0] = result;
            ++totals.items;
            totals.result_sum += result;
            totals.result_xor ^= result;
            totals.cost_us.add(cost);
            totals.max_cost_us = std::max(totals.max_cost_us, cost);
        }
    }

    void end_phase(const Totals& total, const pel::Context& /*ctx*/) override {
        // Items that fail on every rank can only have been skipped (--on-error skip): the rest must all count once.
        auto expected = static_cast<std::uint64_t>(items_);
        if (fail_every_ > 0 && fail_rank_ < 0) expected -= expected / static_cast<std::uint64_t>(fail_every_);
        if (total.items != expected) {
            throw pel::Error::Failure("synthetic: " + std::to_string(total.items) + " items were processed, expected " +
                                      std::to_string(expected) + " (an item was lost or counted twice)");
        }
        total_ = total;
        done_ = true;
    }

    void write_results(pel::ResultSink& sink, const pel::Context& /*ctx*/) const override {
        sink.attribute("items_processed", total_.items);
        sink.attribute("checksum_sum", total_.result_sum);
        sink.attribute("checksum_xor", total_.result_xor);
        sink.attribute("total_cost_us", total_.cost_us.value());
        sink.attribute("max_cost_us", total_.max_cost_us);
    }

    void save_state(pel::OutArchive& out) const override { out(done_)(total_); }
    void load_state(pel::InArchive& in) override { in(done_)(total_); }

  private:
    enum class Spend { spin, sleep, work };

    /// Spends `us` microseconds as --mode says.
    void spend(double us) const {
        const std::chrono::duration<double, std::micro> wait(us);
        switch (spend_) {
            case Spend::sleep:
                std::this_thread::sleep_for(wait);
                return;
            case Spend::work:
                cpu_work(static_cast<std::uint64_t>(us * steps_per_us_ + 0.5));
                return;
            case Spend::spin: {
                const auto until = std::chrono::steady_clock::now() +
                                   std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait);
                while (std::chrono::steady_clock::now() < until) {
                }
                return;
            }
        }
    }

    /// The cost of item `i` in microseconds (see costs.hpp).
    [[nodiscard]] double cost_us(std::uint64_t i) const {
        return pel::synthetic::cost_us(kind_, mean_us_, static_cast<std::uint64_t>(seed_), i);
    }

    std::int64_t items_ = 10000;
    std::string distribution_ = "uniform";
    double mean_us_ = 100;
    std::string mode_ = "spin";
    std::int64_t seed_ = 1;
    std::int64_t slow_rank_ = -1;
    double slow_factor_ = 1;
    std::int64_t fail_every_ = 0;
    std::int64_t fail_rank_ = -1;

    Distribution kind_ = Distribution::uniform;
    Spend spend_ = Spend::spin;
    double steps_per_us_ = 0;  ///< --mode work: cpu_work steps per microsecond, calibrated in setup
    pel::ItemColumn<double> cost_column_;
    pel::ItemColumn<std::uint64_t> result_column_;

    bool done_ = false;
    Totals total_;
};

}  // namespace

PEL_JOB(Synthetic, "synthetic", "1.0",
        "items with costs drawn from a distribution (uniform, normal, bimodal, pareto); spins, sleeps or computes")
