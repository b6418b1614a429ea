// exec/run.cpp: a run of a job on every rank (exec::run): set up, resume from a checkpoint, then each phase in
// rounds (a round ends at a pause for a checkpoint), and finish with the job's results and the run's statistics.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <sys/resource.h>

#include "exec/clock.hpp"
#include "exec/cost_profiles.hpp"
#include "exec/dynamic_phase.hpp"
#include "exec/early_stop.hpp"
#include "exec/exit_guard.hpp"
#include "exec/job_context.hpp"
#include "exec/levels.hpp"
#include "exec/phase_agreement.hpp"
#include "exec/phase_run.hpp"
#include "exec/ragged_rows.hpp"
#include "exec/reduce.hpp"
#include "exec/runner.hpp"
#include "exec/signals.hpp"
#include "pel/host.hpp"
#include "pel/merge_check.hpp"

namespace pel::exec {

namespace {

/// The largest payload of a dynamic item: every queued item takes this much room.
constexpr std::uint32_t kMaxSpawnBytes = 1 << 16;

std::vector<std::byte> saved_state(const JobBase& job) {
    OutArchive out;
    job.save_state(out);
    return out.take();
}

/// Every rank's host name, in rank order, on rank 0 (empty elsewhere). \note collective
std::vector<std::string> gather_hosts(const mpi::Comm& comm) {
    const std::string mine = host_name();
    std::vector<std::string> hosts;
    for (const auto& bytes : comm.gather_bytes(std::as_bytes(std::span(mine)), 0)) {
        hosts.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    return hosts;
}

/// When the next periodic checkpoint is due (now_s() clock), or never.
double next_checkpoint_at(const Checkpointer& checkpoints, double last) {
    const CheckpointSettings& settings = checkpoints.settings();
    if (settings.every_auto) {
        // Young/Daly: checkpoint every sqrt(2 C M) for a checkpoint cost C and a mean time between failures M.
        const double cost = checkpoints.last_cost_s() > 0 ? checkpoints.last_cost_s() : 1.0;
        return last + std::clamp(std::sqrt(2 * cost * settings.mtbf_s), 10.0, 86400.0);
    }
    if (settings.every_s > 0) return last + settings.every_s;
    return std::numeric_limits<double>::infinity();
}

void add(RankStats& into, const RankStats& s) {
    into.items += s.items;
    into.chunks += s.chunks;
    into.busy_s += s.busy_s;
    into.idle_s += s.idle_s;
    into.wait_s += s.wait_s;
    into.serve_s += s.serve_s;
    into.requests += s.requests;
    into.steals += s.steals;
}

/// One run, step by step. Every member function is collective.
class Run {
  public:
    Run(JobBase& job, const mpi::Comm& comm, io::ResultsFile& out, const RunConfig& config, const Log& log,
        Checkpointer& checkpoints)
        : job_(job),
          comm_(comm),
          out_(out),
          config_(config),
          log_(log),
          checkpoints_(checkpoints),
          ctx_(comm, out, config.threads, config.run_dir, log, config.job_name),
          hosts_(gather_hosts(comm)),
          profiles_(comm, config.cost_profile),
          levels_(make_levels(comm, choose_levels(config.levels, comm.size(), profiles_.mean_item_s()),
                              config.group_size, config.schedule, hosts_)) {
        summary_.levels = levels_text(levels_.choice);
        if (comm.rank() == 0 && config.levels != 1) log.info("scheduling levels: " + summary_.levels);
    }

    RunSummary go() {
        mpi::agree(comm_, [&] {
            job_.setup(ctx_);
            ctx_.inputs().set_cap(config_.max_rank_memory, config_.threads);
        });
        resume();
        const std::uint64_t first_phase = point_.phase;
        for (auto index = static_cast<int>(point_.phase);; ++index) {
            point_.phase = static_cast<std::uint64_t>(index);
            point_.job_state = saved_state(job_);
            const std::optional<Phase> phase = mpi::agree(comm_, [&] { return job_.next_phase(ctx_); });
            check_phase_agreement(comm_, index, phase);
            if (!phase) break;
            // Between phases is the cheapest moment for a periodic checkpoint that has fallen due (no partial rows,
            // no pause); never after the last phase, whose results are about to be committed.
            if (checkpoints_.enabled() && static_cast<std::uint64_t>(index) > first_phase &&
                comm_.allreduce_max(std::int64_t{
                    comm_.rank() == 0 && now_s() >= next_checkpoint_at(checkpoints_, last_checkpoint_) ? 1 : 0}) != 0) {
                point_.skipped = summary_.skipped;
                checkpoint(nullptr, 0);
            }
            if (!run_phase(index, *phase)) return summary_;  // stopped for a checkpoint
        }
        finish();
        return summary_;
    }

  private:
    /// Where to start: the first phase, or where a checkpoint left off.
    void resume() {
        // Item outputs in checkpoints: the fixed-width ones, then the ragged ones.
        const auto& columns = ctx_.columns();
        const std::size_t outputs = columns.size() + ctx_.ragged().size();
        point_.written_in.assign(outputs, 0);
        progress_.columns.resize(outputs);
        resumed_ = checkpoints_.resume(outputs);
        if (!resumed_) return;
        point_ = resumed_->point;
        mpi::agree(comm_, [&] {
            InArchive in(point_.job_state);
            job_.load_state(in);
        });
        progress_ = std::move(resumed_->mine);
        for (std::size_t c = 0; c < columns.size(); ++c) {
            if (point_.written_in[c] == 0) continue;
            progress_.columns[c].finished.assign(
                1, mpi::agree(comm_, [&] { return out_.write_rows(columns[c].name, progress_.columns[c].finished); }));
        }
        for (std::size_t k = 0; k < ctx_.ragged().size(); ++k) {
            RankProgress::Column& column = progress_.columns[columns.size() + k];
            (void)rows_of_blocks(comm_, ctx_.ragged()[k], column.current);  // checked now, not when the phase ends
            if (point_.written_in[columns.size() + k] != 0)
                column.finished = owned_blocks(comm_, ctx_.ragged()[k], column.finished);
        }
        if (comm_.rank() == 0) {
            log_.info("resuming from " + resumed_->path + ": phase " + std::to_string(point_.phase) + ", " +
                      std::to_string(count(resumed_->done_all)) + " of its items done");
        }
        if (log_.enabled(LogLevel::debug)) {
            // Each rank reads only its share of the rows and partials: what it read, and what that cost it.
            rusage usage{};
            ::getrusage(RUSAGE_SELF, &usage);
            log_.debug("resume read " + std::to_string(resumed_->bytes_read) + " of the checkpoint's " +
                       std::to_string(resumed_->bytes_stored) + " bytes of rows and partials; peak memory " +
                       std::to_string(usage.ru_maxrss / 1024) + " MiB");
        }
        summary_.resumed_from = resumed_->path;
        summary_.skipped = point_.skipped;
    }

    /// Phase `index` until done; false if the run stopped for a checkpoint instead.
    bool run_phase(int index, const Phase& phase) {
        if (phase.spawn_bytes > 0) return run_dynamic_phase(index, phase);
        ctx_.set_phase(index);
        log_.info("phase " + std::to_string(index) + " '" + phase.name + "': " + std::to_string(phase.items) +
                  " items");
        // This rank's partial of the phase: from the checkpoint, then every round's.
        auto partial = mpi::agree(comm_, [&] {
            auto p = job_.new_partial(ctx_);
            if (resumed_) {
                for (const auto& bytes : resumed_->partials) {
                    auto part = job_.new_partial(ctx_);
                    InArchive in(bytes);
                    part->load(in);
                    p->merge(*part);
                }
            }
            return p;
        });
        std::vector<ItemRange> done_all = resumed_ ? resumed_->done_all : std::vector<ItemRange>{};
        const std::uint64_t done_before = count(done_all);
        if (config_.progress != nullptr) config_.progress->set_phase(index, phase.name, phase.items, done_before);
        if (resumed_ && comm_.rank() == 0) {
            // Said at warn level: a resubmitted job that quietly goes on (or quietly starts over) surprises.
            char percent[32];
            std::snprintf(
                percent, sizeof percent, "%.1f%%",
                phase.items > 0 ? 100.0 * static_cast<double>(done_before) / static_cast<double>(phase.items) : 100.0);
            log_.warn("resuming " + (config_.run_dir.empty() ? std::string("run") : "run in " + config_.run_dir) +
                      " from checkpoint " + std::to_string(resumed_->sequence) + " (" + resumed_->path + "): phase " +
                      std::to_string(index) + " '" + phase.name + "', " + std::to_string(done_before) + " of " +
                      std::to_string(phase.items) + " items done, " + percent +
                      " (--fresh starts from the beginning instead)");
        }
        resumed_.reset();
        if (!done_all.empty() && done_all.back().end > phase.items) {
            throw mpi::AgreedError(ExitCode::io,
                                   "the checkpoint's phase " + std::to_string(index) +
                                       " has more items than the job's (" + std::to_string(phase.items) + ")",
                                   0);
        }

        // Rounds: the phase runs until done, pausing for each checkpoint that falls due.
        PhaseTally tally;
        phase_stop_ = kNoStop;
        stopped_here_ = false;
        while (true) {
            const bool paused = run_round(index, phase, done_all, *partial, tally);
            const bool stopped_now = apply_job_stop(phase, partial);
            if (comm_.allreduce_max(std::int64_t{paused ? 1 : 0}) == 0) break;
            done_all = gather_done(comm_, progress_.done);
            const std::uint64_t done_items =
                comm_.allreduce_sum(std::uint64_t{comm_.rank() == 0 ? count(done_all) : 0});
            const std::uint64_t settled_items =
                comm_.allreduce_sum(std::uint64_t{comm_.rank() == 0 ? count(settled(index, done_all)) : 0});
            if (settled_items == phase.items) break;  // the pause came when nothing was left to do
            // A pause for a kernel's stop request writes no checkpoint unless one is due or a real stop came.
            if (stopped_now && stop_requested() == 0 &&
                comm_.allreduce_max(std::int64_t{
                    comm_.rank() == 0 && now_s() >= next_checkpoint_at(checkpoints_, last_checkpoint_) ? 1 : 0}) == 0) {
                continue;
            }
            point_.skipped = summary_.skipped;
            checkpoint(&partial, done_items);
            if (const int stop = stop_requested(); stop != 0) {
                summary_.stopped_by = stop;
                summary_.makespan_s += tally.phase_s;
                return false;
            }
        }
        summary_.makespan_s += tally.phase_s;
        return end_phase(index, phase, *partial, tally, done_before);
    }

    /// Dynamic phase `index` (see exec/dynamic_phase.hpp) until done; false if the run stopped for a checkpoint. Its
    /// checkpoints hold, per rank, the partial so far and the queued items (the frontier) in the partial's place.
    bool run_dynamic_phase(int index, const Phase& phase) {
        // The same phase on every rank (checked before), so every rank reaches the same verdict.
        if (phase.items != 0 || phase.spawn_bytes > kMaxSpawnBytes) {
            throw mpi::AgreedError(ExitCode::plugin,
                                   phase_named(index, phase) + ": a dynamic phase (spawn_bytes " +
                                       std::to_string(phase.spawn_bytes) +
                                       ") must have 0 items (seed() gives its "
                                       "first) and spawn_bytes of at most " +
                                       std::to_string(kMaxSpawnBytes),
                                   0);
        }
        ctx_.set_phase(index);
        log_.info("phase " + std::to_string(index) + " '" + phase.name + "': dynamic items");
        auto dynamic = std::make_unique<DynamicPhase>(job_, ctx_, comm_, config_, phase);
        auto partial = mpi::agree(comm_, [&] {
            auto p = job_.new_partial(ctx_);
            if (resumed_) {
                for (const auto& bytes : resumed_->partials) dynamic->load_progress(bytes, *p);
            }
            return p;
        });
        // A checkpoint written between phases saves no partials; one written inside this phase saves every rank's.
        const bool saved_here = resumed_ && std::any_of(resumed_->partials.begin(), resumed_->partials.end(),
                                                        [](const auto& bytes) { return !bytes.empty(); });
        const bool resumed_mid = comm_.allreduce_max(std::int64_t{saved_here ? 1 : 0}) != 0;
        if (resumed_mid && comm_.rank() == 0) {
            log_.warn("resuming " + (config_.run_dir.empty() ? std::string("run") : "run in " + config_.run_dir) +
                      " from checkpoint " + std::to_string(resumed_->sequence) + " (" + resumed_->path + "): phase " +
                      std::to_string(index) + " '" + phase.name + "' (dynamic), " +
                      std::to_string(comm_.allreduce_sum(dynamic->queued())) +
                      " items queued (--fresh starts from the beginning instead)");
        } else if (resumed_mid) {
            (void)comm_.allreduce_sum(dynamic->queued());
        }
        resumed_.reset();
        if (!resumed_mid && comm_.rank() == 0) dynamic->seed();
        PhaseTally tally;
        const double started = now_s();
        while (true) {
            const auto outcome = dynamic->run(next_checkpoint_at(checkpoints_, last_checkpoint_));
            mpi::agree_on_outcome(comm_, dynamic->failure());
            if (outcome == DynamicPhase::Outcome::done) break;
            auto so_far = dynamic->partial_copy();
            so_far->merge(*partial);
            point_.skipped = summary_.skipped;
            checkpoint_bytes(dynamic->saved_progress(*so_far), 0);
            if (outcome == DynamicPhase::Outcome::stop) {
                summary_.stopped_by = stop_requested();
                summary_.makespan_s += comm_.allreduce_max(now_s() - started);
                return false;
            }
        }
        tally.computed = now_s();
        tally.phase_s = comm_.allreduce_max(tally.computed - started);
        tally.processed = dynamic->items();
        partial->merge(*dynamic->partial_copy());
        RankStats stats;
        stats.items = dynamic->items();
        stats.chunks = dynamic->epochs();
        stats.busy_s = dynamic->busy_s();
        stats.idle_s = std::max(0.0, tally.phase_s * config_.threads - stats.busy_s);
        add(mine_, stats);
        summary_.makespan_s += tally.phase_s;
        log_.debug("dynamic phase: " + std::to_string(stats.items) + " items here in " +
                   std::to_string(dynamic->epochs()) + " epochs");
        return end_phase(index, phase, *partial, tally, 0);
    }

    /// What a phase's rounds add up to on this rank.
    struct PhaseTally {
        std::uint64_t processed = 0;
        std::vector<double> measured;  ///< seconds per bin of items
        double phase_s = 0;            ///< the rounds' time on the slowest rank
        double computed = 0;           ///< when the last round's computing ended (now_s())
    };

    /// Rank 0: the items not to grant again, finished or given up.
    [[nodiscard]] std::vector<ItemRange> settled(int index, const std::vector<ItemRange>& done_all) const {
        std::vector<ItemRange> ranges = done_all;
        for (const SkippedItem& s : summary_.skipped) {
            if (s.phase == static_cast<std::uint64_t>(index)) ranges.push_back({s.item, s.item + 1});
        }
        return merged(std::move(ranges));
    }

    /// One round of phase `index`: its items not yet settled, until done or paused. True if rank 0 paused it.
    bool run_round(int index, const Phase& phase, const std::vector<ItemRange>& done_all, AnyPartial& partial,
                   PhaseTally& tally) {
        auto round = mpi::agree(comm_, [&] {
            return std::make_unique<PhaseRun>(
                job_, ctx_, comm_, config_, phase, index,
                comm_.rank() == 0 ? complement(settled(index, done_all), phase.items) : std::vector<ItemRange>{},
                next_checkpoint_at(checkpoints_, last_checkpoint_), hosts_, profiles_.find(phase.items), levels_);
        });
        // Oversubscribed, the collectives before this spin and ranks reach here up to a tenth of a second apart (64
        // ranks on 2 cores): they start the phase together instead.
        if (config_.oversubscribed) comm_.quiet_barrier();
        const double started = now_s();
        round->execute();
        tally.computed = now_s();
        mpi::agree_on_outcome(comm_, round->failure());
        const double round_s = comm_.allreduce_max(tally.computed - started);
        tally.phase_s += round_s;

        tally.processed += round->items();
        if (!round->schedule_choice().empty()) {
            summary_.schedule_choice += "phase " + std::to_string(index) + ": " + round->schedule_choice() + "\n";
        }
        for (const sched::SkippedItem& skip : round->skipped()) {
            summary_.skipped.push_back({static_cast<std::uint64_t>(index), skip.item, skip.rank});
        }
        for (const ItemRange& d : round->done_ranges()) progress_.done.push_back(d);
        progress_.done = merged(std::move(progress_.done));
        const auto& columns = ctx_.columns();
        for (std::size_t c = 0; c < columns.size(); ++c) {
            progress_.columns[c].wrote = progress_.columns[c].wrote || round->wrote(c);
            for (auto& block : round->rows(c, columns[c].row_bytes)) {
                progress_.columns[c].current.push_back(std::move(block));
            }
        }
        for (std::size_t k = 0; k < ctx_.ragged().size(); ++k) {
            RankProgress::Column& column = progress_.columns[columns.size() + k];
            column.wrote = column.wrote || round->ragged_wrote(k);
            if (RaggedRows rows = round->ragged_rows(k); !rows.empty()) column.current.push_back(to_block(rows));
        }
        partial.merge(*round->take_partial());
        const std::vector<double> bins = round->measured_bins();
        if (tally.measured.empty()) tally.measured.assign(bins.size(), 0.0);
        for (std::size_t b = 0; b < bins.size(); ++b) tally.measured[b] += bins[b];
        add(mine_, round->stats(round_s));
        return round->paused();
    }

    /// After a phase's last round: checks the count, learns its costs, combines the partials, writes its rows, and
    /// tells the job. False if the run then stops for a checkpoint (a stop signal came).
    bool end_phase(int index, const Phase& phase, AnyPartial& partial, PhaseTally& tally, std::uint64_t done_before) {
        std::uint64_t skipped_here = 0;  // on rank 0, this run's and the checkpoint's
        for (const SkippedItem& s : summary_.skipped) skipped_here += s.phase == static_cast<std::uint64_t>(index);
        // After a kernel's stop, items past it were processed and dropped: count what each rank holds as done.
        const std::uint64_t all_processed = (stopped_here_ ? comm_.allreduce_sum(count(progress_.done))
                                                           : comm_.allreduce_sum(tally.processed) + done_before) +
                                            comm_.allreduce_sum(comm_.rank() == 0 ? skipped_here : 0);
        if (phase.spawn_bytes == 0 && all_processed != phase.items) {  // the same verdict on every rank
            throw mpi::AgreedError(ExitCode::internal,
                                   "internal error: phase '" + phase.name + "' processed " +
                                       std::to_string(all_processed) + " items of " + std::to_string(phase.items),
                                   0);
        }
        if (phase.spawn_bytes > 0 && comm_.rank() == 0) {
            log_.info("phase " + std::to_string(index) + " '" + phase.name + "': " + std::to_string(all_processed) +
                      " items ran");
        }
        if (phase.spawn_bytes == 0) {
            comm_.allreduce_sum(tally.measured);
            profiles_.learn(phase.items, std::move(tally.measured));
            if (config_.check_merge) check_merge_of(index, phase);
        }
        // --check-merge merges every rank's partial on rank 0 in two orders; otherwise up the tree, and down again
        // only if the job asked for its total everywhere.
        std::unique_ptr<AnyPartial> total;
        if (config_.check_merge) {
            total = combine_checked(job_, ctx_, comm_, partial, phase_named(index, phase));
        } else {
            reduce_to_root(job_, ctx_, comm_, partial);
            total = total_for_rank(job_, ctx_, comm_, partial, ctx_.total_wanted_everywhere());
        }
        const AnyPartial& phase_total = total != nullptr ? *total : partial;
        const auto& columns = ctx_.columns();
        for (std::size_t c = 0; c < columns.size(); ++c) {
            RankProgress::Column& column = progress_.columns[c];
            if (comm_.allreduce_max(std::int64_t{column.wrote ? 1 : 0}) == 0) continue;
            point_.written_in[c] = static_cast<std::uint64_t>(index) + 1;
            // This rank's block of the written column stays in memory (1 / ranks of it) for later checkpoints.
            column.finished.assign(1, mpi::agree(comm_, [&] {
                                       return out_.write_rows(columns[c].name, std::exchange(column.current, {}));
                                   }));
        }
        for (std::size_t k = 0; k < ctx_.ragged().size(); ++k) {
            RankProgress::Column& column = progress_.columns[columns.size() + k];
            if (comm_.allreduce_max(std::int64_t{column.wrote ? 1 : 0}) == 0) continue;
            point_.written_in[columns.size() + k] = static_cast<std::uint64_t>(index) + 1;
            // Written at the end, when every phase has had its say: until then each rank holds its owned block.
            column.finished = owned_blocks(comm_, ctx_.ragged()[k], column.current);
        }
        for (auto& column : progress_.columns) {
            column.current.clear();
            column.wrote = false;
        }
        progress_.done.clear();
        mpi::agree(comm_, [&] { job_.end_phase_any(phase_total, ctx_); });
        if (comm_.rank() == 0 && log_.verbose()) {
            char line[160];
            std::snprintf(line, sizeof line, "phase %d done: compute %.3f s, combine and write %.3f s", index,
                          tally.phase_s, now_s() - tally.computed);
            log_.info(line);
        }
        summary_.phases = index + 1;
        if (config_.progress != nullptr) config_.progress->phases_done = index + 1;

        const int stop = stop_requested();
        if (stop != 0 || (checkpoints_.enabled() && checkpoints_.settings().at_phase_end)) {
            point_.phase = static_cast<std::uint64_t>(index + 1);
            point_.job_state = saved_state(job_);
            point_.skipped = summary_.skipped;
            checkpoint(nullptr, 0);
            if (stop != 0) {
                summary_.stopped_by = stop;
                return false;
            }
        }
        return true;
    }

    /// After a round: agrees on the smallest item whose kernel asked to stop (Context::request_stop). Below the
    /// phase's stop so far, it becomes the stop: items after it are dropped here (done items, rows, and their share
    /// of the partial, rebuilt by running the kernel again over this rank's items up to it) and counted as done on
    /// rank 0, so no round grants them and a checkpoint keeps the stop. True if the stop moved. \note collective
    bool apply_job_stop(const Phase& phase, std::unique_ptr<AnyPartial>& partial) {
        const std::uint64_t mine = std::min<std::uint64_t>(ctx_.take_stop_item(), kNoStop);
        forget_job_stop();
        const auto agreed = static_cast<std::uint64_t>(comm_.allreduce_min(static_cast<std::int64_t>(mine)));
        if (agreed >= phase_stop_ || agreed >= phase.items) return false;
        phase_stop_ = agreed;
        stopped_here_ = true;
        const std::uint64_t end = agreed + 1;  // items [0, end) stay
        const bool past = !progress_.done.empty() && progress_.done.back().end > end;
        std::erase_if(progress_.done, [&](const ItemRange& r) { return r.begin >= end; });
        if (!progress_.done.empty()) progress_.done.back().end = std::min(progress_.done.back().end, end);
        mpi::agree(comm_, [&] {  // on every rank: a rank that fails here fails the run, the others say so too
            if (past) partial = rebuilt_partial(job_, ctx_, progress_.done);
        });
        drop_rows_from(progress_, end, ctx_.columns(), ctx_.ragged());
        if (comm_.rank() == 0) {
            progress_.done.push_back({end, phase.items});
            std::erase_if(summary_.skipped, [&](const SkippedItem& k) {
                return k.phase == static_cast<std::uint64_t>(ctx_.phase()) && k.item >= end;
            });
            log_.info("phase " + std::to_string(ctx_.phase()) + " stops after item " + std::to_string(agreed) +
                      " (a kernel asked)");
        }
        return true;
    }

    /// "job 'J', phase I 'NAME'", for messages.
    [[nodiscard]] std::string phase_named(int index, const Phase& phase) const {
        return "job '" + config_.job_name + "', phase " + std::to_string(index) + " '" + phase.name + "'";
    }

    /// --check-merge: rank 0 runs the kernel again on up to 8 ranges of up to 8 items spread over the phase (a few
    /// dozen items: cheap beside the phase) and checks that their partials merge exactly. \note collective
    void check_merge_of(int index, const Phase& phase) {
        mpi::agree(comm_, [&] {
            if (comm_.rank() != 0) return;
            constexpr std::uint64_t kRanges = 8, kRangeItems = 8;
            std::vector<ItemRange> sample;
            for (std::uint64_t r = 0; r < kRanges; ++r) {
                const std::uint64_t begin = std::max(sample.empty() ? 0 : sample.back().end, phase.items * r / kRanges);
                const std::uint64_t end = std::min(phase.items, begin + kRangeItems);
                if (begin < end) sample.push_back({begin, end});
            }
            std::vector<std::size_t> row_bytes;
            for (const Column& c : ctx_.columns()) row_bytes.push_back(c.row_bytes);
            ScratchSink rows(std::move(row_bytes));
            std::string problem;
            try {
                problem = check_merge(job_, ctx_, sample, rows);
            } catch (const std::exception& e) {  // an item that fails (--on-error skip) leaves this phase unchecked
                log_.warn("--check-merge: " + phase_named(index, phase) +
                          " not checked: the kernel threw on a sample item: " + e.what());
                return;
            }
            if (!problem.empty()) {
                throw Error::Plugin("--check-merge: " + phase_named(index, phase) + ": " + problem +
                                    " (a merge that is not exact: use integers, pel::ExactSum or per-item rows)");
            }
        });
    }

    /// A checkpoint of where the run stands, with this rank's partial of the phase in progress (if any).
    void checkpoint(std::unique_ptr<AnyPartial>* partial, std::uint64_t done_items) {
        OutArchive saved;
        if (partial != nullptr) (*partial)->save(saved);
        checkpoint_bytes(saved.take(), done_items);
    }

    /// A checkpoint with `partial` as this rank's saved partial (empty: none).
    void checkpoint_bytes(std::vector<std::byte> partial, std::uint64_t done_items) {
        progress_.partial = std::move(partial);
        checkpoints_.write(point_, progress_, done_items);
        last_checkpoint_ = now_s();
        if (config_.trace != nullptr && comm_.rank() == 0) {
            config_.trace->instant(
                config_.threads, last_checkpoint_, "checkpoint",
                "phase " + std::to_string(point_.phase) + ", " + std::to_string(done_items) + " items done");
        }
        if (config_.progress != nullptr) ++config_.progress->checkpoints;
    }

    /// The job's outcome as rank 0 sees it, on every rank; an exit code outside those kept for jobs is the job's
    /// failure. \note collective
    JobOutcome job_outcome() {
        JobOutcome outcome = mpi::agree(comm_, [&] {
            JobOutcome o = comm_.rank() == 0 ? job_.outcome(ctx_) : JobOutcome{};
            if (o.exit_code != 0 && (o.exit_code < kJobExitFirst || o.exit_code > kJobExitLast)) {
                throw Error::Failure("job '" + config_.job_name + "' gave exit code " + std::to_string(o.exit_code) +
                                     ", not 0 nor one of those kept for jobs (" + std::to_string(kJobExitFirst) + "-" +
                                     std::to_string(kJobExitLast) + ")");
            }
            return o;
        });
        OutArchive out;
        out(outcome.summary)(outcome.exit_code);
        std::vector<std::byte> bytes = out.take();
        comm_.bcast_bytes(bytes, 0);
        InArchive in(bytes);
        in(outcome.summary)(outcome.exit_code);
        return outcome;
    }

    /// The stop signal any rank has noted (0: none).
    int stop_requested() {
        const int mine = stop_signal() == kJobStop ? 0 : stop_signal();  // a kernel's request is no stop of the run
        return static_cast<int>(comm_.allreduce_max(std::int64_t{mine}));
    }

    /// After the last phase: the cost profile saved, the job's results written, the statistics gathered.
    void finish() {
        profiles_.save();
        const std::size_t fixed = ctx_.columns().size();
        for (std::size_t k = 0; k < ctx_.ragged().size(); ++k) {
            const RaggedRows owned = rows_of_blocks(comm_, ctx_.ragged()[k], progress_.columns[fixed + k].finished);
            mpi::agree(comm_, [&] { write_ragged(out_, comm_, ctx_.ragged()[k], owned); });
        }
        FileSink sink(comm_, out_, ctx_.names());
        mpi::agree(comm_, [&] { job_.write_results(sink, ctx_); });
        summary_.outcome = job_outcome();

        const auto gather = [&](double v) { return comm_.allgather(v); };
        const auto items = gather(static_cast<double>(mine_.items));
        const auto chunks = gather(static_cast<double>(mine_.chunks));
        const auto busy = gather(mine_.busy_s);
        const auto idle = gather(mine_.idle_s);
        const auto wait = gather(mine_.wait_s);
        const auto serve = gather(mine_.serve_s);
        const auto requests = gather(static_cast<double>(mine_.requests));
        const auto steals = gather(static_cast<double>(mine_.steals));
        const auto input_peak = gather(static_cast<double>(ctx_.inputs().peak_bytes()));
        double busy_total = 0, busy_max = 0;
        for (std::size_t r = 0; r < items.size(); ++r) {
            summary_.ranks.push_back({static_cast<std::uint64_t>(items[r]), static_cast<std::uint64_t>(chunks[r]),
                                      busy[r], idle[r], wait[r], serve[r], static_cast<std::uint64_t>(requests[r]),
                                      static_cast<std::uint64_t>(steals[r]),
                                      static_cast<std::uint64_t>(input_peak[r])});
            busy_total += busy[r];
            busy_max = std::max(busy_max, busy[r]);
        }
        {  // every rank's host, for the statistics
            std::string joined;
            for (const auto& h : hosts_) joined += h + "\n";
            std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(joined.data()),
                                         reinterpret_cast<const std::byte*>(joined.data()) + joined.size());
            comm_.bcast_bytes(bytes, 0);
            summary_.hosts.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        }
        {  // what --schedule auto chose for each phase, known on rank 0
            const std::string& choice = summary_.schedule_choice;
            std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(choice.data()),
                                         reinterpret_cast<const std::byte*>(choice.data()) + choice.size());
            comm_.bcast_bytes(bytes, 0);
            summary_.schedule_choice.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        }
        {  // the skipped items, known on rank 0, for every rank to write
            OutArchive saved;
            saved(summary_.skipped);
            std::vector<std::byte> bytes = saved.take();
            comm_.bcast_bytes(bytes, 0);
            InArchive in(bytes);
            in(summary_.skipped);
        }
        for (std::size_t c = 0; c < ctx_.columns().size(); ++c) {
            summary_.outputs.push_back(
                {ctx_.columns()[c].name, ctx_.columns()[c].items, static_cast<std::int64_t>(point_.written_in[c]) - 1});
        }
        for (std::size_t k = 0; k < ctx_.ragged().size(); ++k) {
            summary_.outputs.push_back({ctx_.ragged()[k].name, ctx_.ragged()[k].items,
                                        static_cast<std::int64_t>(point_.written_in[fixed + k]) - 1});
        }
        summary_.lower_bound_s = busy_total / static_cast<double>(comm_.size() * config_.threads);
        summary_.imbalance = busy_total > 0 ? busy_max / (busy_total / static_cast<double>(comm_.size())) : 1.0;
    }

    JobBase& job_;
    const mpi::Comm& comm_;
    io::ResultsFile& out_;
    const RunConfig& config_;
    const Log& log_;
    Checkpointer& checkpoints_;
    RunContext ctx_;
    const std::vector<std::string> hosts_;  ///< every rank's, on rank 0, for messages naming a rank
    CostProfiles profiles_;
    const Levels levels_;  ///< one or two scheduling levels, and the communicators of two
    static constexpr std::uint64_t kNoStop = INT64_MAX;
    std::uint64_t phase_stop_ = kNoStop;  ///< the item after which the phase in progress stops (kNoStop: none yet)
    bool stopped_here_ = false;           ///< this run moved the phase's stop (items past it were dropped)
    RunPoint point_;
    RankProgress progress_;  ///< this rank's part of the phase in progress, and the rows finished phases wrote
    std::optional<Resumed> resumed_;
    RunSummary summary_;
    RankStats mine_;
    double last_checkpoint_ = now_s();
};

}  // namespace

RunSummary run(JobBase& job, const mpi::Comm& comm, io::ResultsFile& out, const RunConfig& config, const Log& log,
               Checkpointer& checkpoints) {
    const ExitGuard exit_guard(comm.rank(), config.job_name, out.temporary_path());
    return Run(job, comm, out, config, log, checkpoints).go();
}

}  // namespace pel::exec
