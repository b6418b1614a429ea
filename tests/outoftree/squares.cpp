// squares: a job written against the documented API only. Sums i^2 (exactly) and stores each item's square root.
#include <cmath>

#include <pel/exact_sum.hpp>
#include <pel/plugin.hpp>

namespace {

struct Sums {
    std::uint64_t squares = 0;
    pel::ExactSum roots;
    void merge(const Sums& o) {
        squares += o.squares;
        roots.merge(o.roots);
    }
    template <class A>
    void fields(A& a) {
        a(squares)(roots);
    }
};

class Squares final : public pel::Job<Sums> {
  public:
    void declare_options(pel::Options& o) override { o.add("n", n_, "how many integers").min(1); }
    void setup(pel::SetupContext& ctx) override {
        roots_ = ctx.item_output<double>("roots", static_cast<std::uint64_t>(n_));
    }
    std::optional<pel::Phase> next_phase(const pel::Context&) override {
        if (done_) return std::nullopt;
        return pel::Phase{"squares", static_cast<std::uint64_t>(n_)};
    }
    void process(pel::ItemRange items, Sums& s, pel::ItemSink& out, const pel::Context&) const override {
        for (auto i = items.begin; i < items.end; ++i) {
            s.squares += i * i;
            const double r = std::sqrt(static_cast<double>(i));
            s.roots.add(r);
            out.row(roots_, i)[0] = r;
        }
    }
    void end_phase(const Sums& total, const pel::Context&) override {
        total_ = total.squares;
        roots_total_ = total.roots.value();
        done_ = true;
    }
    void write_results(pel::ResultSink& sink, const pel::Context&) const override {
        sink.attribute("sum_of_squares", total_);
        sink.attribute("sum_of_roots", roots_total_);
    }

  private:
    std::int64_t n_ = 1000;
    pel::ItemColumn<double> roots_;
    bool done_ = false;
    std::uint64_t total_ = 0;
    double roots_total_ = 0;
};

}  // namespace

PEL_JOB(Squares, "squares", "1.0", "sum of squares, written out of tree")
