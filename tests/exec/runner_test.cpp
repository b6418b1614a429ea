// tests/exec/runner_test.cpp: a run processes every item exactly once on any layout, partials combine to the
// same bits, per-item rows land in place, and a kernel's exception stops every rank with the item range named.
#include "exec/runner.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <omp.h>
#include <stdexcept>
#include <thread>

#include "exec/signals.hpp"
#include "io/arrays.hpp"
#include "io/checkpoint_dir.hpp"
#include "pel/exact_sum.hpp"
#include "pel/random.hpp"
#include "support/scratch.hpp"

using pel::ItemRange;

namespace {

struct Tally {
    std::uint64_t count = 0;
    std::uint64_t mixed = 0;  // sum of a hash of every item: a lost or doubled item changes it
    pel::ExactSum sum;
    void merge(const Tally& o) {
        count += o.count;
        mixed += o.mixed;
        sum.merge(o.sum);
    }
    template <class A>
    void fields(A& a) {
        a(count)(mixed)(sum);
    }
};

/// Phase k has items(k) items; phase 0 also writes a row [item * 7 + 1, item % 5] per item.
class TallyJob final : public pel::Job<Tally> {
  public:
    TallyJob(std::uint64_t items, int phases, bool jitter, bool everywhere = true)
        : items_(items), phases_(phases), jitter_(jitter), everywhere_(everywhere) {}

    void setup(pel::SetupContext& ctx) override {
        if (everywhere_) ctx.total_on_every_rank();  // the tests compare every rank's totals
        rows_ = ctx.item_output<std::uint64_t>("rows", items_, 2);
    }

    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override {
        if (static_cast<int>(totals.size()) == phases_) return std::nullopt;
        return pel::Phase{"phase " + std::to_string(totals.size()), items_for(static_cast<int>(totals.size()))};
    }

    void process(ItemRange items, Tally& t, pel::ItemSink& out, const pel::Context& ctx) const override {
        for (std::uint64_t i = items.begin; i < items.end; ++i) {
            pel::Rng rng(99, i, static_cast<std::uint32_t>(ctx.phase()));
            if (jitter_ && pel::Rng(5, i).uniform() < 0.05) std::this_thread::sleep_for(std::chrono::microseconds(200));
            ++t.count;
            t.mixed += rng.next_u64();
            t.sum.add(std::sin(static_cast<double>(i)) * std::pow(10.0, static_cast<double>(i % 40) - 20.0));
            if (ctx.phase() == 0) {
                const auto row = out.row(rows_, i);
                row[0] = i * 7 + 1;
                row[1] = i % 5;
            }
        }
    }

    void end_phase(const Tally& total, const pel::Context& /*ctx*/) override { totals.push_back(total); }
    void save_state(pel::OutArchive& out) const override { out(totals); }
    void load_state(pel::InArchive& in) override { in(totals); }

    [[nodiscard]] std::uint64_t items_for(int phase) const {
        return phase == 0 ? items_ : items_ / 2 + 3 * static_cast<std::uint64_t>(phase);
    }

    std::vector<Tally> totals;

  private:
    std::uint64_t items_;
    int phases_;
    bool jitter_;
    bool everywhere_;
    pel::ItemColumn<std::uint64_t> rows_;
};

std::uint64_t expected_mixed(std::uint64_t items, int phase) {
    std::uint64_t m = 0;
    for (std::uint64_t i = 0; i < items; ++i) m += pel::Rng(99, i, static_cast<std::uint32_t>(phase)).next_u64();
    return m;
}

struct Layout {
    int threads;
    pel::sched::Technique technique;
    std::uint64_t chunk;
    double checkpoint_every = 0;  ///< > 0: the phases pause for a checkpoint this often
};

pel::exec::Checkpointer checkpointer(const pel::mpi::Comm& comm, const std::string& path, double every,
                                     const pel::exec::Log& log, bool resume = false) {
    pel::exec::CheckpointSettings settings;
    settings.dir = path + ".ckpt";
    settings.every_s = every;
    settings.at_phase_end = every > 0;
    settings.resume = resume;
    return {comm, settings, {"tally", "1", "items = 1000\n"}, log};
}

std::vector<Tally> run_tally(const pel::mpi::Comm& comm, const std::string& path, const Layout& layout,
                             std::uint64_t items, bool jitter, bool everywhere = true) {
    TallyJob job(items, 3, jitter, everywhere);
    pel::io::ResultsFile out(comm, path);
    const pel::exec::Log log(comm.rank(), false);
    pel::exec::RunConfig config;
    config.job_name = "tally";
    config.threads = layout.threads;
    config.schedule = {layout.technique, layout.chunk};
    auto checkpoints = checkpointer(comm, path, layout.checkpoint_every, log);
    const auto summary = pel::exec::run(job, comm, out, config, log, checkpoints);
    out.commit();
    CHECK(summary.phases == 3);
    std::uint64_t processed = 0;
    for (const auto& r : summary.ranks) processed += r.items;
    CHECK(processed == job.items_for(0) + job.items_for(1) + job.items_for(2));
    return job.totals;
}

}  // namespace

TEST_CASE("a phase's total reaches rank 0 only, unless the job asks for it on every rank", "[exec]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    const std::uint64_t items = 600;
    for (const bool everywhere : {false, true}) {
        const auto totals = run_tally(comm, dir.file(everywhere ? "all.h5" : "root.h5"),
                                      {2, pel::sched::Technique::gss, 1}, items, false, everywhere);
        REQUIRE(totals.size() == 3);
        for (int k = 0; k < 3; ++k) {
            const std::uint64_t n = k == 0 ? items : items / 2 + 3 * static_cast<std::uint64_t>(k);
            const bool has_total = everywhere || comm.rank() == 0;
            CHECK(totals[static_cast<std::size_t>(k)].count == (has_total ? n : 0));
            CHECK(totals[static_cast<std::size_t>(k)].mixed == (has_total ? expected_mixed(n, k) : 0));
        }
    }
}

TEST_CASE("every item of every phase is processed once, with the same totals on any layout", "[exec]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    using pel::sched::Technique;
    const std::uint64_t items = 1000;
    const std::vector<Layout> layouts{{1, Technique::ss, 1},
                                      {3, Technique::ss, 1},
                                      {2, Technique::ss, 7},
                                      {4, Technique::gss, 1},
                                      {1, Technique::static_block, 1},
                                      {3, Technique::gss, 50},
                                      {2, Technique::awf, 1, 0.0005},  // many pauses and checkpoints mid-phase
                                      {1, Technique::static_block, 1, 0.0003}};
    std::vector<Tally> reference;
    for (std::size_t l = 0; l < layouts.size(); ++l) {
        const std::string path = dir.file("tally" + std::to_string(l) + ".h5");
        const auto totals = run_tally(comm, path, layouts[l], items, /*jitter=*/l % 2 == 1);
        REQUIRE(totals.size() == 3);
        for (int k = 0; k < 3; ++k) {
            const auto& t = totals[static_cast<std::size_t>(k)];
            const std::uint64_t n = k == 0 ? items : items / 2 + 3 * static_cast<std::uint64_t>(k);
            CHECK(t.count == n);
            CHECK(t.mixed == expected_mixed(n, k));
        }
        if (reference.empty()) {
            reference = totals;
        } else {
            for (int k = 0; k < 3; ++k) {
                const double a = reference[static_cast<std::size_t>(k)].sum.value();
                const double b = totals[static_cast<std::size_t>(k)].sum.value();
                CHECK(std::memcmp(&a, &b, sizeof a) == 0);
            }
        }
        std::vector<std::uint64_t> dims;
        const auto bytes = pel::io::read_array(path, "rows", pel::ScalarType::u64, dims);
        REQUIRE(dims == std::vector<std::uint64_t>{items, 2});
        std::vector<std::uint64_t> rows(bytes.size() / 8);
        std::memcpy(rows.data(), bytes.data(), bytes.size());
        std::uint64_t wrong = 0;
        for (std::uint64_t i = 0; i < items; ++i)
            wrong += (rows[2 * i] != i * 7 + 1 || rows[2 * i + 1] != i % 5) ? 1 : 0;
        CHECK(wrong == 0);
    }
}

namespace {

/// Throws from its kernel on item `bad`.
class FailingJob final : public pel::Job<pel::NoPartial> {
  public:
    explicit FailingJob(std::uint64_t bad) : bad_(bad) {}
    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override {
        if (ran_) return std::nullopt;
        ran_ = true;
        return pel::Phase{"only", 500};
    }
    void process(ItemRange items, pel::NoPartial& /*p*/, pel::ItemSink& /*out*/,
                 const pel::Context& /*ctx*/) const override {
        for (auto i = items.begin; i < items.end; ++i) {
            if (i == bad_) throw std::runtime_error("cannot handle item " + std::to_string(i));
        }
    }

  private:
    std::uint64_t bad_;
    bool ran_ = false;
};

/// Writes a row of an item that is not in its range.
class StrayWriteJob final : public pel::Job<pel::NoPartial> {
  public:
    void setup(pel::SetupContext& ctx) override { col_ = ctx.item_output<std::int32_t>("c", 100); }
    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override {
        if (ran_) return std::nullopt;
        ran_ = true;
        return pel::Phase{"only", 100};
    }
    void process(ItemRange items, pel::NoPartial& /*p*/, pel::ItemSink& out,
                 const pel::Context& /*ctx*/) const override {
        out.row(col_, items.end)[0] = 1;
    }

  private:
    pel::ItemColumn<std::int32_t> col_;
    bool ran_ = false;
};

void expect_failure(pel::JobBase& job, const std::string& path, const std::vector<std::string>& fragments) {
    const pel::mpi::Comm comm;
    const pel::exec::Log log(comm.rank(), false);
    try {
        pel::io::ResultsFile out(comm, path);
        pel::exec::RunConfig config;
        config.job_name = "failing";
        config.threads = 2;
        config.schedule = {pel::sched::Technique::ss, 3};
        auto checkpoints = checkpointer(comm, path, 0, log);
        pel::exec::run(job, comm, out, config, log, checkpoints);
        FAIL("the run did not fail");
    } catch (const pel::mpi::AgreedError& e) {
        CHECK(e.code() == pel::ExitCode::failure);
        for (const auto& f : fragments) CHECK_THAT(e.what(), Catch::Contains(f));
    }
    comm.barrier();
    CHECK_FALSE(std::filesystem::exists(path));
    CHECK_FALSE(std::filesystem::exists(path + ".part"));
}

}  // namespace

TEST_CASE("a kernel's exception stops every rank and names the item range", "[exec]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    FailingJob job(321);
    expect_failure(job, dir.file("fail.h5"), {"cannot handle item 321", "failed on items [", "phase 'only'"});
    // The range named must contain the item.
}

namespace {

/// Its partials cannot be made inside a parallel region: with retries on, every thread makes a scratch partial
/// there, so the error comes from the job's own code on a team thread, outside the kernel.
class FragilePartialJob final : public pel::Job<pel::NoPartial> {
  public:
    pel::NoPartial empty_partial(const pel::Context& /*ctx*/) const override {
        if (omp_in_parallel()) throw std::runtime_error("no partial inside the team");
        return {};
    }
    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override {
        if (ran_) return std::nullopt;
        ran_ = true;
        return pel::Phase{"only", 200};
    }
    void process(ItemRange /*items*/, pel::NoPartial& /*p*/, pel::ItemSink& /*out*/,
                 const pel::Context& /*ctx*/) const override {}

  private:
    bool ran_ = false;
};

}  // namespace

TEST_CASE("an error on a team thread outside the kernel is carried out of the parallel region and agreed", "[exec]") {
    // Before the team caught what its threads threw, this ended the process in std::terminate.
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    const pel::exec::Log log(comm.rank(), false);
    FragilePartialJob job;
    const std::string path = dir.file("fragile.h5");
    try {
        pel::io::ResultsFile out(comm, path);
        pel::exec::RunConfig config;
        config.job_name = "fragile";
        config.threads = 2;
        config.max_retries = 1;
        auto checkpoints = checkpointer(comm, path, 0, log);
        pel::exec::run(job, comm, out, config, log, checkpoints);
        FAIL("the run did not fail");
    } catch (const pel::mpi::AgreedError& e) {
        CHECK(e.code() == pel::ExitCode::failure);
        CHECK_THAT(e.what(), Catch::Contains("no partial inside the team"));
    }
    comm.barrier();
    CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("writing a row outside the given items is an error, not a corruption", "[exec]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    StrayWriteJob job;
    expect_failure(job, dir.file("stray.h5"), {"outside the items it was given"});
}

namespace {

/// A TallyJob whose rank processing item `at` of phase 1 raises SIGUSR1 there, as Slurm or a user would send it.
class SignalledTallyJob final : public pel::Job<Tally> {
  public:
    SignalledTallyJob(std::uint64_t at) : inner_(1000, 3, true), at_(at) {}
    void setup(pel::SetupContext& ctx) override { inner_.setup(ctx); }
    std::optional<pel::Phase> next_phase(const pel::Context& ctx) override { return inner_.next_phase(ctx); }
    void process(ItemRange items, Tally& t, pel::ItemSink& out, const pel::Context& ctx) const override {
        if (ctx.phase() == 1 && items.begin <= at_ && at_ < items.end) std::raise(SIGUSR1);
        inner_.process(items, t, out, ctx);
    }
    void end_phase(const Tally& total, const pel::Context& ctx) override { inner_.end_phase(total, ctx); }
    void save_state(pel::OutArchive& out) const override { inner_.save_state(out); }
    void load_state(pel::InArchive& in) override { inner_.load_state(in); }
    std::vector<Tally>& totals() { return inner_.totals; }

  private:
    TallyJob inner_;
    std::uint64_t at_;
};

}  // namespace

TEST_CASE("a stop signal writes a checkpoint; the resumed run ends with the same totals and rows",
          "[exec][checkpoint]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    const pel::exec::Log log(comm.rank(), false);
    pel::exec::install_stop_signals();
    const std::string path = dir.file("stopped.h5");
    pel::exec::RunConfig config;
    config.job_name = "tally";
    config.threads = 2;
    config.schedule = {pel::sched::Technique::ss, 3};
    {
        SignalledTallyJob job(300);
        pel::io::ResultsFile out(comm, path);
        auto checkpoints = checkpointer(comm, path, 0, log);
        const auto summary = pel::exec::run(job, comm, out, config, log, checkpoints);
        CHECK(summary.stopped_by == SIGUSR1);
        // Phase 0 done; phase 1 interrupted, or done if the signal came as its last items ran.
        CHECK(job.totals().size() >= 1);
        CHECK(job.totals().size() <= 2);
        pel::exec::clear_stop_signal();
        comm.barrier();
    }
    CHECK(pel::io::list_checkpoints(path + ".ckpt").size() == 1);
    // Resume on another layout: the job object is new, its state and phase 1's progress come from the checkpoint.
    config.threads = 1;
    config.schedule = {pel::sched::Technique::gss, 1};
    SignalledTallyJob job(UINT64_MAX);
    pel::io::ResultsFile out(comm, path);
    auto checkpoints = checkpointer(comm, path, 0, log, /*resume=*/true);
    const auto summary = pel::exec::run(job, comm, out, config, log, checkpoints);
    out.commit();
    CHECK(summary.stopped_by == 0);
    CHECK(summary.resumed_from.find("ckpt-") != std::string::npos);
    REQUIRE(job.totals().size() == 3);
    for (int k = 0; k < 3; ++k) {
        const std::uint64_t n = k == 0 ? 1000 : 500 + 3 * static_cast<std::uint64_t>(k);
        CHECK(job.totals()[static_cast<std::size_t>(k)].count == n);
        CHECK(job.totals()[static_cast<std::size_t>(k)].mixed == expected_mixed(n, k));
    }
    std::vector<std::uint64_t> dims;
    const auto bytes = pel::io::read_array(path, "rows", pel::ScalarType::u64, dims);
    std::vector<std::uint64_t> rows(bytes.size() / 8);
    std::memcpy(rows.data(), bytes.data(), bytes.size());
    std::uint64_t wrong = 0;
    for (std::uint64_t i = 0; i < 1000; ++i) wrong += (rows[2 * i] != i * 7 + 1 || rows[2 * i + 1] != i % 5) ? 1 : 0;
    CHECK(wrong == 0);  // phase 0's rows came back from the checkpoint
}

namespace {

/// Item 1 sleeps `long_s`, every other item 5 ms: the worker that gets item 1 first is inside it while rank 0 works
/// through the rest.
class OneLongItemJob final : public pel::Job<pel::NoPartial> {
  public:
    explicit OneLongItemJob(double long_s) : long_s_(long_s) {}
    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override {
        if (ran_) return std::nullopt;
        ran_ = true;
        return pel::Phase{"only", 30};
    }
    void process(ItemRange items, pel::NoPartial& /*p*/, pel::ItemSink& /*out*/,
                 const pel::Context& /*ctx*/) const override {
        for (auto i = items.begin; i < items.end; ++i) {
            std::this_thread::sleep_for(std::chrono::duration<double>(i == 1 ? long_s_ : 0.005));
        }
    }

  private:
    double long_s_;
    bool ran_ = false;
};

}  // namespace

TEST_CASE("a chunk a worker was granted ahead is stolen while the worker is inside a long item", "[exec]") {
    // Rank 1 starts with item 1 (1.5 s) and asks ahead for one more chunk, which arrives at once. Rank 0 runs out
    // long before item 1 ends and asks rank 1 for work: the chunk waiting there is the one to give. Before the
    // worker took in arrived grants when answering a steal, it had nothing to give and kept that chunk for after
    // its long item: rank 1 then processed two items instead of one.
    const pel::mpi::Comm comm;
    if (comm.size() != 2) return;
    const pel::test::ScratchDir dir(comm);
    const pel::exec::Log log(comm.rank(), false);
    OneLongItemJob job(1.5);
    const std::string path = dir.file("ahead.h5");
    pel::io::ResultsFile out(comm, path);
    pel::exec::RunConfig config;
    config.job_name = "ahead";
    config.schedule = {pel::sched::Technique::ss, 1};
    config.prefetch = 1;
    auto checkpoints = checkpointer(comm, path, 0, log);
    const auto summary = pel::exec::run(job, comm, out, config, log, checkpoints);
    out.commit();
    REQUIRE(summary.ranks.size() == 2);
    CHECK(summary.ranks[1].items == 1);
    CHECK(summary.ranks[0].items == 29);
    CHECK(summary.ranks[0].steals >= 1);
}
