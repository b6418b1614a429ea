// exec/team.cpp: the thread loop of a rank's team (see team.hpp).
#include "exec/team.hpp"

#include <algorithm>
#include <cmath>
#include <omp.h>

#include "exec/clock.hpp"
#include "exec/exit_guard.hpp"
#include "exec/trace.hpp"
#include "sched/cost_profile.hpp"

namespace pel::exec {

namespace {

/// How long a thread computes between looks at its messages (requests on rank 0, steals elsewhere), in seconds:
/// batches stay near this long, so that neither rank 0's requesters nor thieves wait long, and so that unclaimed
/// items remain to be stolen.
constexpr double kServeInterval = 200e-6;

/// Marks a thread's batch in progress for Team::stuck(), from its start until the scope ends however it ends.
class InBatch {
  public:
    InBatch(std::atomic<double>& started, double t0) : started_(started) {
        started_.store(t0, std::memory_order_relaxed);
    }
    ~InBatch() { started_.store(0, std::memory_order_relaxed); }
    InBatch(const InBatch&) = delete;
    InBatch& operator=(const InBatch&) = delete;

  private:
    std::atomic<double>& started_;
};

}  // namespace

Team::Team(JobBase& job, RunContext& ctx, const RunConfig& config, const Phase& phase, int phase_index, Chunks& chunks)
    : job_(job), ctx_(ctx), config_(config), phase_(phase), phase_index_(phase_index), chunks_(chunks) {
    const auto threads = static_cast<std::size_t>(config.threads);
    for (std::size_t t = 0; t < threads; ++t) partials_.push_back(job_.new_partial(ctx_));
    thread_busy_.assign(threads, 0.0);
    thread_items_.assign(threads, 0);
    thread_bins_.assign(threads, std::vector<double>(sched::CostProfile::bins_for(phase.items)));
    clocks_ = std::make_unique<BatchClock[]>(threads);
}

void Team::run(Link& link) {
#pragma omp parallel num_threads(config_.threads)
    thread_main(omp_get_thread_num(), link);
}

void Team::thread_main(int tid, Link& link) {
    const auto t = static_cast<std::size_t>(tid);
    RunContext::set_thread_index(tid);
    double busy = 0;
    std::uint64_t done = 0;
    try {
        AnyPartial& partial = *partials_[t];
        // With retries, each batch adds into a scratch partial first, so that a batch that throws leaves no trace.
        const bool recover = config_.max_retries > 0 || config_.skip_failed;
        std::unique_ptr<AnyPartial> scratch = recover ? job_.new_partial(ctx_) : nullptr;
        std::vector<double>& bins = thread_bins_[t];
        const auto threads = static_cast<std::uint64_t>(config_.threads);
        const bool alone = ctx_.ranks() == 1;
        // Item inputs: each batch's values are read just before it runs, into this thread's buffers, so that the rank
        // holds no more of them than its threads have in hand (a batch is cut to what fits).
        ItemInputs& inputs = ctx_.inputs();
        const bool reads_inputs = !inputs.empty();
        HeldInputs held;
        struct Release {
            ItemInputs& inputs;
            HeldInputs& held;
            ~Release() { inputs.release(held); }
        } release{inputs, held};
        Chunk* chunk = current();
        bool drained = false;  // nothing left to claim in `chunk`
        while (!stopped() && !paused()) {
            if (chunk != nullptr && !drained) {
                const double per_item = done > 0 ? busy / static_cast<double>(done) : kServeInterval;
                const auto cap = std::min(alone ? UINT64_MAX : static_cast<std::uint64_t>(kServeInterval / per_item),
                                          inputs.batch_items());
                const ItemRange batch = chunk->claim(threads, cap, drained);
                if (!batch.empty()) {
                    if (reads_inputs) inputs.load(batch, held);
                    const ItemInputs::Current reading(held);
                    BatchSink sink(*chunk, batch, ctx_.columns(), phase_, chunks_);
                    const double t0 = now_s();
                    const InBatch in_batch(clocks_[t].started, t0);
                    try {
                        const KernelScope in_kernel(batch);
                        job_.process_any(batch, recover ? *scratch : partial, sink, ctx_);
                        sink.commit();
                        if (recover) {
                            partial.merge(*scratch);
                            scratch = job_.new_partial(ctx_);
                        }
                    } catch (const std::exception& e) {
                        if (!recover) {
                            fail(Error::Failure("job '" + config_.job_name + "' failed on items [" +
                                                std::to_string(batch.begin) + ", " + std::to_string(batch.end) +
                                                ") of phase '" + phase_.name + "' on rank " +
                                                std::to_string(ctx_.rank()) + ": " + e.what()));
                            link.failed();
                            break;
                        }
                        scratch = job_.new_partial(ctx_);
                        chunk->fail(batch);
                        kernel_failed(batch, e, link);
                        continue;
                    }
                    const double t1 = now_s();
                    const double spent = t1 - t0;
                    busy += spent;
                    done += batch.size();
                    unreported_items_.fetch_add(batch.size(), std::memory_order_relaxed);
                    unreported_ns_.fetch_add(static_cast<std::uint64_t>(spent * 1e9), std::memory_order_relaxed);
                    record_cost(bins, batch, spent);
                    BatchClock& clock = clocks_[t];
                    clock.log_sum.store(clock.log_sum.load(std::memory_order_relaxed) + std::log(std::max(spent, 1e-9)),
                                        std::memory_order_relaxed);
                    clock.batches.fetch_add(1, std::memory_order_relaxed);
                    if (config_.trace != nullptr) config_.trace->chunk(tid, phase_index_, chunk->range, batch, t0, t1);
                    // A drained chunk goes to fetch(), which looks at the messages anyway.
                    if (!drained) link.between_batches(t1);
                    continue;
                }
            }
            const std::unique_lock lock(lock_);
            if (Chunk* newer = current(); newer != chunk) {  // another thread fetched one: share it
                chunk = newer;
                drained = false;
                continue;
            }
            if (finished_) break;
            const std::optional<ItemRange> next = link.fetch();
            if (!next) {
                finished_ = true;
                break;
            }
            set_current(*next);
            chunk = current();
            drained = false;
        }
    } catch (const Error& e) {
        fail(e);
        link.failed();
    } catch (const std::exception& e) {
        fail(Error::Failure("job '" + config_.job_name + "' failed in phase '" + phase_.name + "' on rank " +
                            std::to_string(ctx_.rank()) + ": " + e.what()));
        link.failed();
    } catch (...) {
        fail(Error::Failure("job '" + config_.job_name + "' threw something that is not a std::exception in phase '" +
                            phase_.name + "' on rank " + std::to_string(ctx_.rank())));
        link.failed();
    }
    thread_busy_[t] = busy;
    thread_items_[t] = done;
    RunContext::set_thread_index(-1);
}

/// A batch threw and will run again: its items go back to rank 0.
void Team::kernel_failed(ItemRange batch, const std::exception& e, Link& link) {
    ctx_.warn("items [" + std::to_string(batch.begin) + ", " + std::to_string(batch.end) + ") of phase '" +
              phase_.name + "' failed: " + e.what() + "; handed back to rank 0 to retry or skip");
    link.hand_back(batch);
}

/// Spreads a batch's time evenly over its items' bins.
void Team::record_cost(std::vector<double>& bins, ItemRange batch, double seconds) const {
    if (bins.empty()) return;
    const std::size_t first = sched::CostProfile::bin_of(batch.begin, phase_.items, bins.size());
    const std::size_t last = sched::CostProfile::bin_of(batch.end - 1, phase_.items, bins.size());
    if (first == last) {
        bins[first] += seconds;
        return;
    }
    const double per_item = seconds / static_cast<double>(batch.size());
    for (std::uint64_t i = batch.begin; i < batch.end; ++i) {
        bins[sched::CostProfile::bin_of(i, phase_.items, bins.size())] += per_item;
    }
}

bool Team::stuck(double now) const {
    const double limit = long_batch_s();
    for (int t = 0; t < config_.threads; ++t) {
        const double started = clocks_[static_cast<std::size_t>(t)].started.load(std::memory_order_relaxed);
        if (started == 0 || now - started < limit) return false;
    }
    return true;
}

double Team::long_batch_s() const {
    std::uint64_t batches = 0;
    double log_sum = 0;
    for (int t = 0; t < config_.threads; ++t) {
        const BatchClock& clock = clocks_[static_cast<std::size_t>(t)];
        batches += clock.batches.load(std::memory_order_relaxed);
        log_sum += clock.log_sum.load(std::memory_order_relaxed);
    }
    if (batches == 0) return kFirstBatchFloor;
    return std::max(kLongBatchFloor, kLongBatchFactor * std::exp(log_sum / static_cast<double>(batches)));
}

sched::Report Team::take_report() {
    return {unreported_items_.exchange(0, std::memory_order_relaxed),
            static_cast<double>(unreported_ns_.exchange(0, std::memory_order_relaxed)) * 1e-9};
}

void Team::fail(const Error& error) noexcept {
    {
        const std::lock_guard lock(failure_mutex_);
        if (!failure_) failure_ = error;
    }
    stop_.store(true, std::memory_order_relaxed);
}

std::unique_ptr<AnyPartial> Team::take_partial() {
    for (std::size_t t = 1; t < partials_.size(); ++t) partials_[0]->merge(*partials_[t]);
    return std::move(partials_[0]);
}

std::uint64_t Team::items() const {
    std::uint64_t n = 0;
    for (auto v : thread_items_) n += v;
    return n;
}

double Team::busy_s() const {
    double s = 0;
    for (double b : thread_busy_) s += b;
    return s;
}

std::vector<double> Team::measured_bins() const {
    std::vector<double> bins(thread_bins_.front().size());
    for (const auto& t : thread_bins_) {
        for (std::size_t b = 0; b < bins.size(); ++b) bins[b] += t[b];
    }
    return bins;
}

}  // namespace pel::exec
