// tests/exec/job_context_test.cpp: what the job API tells a job about its run: the thread a kernel runs on, the
// results file and run directory, a stop request, and the job's outcome carried to the run's summary.
#include "exec/job_context.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <omp.h>
#include <thread>

#include "exec/runner.hpp"
#include "exec/signals.hpp"
#include "support/scratch.hpp"

using pel::ItemRange;

namespace {

/// Writes, per item, the thread the context says it ran on; counts items where that is not OpenMP's own number.
class ThreadJob final : public pel::Job<pel::NoPartial> {
  public:
    explicit ThreadJob(pel::JobOutcome outcome) : outcome_(std::move(outcome)) {}
    void setup(pel::SetupContext& ctx) override {
        output = ctx.output_path();
        run_dir = ctx.run_dir();
        column_ = ctx.item_output<std::int32_t>("thread", kItems);
    }
    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override {
        if (done_) return std::nullopt;
        return pel::Phase{"only", kItems};
    }
    void process(ItemRange items, pel::NoPartial& /*p*/, pel::ItemSink& out, const pel::Context& ctx) const override {
        for (std::uint64_t i = items.begin; i < items.end; ++i) {
            out.row(column_, i)[0] = ctx.thread();
            if (ctx.thread() != omp_get_thread_num() || ctx.thread() >= ctx.threads()) ++wrong;
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
    }
    void end_phase(const pel::NoPartial& /*total*/, const pel::Context& /*ctx*/) override { done_ = true; }
    [[nodiscard]] pel::JobOutcome outcome(const pel::Context& /*ctx*/) const override { return outcome_; }

    static constexpr std::uint64_t kItems = 400;
    std::string output;
    std::string run_dir;
    mutable std::atomic<int> wrong{0};

  private:
    pel::JobOutcome outcome_;
    pel::ItemColumn<std::int32_t> column_;
    bool done_ = false;
};

pel::exec::RunSummary run_threads(ThreadJob& job, const pel::mpi::Comm& comm, const std::string& path) {
    const pel::exec::Log log(comm.rank(), false);
    pel::io::ResultsFile out(comm, path);
    pel::exec::RunConfig config;
    config.job_name = "threads";
    config.threads = 3;
    config.run_dir = "some/run/dir";
    config.schedule = {pel::sched::Technique::ss, 1};
    pel::exec::CheckpointSettings settings;
    settings.dir = path + ".ckpt";
    pel::exec::Checkpointer checkpoints(comm, settings, {"threads", "1", ""}, log);
    auto summary = pel::exec::run(job, comm, out, config, log, checkpoints);
    out.commit();
    return summary;
}

}  // namespace

TEST_CASE("a kernel learns its thread from the context; setup learns the output and run directory", "[exec]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    ThreadJob job({"2 of 7 went wrong", 102});
    const auto summary = run_threads(job, comm, dir.file("threads.h5"));
    CHECK(job.wrong == 0);
    CHECK(job.output == dir.file("threads.h5"));
    CHECK(job.run_dir == "some/run/dir");
    CHECK(summary.outcome.summary == "2 of 7 went wrong");
    CHECK(summary.outcome.exit_code == 102);
}

TEST_CASE("a job's exit code outside those kept for jobs fails the run", "[exec]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    ThreadJob job({"", 75});  // 75 would tell a batch script to resubmit: not the job's to give
    CHECK_THROWS_WITH(run_threads(job, comm, dir.file("bad.h5")), Catch::Contains("gave exit code 75"));
}

TEST_CASE("a context says when a stop was requested, and thread 0 outside a team", "[exec]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    const pel::exec::Log log(comm.rank(), false);
    pel::io::ResultsFile out(comm, dir.file("ctx.h5"));
    const pel::exec::RunContext ctx(comm, out, 2, "", log, "test");
    CHECK(ctx.thread() == 0);
    CHECK(ctx.run_dir().empty());
    CHECK_FALSE(ctx.stop_requested());
    pel::exec::request_stop(pel::exec::kTimeLimitStop);
    CHECK(ctx.stop_requested());
    pel::exec::clear_stop_signal();
    CHECK_FALSE(ctx.stop_requested());
}
