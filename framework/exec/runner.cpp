// exec/runner.cpp: the master-rank scheduler, the worker protocol and the OpenMP team of each rank.
//
// Rank 0 owns the phase's Dispenser. Its threads compute like everyone else's and, between batches of items,
// answer the chunk requests that have arrived (try-lock, so at most one thread serves). Worker ranks ask for a
// chunk whenever theirs runs out. Within a rank the current chunk is shared by the team through an atomic cursor,
// each thread claiming a batch of items at a time. MPI is called by one thread at a time (MPI_THREAD_SERIALIZED).
#include "exec/runner.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <omp.h>
#include <optional>
#include <thread>

#include <sched.h>

#include "io/arrays.hpp"

namespace pel::exec {

namespace {

constexpr int kTagRequest = 101;
constexpr int kTagGrant = 102;
/// How long rank 0 computes between looks at its request queue, in seconds.
constexpr double kServeInterval = 200e-6;

enum class RequestKind : std::uint32_t {
    work,  ///< "give me a chunk"; answered with one GrantMsg
    bye,   ///< "I will send nothing more this phase"; not answered
};

/// Worker to rank 0, on one tag so that a worker's messages arrive in the order sent. Carries what the worker did
/// since its previous message, which adaptive techniques learn from.
struct RequestMsg {
    RequestKind kind = RequestKind::work;
    std::uint32_t failed = 0;  ///< with bye: this rank's kernel threw
    std::uint64_t items = 0;
    double busy_s = 0;
};

enum class GrantKind : std::uint32_t { chunk, done, abort };

/// Rank 0 to worker: a chunk, or the end of the phase (for this worker), or "stop: a rank failed".
struct GrantMsg {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    GrantKind kind = GrantKind::done;
};

/// Waits politely: spins while cores are to spare, else yields and then sleeps with a growing pause, so that
/// many ranks waiting on few cores do not poll the working ones out of the CPU.
class Backoff {
  public:
    explicit Backoff(bool oversubscribed) : oversubscribed_(oversubscribed) {}

    void pause() {
        ++polls_;
        if (!oversubscribed_) {
            if (polls_ % 1024 == 0) sched_yield();
            return;
        }
        if (polls_ < 16) {
            sched_yield();
            return;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(std::min<long>(200, 10L << std::min(polls_ - 16, 5))));
    }

  private:
    bool oversubscribed_;
    int polls_ = 0;
};

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

/// A per-item output the job declared.
struct Column {
    std::string name;
    ScalarType type;
    std::uint64_t items;
    std::uint64_t width;
    std::size_t row_bytes;
};

/// The Context and SetupContext a job sees.
class RunContext final : public SetupContext {
  public:
    RunContext(const mpi::Comm& comm, io::ResultsFile& out, int threads, const Log& log)
        : comm_(comm), out_(out), threads_(threads), log_(log) {}

    [[nodiscard]] int rank() const override { return comm_.rank(); }
    [[nodiscard]] int ranks() const override { return comm_.size(); }
    [[nodiscard]] int threads() const override { return threads_; }
    [[nodiscard]] int phase() const override { return phase_; }
    void log(const std::string& line) const override { log_.info(line); }
    void warn(const std::string& line) const override { log_.warn(line); }

    bool file_exists(const std::string& path) override {
        std::vector<std::byte> answer(1);
        if (comm_.rank() == 0) {
            std::error_code ec;
            answer[0] = std::byte{std::filesystem::is_regular_file(path, ec) ? std::uint8_t{1} : std::uint8_t{0}};
        }
        comm_.bcast_bytes(answer, 0);
        return answer[0] != std::byte{0};
    }

    [[nodiscard]] const std::vector<Column>& columns() const noexcept { return columns_; }
    void set_phase(int phase) noexcept { phase_ = phase; }

  protected:
    std::vector<std::byte> read_raw(const std::string& file, const std::string& dataset, ScalarType type,
                                    std::vector<std::uint64_t>& dims) override {
        std::vector<std::byte> data = mpi::agree(comm_, [&] {
            return comm_.rank() == 0 ? io::read_array(file, dataset, type, dims) : std::vector<std::byte>{};
        });
        std::vector<std::byte> shape(dims.size() * sizeof(std::uint64_t));
        std::memcpy(shape.data(), dims.data(), shape.size());
        comm_.bcast_bytes(shape, 0);
        dims.resize(shape.size() / sizeof(std::uint64_t));
        std::memcpy(dims.data(), shape.data(), shape.size());
        comm_.bcast_bytes(data, 0);
        return data;
    }

    void write_raw(const std::string& file, const std::string& dataset, ScalarType type,
                   const std::vector<std::uint64_t>& dims, std::span<const std::byte> data) override {
        mpi::agree(comm_, [&] {
            if (comm_.rank() == 0) io::write_array(file, dataset, type, dims, data);
        });
    }

    int declare_column(const std::string& name, ScalarType type, std::uint64_t items, std::uint64_t width,
                       const std::string& description) override {
        if (width == 0) throw Error::Failure("item output '" + name + "' has width 0");
        for (const auto& c : columns_) {
            if (c.name == name) throw Error::Failure("item output '" + name + "' is declared twice");
        }
        std::vector<std::uint64_t> dims{items};
        if (width > 1) dims.push_back(width);
        mpi::agree(comm_, [&] {
            out_.create_dataset(name, type, dims);
            if (!description.empty()) out_.dataset_attribute(name, "description", description);
        });
        columns_.push_back({name, type, items, width, static_cast<std::size_t>(width) * scalar_size(type)});
        return static_cast<int>(columns_.size()) - 1;
    }

  private:
    const mpi::Comm& comm_;
    io::ResultsFile& out_;
    int threads_;
    const Log& log_;
    int phase_ = -1;
    std::vector<Column> columns_;
};

/// A chunk a rank received: its items, the cursor its threads claim from, and its rows of each item output.
struct Slot {
    Slot(ItemRange r, std::size_t columns)
        : range(r), next(r.begin), ready(std::make_unique<std::atomic<bool>[]>(columns)), rows(columns) {}

    /// The row buffer of column `c`, allocated (zeroed) on first use by any thread.
    std::byte* rows_of(std::size_t c, std::size_t row_bytes) {
        if (!ready[c].load(std::memory_order_acquire)) {
            const std::lock_guard lock(alloc);
            if (!ready[c].load(std::memory_order_relaxed)) {
                rows[c].assign(range.size() * row_bytes, std::byte{0});
                ready[c].store(true, std::memory_order_release);
            }
        }
        return rows[c].data();
    }

    ItemRange range;
    std::atomic<std::uint64_t> next;
    std::unique_ptr<std::atomic<bool>[]> ready;
    std::vector<std::vector<std::byte>> rows;
    std::mutex alloc;
};

/// The ItemSink of one batch of items.
class BatchSink final : public ItemSink {
  public:
    BatchSink(Slot& slot, ItemRange batch, const std::vector<Column>& columns, const Phase& phase)
        : slot_(slot), batch_(batch), columns_(columns), phase_(phase) {}

  protected:
    std::byte* row_bytes(int column, std::uint64_t item) override {
        if (column < 0 || static_cast<std::size_t>(column) >= columns_.size()) {
            throw Error::Failure("the job wrote to an item output it did not declare");
        }
        const Column& c = columns_[static_cast<std::size_t>(column)];
        if (c.items != phase_.items) {
            throw Error::Failure("item output '" + c.name + "' has " + std::to_string(c.items) + " rows but phase '" +
                                 phase_.name + "' has " + std::to_string(phase_.items) + " items");
        }
        if (item < batch_.begin || item >= batch_.end) {
            throw Error::Failure("the job wrote row " + std::to_string(item) + " of '" + c.name +
                                 "' outside the items it was given");
        }
        return slot_.rows_of(static_cast<std::size_t>(column), c.row_bytes) + (item - slot_.range.begin) * c.row_bytes;
    }

  private:
    Slot& slot_;
    ItemRange batch_;
    const std::vector<Column>& columns_;
    const Phase& phase_;
};

/// One phase on one rank.
class PhaseRun {
  public:
    PhaseRun(JobBase& job, RunContext& ctx, const mpi::Comm& comm, const RunConfig& config, const Phase& phase)
        : job_(job),
          ctx_(ctx),
          comm_(comm),
          config_(config),
          phase_(phase),
          dispenser_(config.schedule, phase.items, comm.size()) {
        for (int t = 0; t < config_.threads; ++t) partials_.push_back(job_.new_partial(ctx_));
        thread_busy_.assign(static_cast<std::size_t>(config_.threads), 0.0);
        thread_items_.assign(static_cast<std::size_t>(config_.threads), 0);
    }

    /// Processes this rank's share of the phase with the OpenMP team; returns once rank 0 has said the phase is
    /// over (or, on rank 0, once every worker has been told so).
    void execute() {
        if (comm_.rank() == 0 && comm_.size() > 1) {
            // Rank 0's threads answer requests between short batches, but one long item would leave every worker
            // waiting: a server thread, asleep when there is nothing to do, answers whatever they leave.
            std::thread server([this] { serve_until_all_done(); });
#pragma omp parallel num_threads(config_.threads)
            thread_main(omp_get_thread_num());
            server.join();
            return;
        }
#pragma omp parallel num_threads(config_.threads)
        thread_main(omp_get_thread_num());
        if (comm_.rank() == 0) return;
        // Every request gets its answer before the goodbye (after a failure, chunks still arriving are dropped:
        // the run is ending).
        while (!pending_.empty()) {
            const double t0 = now_s();
            wait_for_front();
            wait_s_ += now_s() - t0;
        }
        const sched::Report report = take_report();
        comm_.send(RequestMsg{RequestKind::bye, failure_ ? 1u : 0u, report.items, report.busy_s}, 0, kTagRequest);
    }

    /// The first error on this rank, if any.
    [[nodiscard]] const std::optional<Error>& failure() const noexcept { return failure_; }

    /// This rank's partial of the phase (merged over its threads).
    std::unique_ptr<AnyPartial> take_partial() {
        for (std::size_t t = 1; t < partials_.size(); ++t) partials_[0]->merge(*partials_[t]);
        return std::move(partials_[0]);
    }

    /// This rank's rows of column `c`: every chunk's, zeros where the kernel wrote none.
    [[nodiscard]] std::vector<io::RowBlock> rows(std::size_t c, std::size_t row_bytes) {
        std::vector<io::RowBlock> blocks;
        for (auto& slot : slots_) {
            if (slot.range.empty()) continue;
            std::vector<std::byte> bytes =
                slot.ready[c] ? std::move(slot.rows[c]) : std::vector<std::byte>(slot.range.size() * row_bytes);
            blocks.push_back({slot.range.begin, slot.range.size(), std::move(bytes)});
        }
        return blocks;
    }

    /// True if the kernel wrote a row of column `c` on this rank.
    [[nodiscard]] bool wrote(std::size_t c) const {
        return std::any_of(slots_.begin(), slots_.end(), [c](const Slot& s) { return s.ready[c].load(); });
    }

    [[nodiscard]] std::uint64_t items() const {
        std::uint64_t n = 0;
        for (auto v : thread_items_) n += v;
        return n;
    }

    /// This rank's share of the phase, which lasted `phase_s` on the slowest rank.
    [[nodiscard]] RankStats stats(double phase_s) const {
        RankStats s;
        s.items = items();
        s.chunks = slots_.size();
        for (double b : thread_busy_) s.busy_s += b;
        s.idle_s = std::max(0.0, phase_s * config_.threads - s.busy_s);
        s.wait_s = wait_s_;
        s.serve_s = serve_s_;
        s.requests = requests_;
        return s;
    }

  private:
    void thread_main(int tid) {
        AnyPartial& partial = *partials_[static_cast<std::size_t>(tid)];
        const auto threads = static_cast<std::uint64_t>(config_.threads);
        Slot* slot = current_.load(std::memory_order_acquire);
        double busy = 0;
        std::uint64_t done = 0;
        const bool serving = comm_.rank() == 0 && comm_.size() > 1;
        while (!stop_.load(std::memory_order_relaxed)) {
            if (slot != nullptr) {
                const std::uint64_t end = slot->range.end;
                const std::uint64_t seen = std::min(slot->next.load(std::memory_order_relaxed), end);
                std::uint64_t grain = std::max<std::uint64_t>(1, (end - seen) / (2 * threads));
                if (serving) {
                    // Rank 0 answers requests between batches: keep batches near kServeInterval long.
                    const double per_item = done > 0 ? busy / static_cast<double>(done) : kServeInterval;
                    grain = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(kServeInterval / per_item), 1, grain);
                }
                const std::uint64_t begin = slot->next.fetch_add(grain, std::memory_order_relaxed);
                if (begin < end) {
                    const ItemRange batch{begin, std::min(begin + grain, end)};
                    BatchSink sink(*slot, batch, ctx_.columns(), phase_);
                    const double t0 = now_s();
                    try {
                        job_.process_any(batch, partial, sink, ctx_);
                    } catch (const std::exception& e) {
                        record_failure(batch, e);
                        break;
                    }
                    const double spent = now_s() - t0;
                    busy += spent;
                    done += batch.size();
                    unreported_items_.fetch_add(batch.size(), std::memory_order_relaxed);
                    unreported_ns_.fetch_add(static_cast<std::uint64_t>(spent * 1e9), std::memory_order_relaxed);
                    if (serving) serve_pending();
                    continue;
                }
            }
            std::unique_lock lock(queue_mutex_);
            Slot* current = current_.load(std::memory_order_acquire);
            if (current != slot) {
                slot = current;
                continue;
            }
            if (finished_) break;
            const std::optional<ItemRange> chunk = fetch();
            if (!chunk) {
                finished_ = true;
                break;
            }
            slot = &slots_.emplace_back(*chunk, ctx_.columns().size());
            current_.store(slot, std::memory_order_release);
        }
        thread_busy_[static_cast<std::size_t>(tid)] = busy;
        thread_items_[static_cast<std::size_t>(tid)] = done;
    }

    /// What this rank did since its last report.
    sched::Report take_report() {
        return {unreported_items_.exchange(0, std::memory_order_relaxed),
                static_cast<double>(unreported_ns_.exchange(0, std::memory_order_relaxed)) * 1e-9};
    }

    /// The next chunk for this rank; called under queue_mutex_. A worker keeps `prefetch` requests in flight (or
    /// answered and waiting) while it computes, so that it seldom waits for rank 0.
    std::optional<ItemRange> fetch() {
        if (comm_.rank() == 0) {
            const std::lock_guard lock(sched_mutex_);
            serve_locked();
            if (abort_) return std::nullopt;
            dispenser_.report(0, take_report());
            return dispenser_.next(0);
        }
        const double t0 = now_s();
        while (true) {
            if (stop_) return std::nullopt;  // a failure here or elsewhere: execute() settles what is in flight
            collect_arrived();
            if (!ready_.empty()) {
                const ItemRange chunk = ready_.front();
                ready_.pop_front();
                top_up(config_.prefetch);
                wait_s_ += now_s() - t0;
                return chunk;
            }
            if (final_ && pending_.empty()) {
                wait_s_ += now_s() - t0;
                return std::nullopt;
            }
            top_up(std::max(config_.prefetch, 1));
            wait_for_front();
        }
    }

    /// Sends requests until `depth` chunks are asked for or waiting.
    void top_up(int depth) {
        while (!final_ && !stop_ && pending_.size() + ready_.size() < static_cast<std::size_t>(depth)) {
            const sched::Report report = take_report();
            comm_.send(RequestMsg{RequestKind::work, 0, report.items, report.busy_s}, 0, kTagRequest);
            Pending& p = pending_.emplace_back();
            p.request = comm_.irecv(p.grant, 0, kTagGrant);
        }
    }

    /// Takes in the grants that have arrived (they arrive in the order asked).
    void collect_arrived() {
        while (!pending_.empty() && pending_.front().request.test()) accept_front();
    }

    /// Waits for the oldest outstanding grant, politely, and takes it in.
    void wait_for_front() {
        Backoff backoff(config_.oversubscribed);
        while (!pending_.front().request.test()) backoff.pause();
        accept_front();
    }

    void accept_front() {
        const GrantMsg grant = pending_.front().grant;
        pending_.pop_front();
        if (grant.kind == GrantKind::chunk) {
            if (!stop_) ready_.push_back({grant.begin, grant.end});
            return;
        }
        final_ = true;
        if (grant.kind == GrantKind::abort) stop_ = true;
    }

    /// Rank 0, between batches: answers waiting requests unless another thread is already doing so.
    void serve_pending() {
        const std::unique_lock lock(sched_mutex_, std::try_to_lock);
        if (lock.owns_lock()) serve_locked();
    }

    void serve_locked() {
        while (const auto status = comm_.iprobe(mpi::any_source, kTagRequest)) answer(status->source);
    }

    /// Rank 0, after its own work: answers every worker until each has said goodbye.
    void serve_until_all_done() {
        std::unique_lock lock(sched_mutex_, std::defer_lock);
        int idle_polls = 0;
        while (true) {
            lock.lock();
            const bool all_gone = byes_ == comm_.size() - 1;
            const auto status = all_gone ? std::nullopt : comm_.iprobe(mpi::any_source, kTagRequest);
            if (status) answer(status->source);
            lock.unlock();
            if (all_gone) return;
            // Requests come in bursts: poll hard just after one, then sleep longer and longer (to 160 us).
            idle_polls = status ? 0 : idle_polls + 1;
            if (idle_polls > 64) {
                std::this_thread::sleep_for(std::chrono::microseconds(20 << std::min((idle_polls - 64) / 8, 3)));
            }
        }
    }

    /// Adds the time of one answer to serve_s_ however the answer ends.
    struct Served {
        PhaseRun& run;
        double t0;
        ~Served() {
            run.serve_s_ += now_s() - t0;
            ++run.requests_;
        }
    };

    /// Receives one message from `source` and answers it if it asks for work.
    void answer(int source) {
        const double t0 = now_s();
        Served served{*this, t0};
        RequestMsg request;
        comm_.recv(request, source, kTagRequest);
        dispenser_.report(source, {request.items, request.busy_s});
        if (request.kind == RequestKind::bye) {
            ++byes_;
            if (request.failed != 0) abort_ = true;
            return;
        }
        GrantMsg grant;
        if (abort_) {
            grant.kind = GrantKind::abort;
        } else if (const auto chunk = dispenser_.next(source)) {
            grant = {chunk->begin, chunk->end, GrantKind::chunk};
        }
        comm_.send(grant, source, kTagGrant);
    }

    void record_failure(ItemRange batch, const std::exception& e) {
        const std::lock_guard lock(failure_mutex_);
        if (!failure_) {
            failure_ = Error::Failure("job '" + config_.job_name + "' failed on items [" + std::to_string(batch.begin) +
                                      ", " + std::to_string(batch.end) + ") of phase '" + phase_.name + "' on rank " +
                                      std::to_string(comm_.rank()) + ": " + e.what());
        }
        stop_ = true;
        if (comm_.rank() == 0) {
            const std::lock_guard sched_lock(sched_mutex_);
            abort_ = true;  // the server answers every further request with "abort"
        }
    }

    JobBase& job_;
    RunContext& ctx_;
    const mpi::Comm& comm_;
    const RunConfig& config_;
    const Phase& phase_;

    // Rank 0's scheduling state, guarded by sched_mutex_ (which also serialises rank 0's MPI calls).
    std::mutex sched_mutex_;
    sched::Dispenser dispenser_;
    bool abort_ = false;
    int byes_ = 0;
    double serve_s_ = 0;
    std::uint64_t requests_ = 0;

    // This rank's chunks, guarded by queue_mutex_ (which also serialises a worker's MPI calls).
    std::mutex queue_mutex_;
    std::deque<Slot> slots_;
    std::atomic<Slot*> current_{nullptr};
    bool finished_ = false;
    double wait_s_ = 0;
    /// A request sent to rank 0 whose grant is awaited; the grant lands in place (deque: never moves).
    struct Pending {
        GrantMsg grant;
        mpi::Request request;
    };
    std::deque<Pending> pending_;
    std::deque<ItemRange> ready_;  ///< granted chunks not yet started
    bool final_ = false;           ///< rank 0 said "done" or "abort"
    std::atomic<std::uint64_t> unreported_items_{0};
    std::atomic<std::uint64_t> unreported_ns_{0};

    std::atomic<bool> stop_{false};
    std::mutex failure_mutex_;
    std::optional<Error> failure_;

    std::vector<std::unique_ptr<AnyPartial>> partials_;
    std::vector<double> thread_busy_;
    std::vector<std::uint64_t> thread_items_;
};

/// The ResultSink over the results file.
class FileSink final : public ResultSink {
  public:
    explicit FileSink(io::ResultsFile& out) : out_(out) {}
    void attribute(const std::string& name, const std::string& value) override { out_.attribute(name, value); }

  protected:
    void dataset_raw(const std::string& name, ScalarType type, const std::vector<std::uint64_t>& dims,
                     std::span<const std::byte> data, const std::string& description) override {
        out_.write_whole(name, type, dims, data);
        if (!description.empty()) out_.dataset_attribute(name, "description", description);
    }
    void attribute_raw(const std::string& name, ScalarType type, const void* value) override {
        out_.attribute(name, type, value);
    }

  private:
    io::ResultsFile& out_;
};

/// Merges every rank's partial on rank 0 and gives the total to every rank. \note collective
std::unique_ptr<AnyPartial> combine(JobBase& job, const Context& ctx, const mpi::Comm& comm, const AnyPartial& mine) {
    OutArchive local;
    mine.save(local);
    const auto all = comm.gather_bytes(local.bytes(), 0);
    std::vector<std::byte> total = mpi::agree(comm, [&] {
        if (comm.rank() != 0) return std::vector<std::byte>{};
        auto sum = job.new_partial(ctx);
        for (const auto& bytes : all) {
            auto part = job.new_partial(ctx);
            InArchive in(bytes);
            part->load(in);
            sum->merge(*part);
        }
        OutArchive out;
        sum->save(out);
        return out.take();
    });
    comm.bcast_bytes(total, 0);
    return mpi::agree(comm, [&] {
        auto result = job.new_partial(ctx);
        InArchive in(total);
        result->load(in);
        return result;
    });
}

}  // namespace

RunSummary run(JobBase& job, const mpi::Comm& comm, io::ResultsFile& out, const RunConfig& config, const Log& log) {
    RunContext ctx(comm, out, config.threads, log);
    mpi::agree(comm, [&] { job.setup(ctx); });

    RunSummary summary;
    RankStats mine;
    for (int index = 0;; ++index) {
        const std::optional<Phase> phase = mpi::agree(comm, [&] { return job.next_phase(ctx); });
        if (!phase) break;
        ctx.set_phase(index);
        log.info("phase " + std::to_string(index) + " '" + phase->name + "': " + std::to_string(phase->items) +
                 " items");
        auto run_phase = mpi::agree(comm, [&] { return std::make_unique<PhaseRun>(job, ctx, comm, config, *phase); });
        const double started = now_s();
        run_phase->execute();
        const double computed = now_s();
        mpi::detail::settle(comm, run_phase->failure() ? &*run_phase->failure() : nullptr);

        const std::uint64_t processed = comm.allreduce_sum(run_phase->items());
        if (processed != phase->items) {  // the same verdict on every rank, so no agreement is needed
            throw mpi::AgreedError(ExitCode::internal,
                                   "internal error: phase '" + phase->name + "' processed " +
                                       std::to_string(processed) + " items of " + std::to_string(phase->items),
                                   0);
        }
        const auto total = combine(job, ctx, comm, *run_phase->take_partial());
        const auto& columns = ctx.columns();
        for (std::size_t c = 0; c < columns.size(); ++c) {
            if (comm.allreduce_max(std::int64_t{run_phase->wrote(c) ? 1 : 0}) == 0) continue;
            mpi::agree(comm, [&] { out.write_rows(columns[c].name, run_phase->rows(c, columns[c].row_bytes)); });
        }
        mpi::agree(comm, [&] { job.end_phase_any(*total, ctx); });
        if (comm.rank() == 0 && log.verbose()) {
            char line[160];
            std::snprintf(line, sizeof line, "phase %d done: compute %.3f s, combine and write %.3f s", index,
                          computed - started, now_s() - computed);
            log.info(line);
        }

        const double phase_s = comm.allreduce_max(computed - started);
        summary.makespan_s += phase_s;
        const RankStats s = run_phase->stats(phase_s);
        mine.items += s.items;
        mine.chunks += s.chunks;
        mine.busy_s += s.busy_s;
        mine.idle_s += s.idle_s;
        mine.wait_s += s.wait_s;
        mine.serve_s += s.serve_s;
        mine.requests += s.requests;
        summary.phases = index + 1;
    }

    FileSink sink(out);
    mpi::agree(comm, [&] { job.write_results(sink, ctx); });

    const auto gather = [&](double v) { return comm.allgather(v); };
    const auto items = gather(static_cast<double>(mine.items));
    const auto chunks = gather(static_cast<double>(mine.chunks));
    const auto busy = gather(mine.busy_s);
    const auto idle = gather(mine.idle_s);
    const auto wait = gather(mine.wait_s);
    const auto serve = gather(mine.serve_s);
    const auto requests = gather(static_cast<double>(mine.requests));
    double busy_total = 0, busy_max = 0;
    for (std::size_t r = 0; r < items.size(); ++r) {
        summary.ranks.push_back({static_cast<std::uint64_t>(items[r]), static_cast<std::uint64_t>(chunks[r]), busy[r],
                                 idle[r], wait[r], serve[r], static_cast<std::uint64_t>(requests[r])});
        busy_total += busy[r];
        busy_max = std::max(busy_max, busy[r]);
    }
    summary.lower_bound_s = busy_total / static_cast<double>(comm.size() * config.threads);
    summary.imbalance = busy_total > 0 ? busy_max / (busy_total / static_cast<double>(comm.size())) : 1.0;
    return summary;
}

}  // namespace pel::exec
