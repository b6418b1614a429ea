// exec/dynamic_phase.cpp: a dynamic phase on every rank (see dynamic_phase.hpp).
#include "exec/dynamic_phase.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <omp.h>

#include "exec/clock.hpp"
#include "exec/signals.hpp"

namespace pel::exec {

namespace {

/// The message a rank sends every other when it ends an epoch itself; its body is the epoch's number.
constexpr int kEpochEndTag = 111;
/// The longest epoch: how long a checkpoint or stop waits at most, and how often ranks with work but an uneven
/// share rebalance. 50 ms costs one exchange (tens of microseconds on a node) per 50 ms of work.
constexpr double kSlice = 0.05;
/// How often thread 0 looks for other ranks' ends of the epoch while it runs items.
constexpr double kPollInterval = 0.5e-3;
/// Marks a checkpoint's saved progress of a dynamic phase ("DYN1").
constexpr std::uint32_t kProgressMagic = 0x44594e31;

}  // namespace

DynamicPhase::DynamicPhase(JobBase& job, RunContext& ctx, const mpi::Comm& comm, const RunConfig& config,
                           const Phase& phase)
    : job_(job),
      ctx_(ctx),
      comm_(comm),
      config_(config),
      phase_(phase),
      frontier_(config.threads, phase.spawn_bytes),
      busy_(static_cast<std::size_t>(config.threads), 0.0),
      items_(static_cast<std::size_t>(config.threads), 0),
      got_end_(static_cast<std::size_t>(comm.size()), false) {
    for (int t = 0; t < config.threads; ++t) partials_.push_back(job_.new_partial(ctx_));
}

void DynamicPhase::seed() {
    std::vector<std::byte> records;
    RecordSpawner spawner(phase_.spawn_bytes, records);
    try {
        job_.seed_any(spawner, ctx_);
    } catch (const Error& e) {
        fail(Error(e.code(), "job '" + config_.job_name + "', seeding phase '" + phase_.name + "': " + e.what()));
    } catch (const std::exception& e) {
        fail(Error::Failure("job '" + config_.job_name + "' failed seeding phase '" + phase_.name + "': " + e.what()));
    }
    frontier_.add(records);
}

std::vector<std::byte> DynamicPhase::saved_progress(const AnyPartial& so_far) const {
    OutArchive partial;
    so_far.save(partial);
    OutArchive out;
    out(kProgressMagic)(static_cast<std::uint32_t>(frontier_.record_bytes()))(partial.bytes())(frontier_.saved());
    return out.take();
}

void DynamicPhase::load_progress(std::span<const std::byte> saved, AnyPartial& into) {
    if (saved.empty()) return;
    InArchive in(saved);
    std::uint32_t magic = 0, record_bytes = 0;
    std::vector<std::byte> partial, records;
    in(magic)(record_bytes);
    if (magic != kProgressMagic || record_bytes != frontier_.record_bytes()) {
        throw Error::Io("the checkpoint's phase '" + phase_.name + "' is not a dynamic phase with this spawn_bytes (" +
                        std::to_string(phase_.spawn_bytes) + ")");
    }
    in(partial)(records);
    auto part = job_.new_partial(ctx_);
    InArchive partial_in(partial);
    part->load(partial_in);
    into.merge(*part);
    if (records.size() % record_bytes != 0) throw Error::Io("the checkpoint's queued items are cut short");
    frontier_.add(records);
}

DynamicPhase::Outcome DynamicPhase::run(double checkpoint_at) {
    checkpoint_at_ = checkpoint_at;
    while (true) {
        if (const std::optional<Outcome> outcome = exchange()) return *outcome;
        epoch();
    }
}

std::optional<DynamicPhase::Outcome> DynamicPhase::exchange() {
    const int me = comm_.rank();
    const int ranks = comm_.size();
    // A rank that ended the epoch itself tells every other (a few bytes: sent eagerly, so the send returns while
    // the others may already be in the collective below).
    if (ended_here_.load() && ranks > 1) {
        for (int r = 0; r < ranks; ++r) {
            if (r != me) comm_.send(epochs_, r, kEpochEndTag);
        }
    }
    EpochEnd mine;
    mine.queued = frontier_.queued();
    mine.ended_here = ended_here_.load() ? 1 : 0;
    mine.failed = failure_.has_value() ? 1 : 0;
    mine.stop = stop_signal() != 0 ? 1 : 0;
    mine.checkpoint_due = me == 0 && now_s() >= checkpoint_at_ ? 1 : 0;
    std::vector<EpochEnd> ends(static_cast<std::size_t>(ranks));
    if (ranks == 1) {
        ends[0] = mine;
    } else {
        if (config_.oversubscribed) comm_.quiet_barrier();
        std::vector<std::byte> bytes(sizeof mine);
        std::memcpy(bytes.data(), &mine, sizeof mine);
        const auto all =
            comm_.alltoall_bytes(std::vector<std::vector<std::byte>>(static_cast<std::size_t>(ranks), bytes));
        for (int r = 0; r < ranks; ++r) {
            const auto& theirs = all[static_cast<std::size_t>(r)];
            if (theirs.size() != sizeof(EpochEnd)) throw Error::Internal("dynamic phase: a malformed end of epoch");
            std::memcpy(&ends[static_cast<std::size_t>(r)], theirs.data(), sizeof(EpochEnd));
        }
        // Every end of this epoch sent to this rank is received here, so none is taken for the next epoch's.
        for (int r = 0; r < ranks; ++r) {
            if (r == me || ends[static_cast<std::size_t>(r)].ended_here == 0 || got_end_[static_cast<std::size_t>(r)]) {
                continue;
            }
            std::uint64_t epoch = 0;
            comm_.recv(epoch, r, kEpochEndTag);
            if (epoch != epochs_)
                throw Error::Internal("dynamic phase: rank " + std::to_string(r) + " ended epoch " +
                                      std::to_string(epoch) + " during epoch " + std::to_string(epochs_));
        }
    }
    std::fill(got_end_.begin(), got_end_.end(), false);
    ended_here_.store(false);
    over_.store(false);

    std::uint64_t total = 0;
    bool failed = false, stop = false;
    for (const EpochEnd& e : ends) {
        total += e.queued;
        failed = failed || e.failed != 0;
        stop = stop || e.stop != 0;
    }
    if (failed) return Outcome::failed;
    if (total == 0) return Outcome::done;  // nothing queued, and between epochs nothing runs: the phase is over
    if (stop) return Outcome::stop;
    if (ends[0].checkpoint_due != 0) return Outcome::checkpoint;
    if (ranks > 1) rebalance(ends);
    // A rank left dry by the exchange (nobody had items to spare) waits a growing while before it ends the next
    // epoch for being dry, so that a phase with a few items does not turn into back-to-back exchanges.
    dry_wait_ = frontier_.queued() > 0 ? 0.0 : std::min(kSlice, std::max(kPollInterval, 2 * dry_wait_));
    return std::nullopt;
}

void DynamicPhase::rebalance(const std::vector<EpochEnd>& ends) {
    const auto ranks = ends.size();
    std::uint64_t total = 0, least = UINT64_MAX, most = 0;
    for (const EpochEnd& e : ends) {
        total += e.queued;
        least = std::min(least, e.queued);
        most = std::max(most, e.queued);
    }
    // Items move only when a rank cannot keep its threads busy or holds far fewer than another: a move costs an
    // all-to-all, and the oldest items it takes are the largest pieces of work the donor has.
    const auto threads = static_cast<std::uint64_t>(config_.threads);
    if (!((least < threads && most > least + 1) || most > 4 * (least + threads))) return;
    // The same plan on every rank: rank r should hold total / ranks (one more for the first total % ranks); ranks
    // over their share give to ranks under theirs, both taken in rank order.
    std::vector<std::uint64_t> surplus(ranks, 0), deficit(ranks, 0);
    for (std::size_t r = 0; r < ranks; ++r) {
        const std::uint64_t share = total / ranks + (r < total % ranks ? 1 : 0);
        if (ends[r].queued > share) surplus[r] = ends[r].queued - share;
        if (ends[r].queued < share) deficit[r] = share - ends[r].queued;
    }
    const auto me = static_cast<std::size_t>(comm_.rank());
    std::vector<std::vector<std::byte>> send(ranks);
    for (std::size_t giver = 0, taker = 0; giver < ranks && taker < ranks;) {
        if (surplus[giver] == 0) {
            ++giver;
            continue;
        }
        if (deficit[taker] == 0) {
            ++taker;
            continue;
        }
        const std::uint64_t moved = std::min(surplus[giver], deficit[taker]);
        if (giver == me) send[taker] = frontier_.take_oldest(moved);
        surplus[giver] -= moved;
        deficit[taker] -= moved;
    }
    for (const auto& records : comm_.alltoall_bytes(send)) frontier_.add(records);
}

void DynamicPhase::epoch() {
    ++epochs_;  // numbered from 1, as the exchange after it and the ends sent during it say
    epoch_start_ = now_s();
    slice_end_ = epoch_start_ + kSlice;
#pragma omp parallel num_threads(config_.threads)
    thread_main(omp_get_thread_num());
}

void DynamicPhase::thread_main(int t) {
    const auto i = static_cast<std::size_t>(t);
    RunContext::set_thread_index(t);
    std::vector<std::byte>& stack = frontier_.stack(t);
    std::vector<std::byte> record(frontier_.record_bytes());
    RecordSpawner spawner(phase_.spawn_bytes, stack);  // what an item spawns goes on top of the thread's stack
    const std::size_t record_bytes = frontier_.record_bytes();
    Backoff backoff(config_.oversubscribed);
    const double started = now_s();
    double idle = 0;
    std::uint64_t done = 0;
    double next_poll = 0;
    bool holding = false;  // this thread counts in frontier_.work() for items of its own
    bool hungry = false;
    try {
        AnyPartial& partial = *partials_[i];
        while (!over_.load(std::memory_order_relaxed)) {
            if (!stack.empty()) {
                // The newest item: copied out, since what it spawns may move the stack.
                std::memcpy(record.data(), stack.data() + stack.size() - record_bytes, record_bytes);
                stack.resize(stack.size() - record_bytes);
                job_.expand_any(record_payload(record), partial, spawner, ctx_);
                // Every 64 items (a few microseconds for the cheapest kernels): feed a hungry thread, and thread 0
                // looks at the clock and the other ranks.
                if (++done % 64 == 0) {
                    if (frontier_.hungry()) frontier_.share(t);
                    if (t == 0) {
                        const double now = now_s();
                        if (now >= next_poll) {
                            poll(now);
                            next_poll = now + kPollInterval;
                        }
                    }
                }
                continue;
            }
            if (frontier_.refill(t, holding)) {
                holding = true;
                if (hungry) frontier_.set_hungry(hungry = false);
                continue;
            }
            holding = false;
            if (!hungry) frontier_.set_hungry(hungry = true);
            const double t0 = now_s();
            if (frontier_.work() == 0 && t0 >= epoch_start_ + dry_wait_) {
                end_epoch_here();  // nothing pooled and nobody holding items: this rank is dry
                break;
            }
            if (t == 0) poll(t0);
            backoff.pause();
            idle += now_s() - t0;
        }
    } catch (const Error& e) {
        fail(Error(e.code(), "job '" + config_.job_name + "', phase '" + phase_.name + "', rank " +
                                 std::to_string(ctx_.rank()) + ": " + e.what()));
    } catch (const std::exception& e) {
        fail(Error::Failure("job '" + config_.job_name + "' failed in phase '" + phase_.name + "' on rank " +
                            std::to_string(ctx_.rank()) + ": " + e.what()));
    } catch (...) {
        fail(Error::Failure("job '" + config_.job_name + "' threw something that is not a std::exception in phase '" +
                            phase_.name + "' on rank " + std::to_string(ctx_.rank())));
    }
    if (hungry) frontier_.set_hungry(false);
    frontier_.park(t, holding);
    busy_[i] += std::max(0.0, now_s() - started - idle);
    items_[i] += done;
    RunContext::set_thread_index(-1);
}

void DynamicPhase::poll(double now) {
    if (now >= config_.stop_at) request_stop(kTimeLimitStop);
    if (now >= slice_end_ || stop_signal() != 0 || (comm_.rank() == 0 && now >= checkpoint_at_)) end_epoch_here();
    if (comm_.size() == 1) return;
    while (const auto status = comm_.iprobe(mpi::any_source, kEpochEndTag)) {
        std::uint64_t epoch = 0;
        comm_.recv(epoch, status->source, kEpochEndTag);
        got_end_[static_cast<std::size_t>(status->source)] = true;
        if (epoch != epochs_) {
            throw Error::Internal("dynamic phase: rank " + std::to_string(status->source) + " ended epoch " +
                                  std::to_string(epoch) + " during epoch " + std::to_string(epochs_));
        }
        got_end_[static_cast<std::size_t>(status->source)] = true;
        over_.store(true, std::memory_order_relaxed);
    }
}

void DynamicPhase::end_epoch_here() noexcept {
    ended_here_.store(true);
    over_.store(true, std::memory_order_relaxed);
}

void DynamicPhase::fail(const Error& error) noexcept {
    {
        const std::lock_guard lock(failure_mutex_);
        if (!failure_) failure_ = error;
    }
    end_epoch_here();
}

std::unique_ptr<AnyPartial> DynamicPhase::partial_copy() const {
    auto sum = job_.new_partial(ctx_);
    for (const auto& p : partials_) sum->merge(*p);
    return sum;
}

std::uint64_t DynamicPhase::items() const { return std::accumulate(items_.begin(), items_.end(), std::uint64_t{0}); }

double DynamicPhase::busy_s() const { return std::accumulate(busy_.begin(), busy_.end(), 0.0); }

}  // namespace pel::exec
