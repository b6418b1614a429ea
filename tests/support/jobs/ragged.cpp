// tests/support/jobs/ragged.cpp: a test job with ragged item outputs. In phase p, item i appends
// Rng(seed, i, p) % (max-values + 1) values to `divisors` (i64: item * 1000 + k + p, several appends per item) and
// its count to `sizes` (f32: one append); a fixed `count` output holds the same count, for comparing against the
// offsets. --spin-us makes items slow enough for checkpoints mid-phase; every phase rewrites both outputs.
// --stop-one-in N: item i asks to end its phase (Context::request_stop) when Rng(seed, i, 99) % N == 0 and i is at
// least --stop-from, so the first item that asks does not depend on the layout.
#include <chrono>
#include <cstdint>
#include <string>

#include <pel/plugin.hpp>

namespace {

struct Count {
    std::uint64_t values = 0;  ///< values appended, over the phase's items
    void merge(const Count& o) { values += o.values; }
    template <class A>
    void fields(A& a) {
        a("values", values);
    }
};

class Ragged final : public pel::Job<Count> {
  public:
    void declare_options(pel::Options& o) override {
        o.add("items", items_, "number of items").min(0);
        o.add("phases", phases_, "number of phases").range(1, 100);
        o.add("max-values", max_values_, "at most this many values per item").range(0, 1000);
        o.add("seed", seed_, "seed of the counts");
        o.add("spin-us", spin_us_, "microseconds each item spins").range(0, 1e6);
        o.add("stop-one-in", stop_one_in_, "about one item in this many asks to stop (0: none)").min(0);
        o.add("stop-from", stop_from_, "no item below this asks to stop").min(0);
    }
    void setup(pel::SetupContext& ctx) override {
        const auto n = static_cast<std::uint64_t>(items_);
        values_ = ctx.ragged_output<std::int64_t>("divisors", n, "item * 1000 + k + phase, for k below its count");
        sizes_ = ctx.ragged_output<float>("sizes", n);
        count_ = ctx.item_output<std::uint32_t>("count", n, 1, "values appended to the item's row");
        ctx.result_attribute("total_values");
    }
    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override {
        if (phase_ >= phases_) return std::nullopt;
        return pel::Phase{"phase " + std::to_string(phase_), static_cast<std::uint64_t>(items_)};
    }
    void process(pel::ItemRange items, Count& c, pel::ItemSink& out, const pel::Context& ctx) const override {
        const auto p = static_cast<std::uint64_t>(ctx.phase());
        for (auto i = items.begin; i < items.end; ++i) {
            const std::uint64_t n =
                pel::Rng(static_cast<std::uint64_t>(seed_), i, static_cast<std::uint32_t>(p)).next_u64() %
                static_cast<std::uint64_t>(max_values_ + 1);
            // Two appends, of the first half and the rest, to check that appends to an item keep their order.
            std::vector<std::int64_t> values;
            for (std::uint64_t k = 0; k < n; ++k) values.push_back(static_cast<std::int64_t>(i * 1000 + k + p));
            const std::span<const std::int64_t> all(values);
            out.append(values_, i, all.first(n / 2));
            out.append(values_, i, all.subspan(n / 2));
            if (n > 0) out.append(sizes_, i, static_cast<float>(n));
            out.row(count_, i)[0] = static_cast<std::uint32_t>(n);
            c.values += n;
            if (stop_one_in_ > 0 && i >= static_cast<std::uint64_t>(stop_from_) &&
                pel::Rng(static_cast<std::uint64_t>(seed_), i, 99).next_u64() %
                        static_cast<std::uint64_t>(stop_one_in_) ==
                    0) {
                ctx.request_stop(i);
                return;  // the items after it are not needed
            }
            const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double, std::micro>(spin_us_);
            while (spin_us_ > 0 && std::chrono::steady_clock::now() < until) {
            }
        }
    }
    void end_phase(const Count& total, const pel::Context& /*ctx*/) override {
        total_ = total.values;
        ++phase_;
    }
    void write_results(pel::ResultSink& sink, const pel::Context& /*ctx*/) const override {
        sink.attribute("total_values", total_);
    }
    void save_state(pel::OutArchive& out) const override { out(phase_)(total_); }
    void load_state(pel::InArchive& in) override { in(phase_)(total_); }

  private:
    std::int64_t items_ = 1000;
    std::int64_t phases_ = 1;
    std::int64_t max_values_ = 5;
    std::int64_t seed_ = 7;
    double spin_us_ = 0;
    std::int64_t stop_one_in_ = 0;
    std::int64_t stop_from_ = 0;
    std::int64_t phase_ = 0;
    std::uint64_t total_ = 0;
    pel::RaggedColumn<std::int64_t> values_;
    pel::RaggedColumn<float> sizes_;
    pel::ItemColumn<std::uint32_t> count_;
};

}  // namespace

PEL_JOB(Ragged, "ragged", "0", "test job: ragged item outputs")
