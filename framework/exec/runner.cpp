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
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <omp.h>
#include <optional>
#include <sched.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>

#include "exec/arena.hpp"
#include "exec/signals.hpp"
#include "exec/trace.hpp"
#include "io/arrays.hpp"
#include "mpi/environment.hpp"

namespace pel::exec {

namespace {

constexpr int kTagRequest = 101;
constexpr int kTagGrant = 102;
/// How long a thread computes between looks at its messages (requests on rank 0, steals elsewhere), in seconds.
constexpr double kServeInterval = 200e-6;
/// A worker's threads look for steal requests between batches at most this often (seconds): a probe costs about
/// as much as a tiny item.
constexpr double kStealPoll = 20e-6;

constexpr int kTagSteal = 103;
/// --prefetch auto: the deepest it goes, and the run of chunks found waiting after which it asks one fewer ahead.
constexpr int kMaxAutoPrefetch = 16;
constexpr int kAutoPrefetchPatience = 64;
/// How often a worker's helper thread wakes to answer steal requests and send heartbeats.
constexpr auto kHelperNap = std::chrono::milliseconds(10);
/// The longest a worker goes without a message to rank 0 while heartbeats are on (seconds).
constexpr double kBeatPeriod = 2.0;
/// With known costs, a rank is not granted more ahead while its work in hand is expected to last longer than this
/// share of an even split of what is not yet granted (see PhaseRun::hold_back).
constexpr double kAheadShare = 0.5;

enum class RequestKind : std::uint32_t {
    work,    ///< "give me a chunk"; answered with one GrantMsg
    bye,     ///< "I will ask for nothing more this phase"; answered with an ack once no steal is open
    stolen,  ///< the answer to a steal request: [begin, end) given up (empty: nothing to give)
    report,  ///< progress only, sent by an idle worker so that rank 0 knows what is left where; not answered
    signal,  ///< this rank got a stop signal: pause for a checkpoint and stop; not answered
    failed,  ///< the kernel threw on [begin, end): run those items again elsewhere; not answered
    alive,   ///< a heartbeat; not answered
};

/// Sent on kTagSteal instead of a thief's rank: "stop claiming items, the phase pauses for a checkpoint".
constexpr std::uint64_t kPauseNotice = UINT64_MAX;

/// Worker to rank 0, on one tag so that a worker's messages arrive in the order sent. Carries what the worker did
/// since its previous message, which adaptive techniques learn from.
struct RequestMsg {
    RequestKind kind = RequestKind::work;
    std::uint32_t flag = 0;  ///< with bye: this rank's kernel threw; with work: asked ahead, with work in hand
    std::uint64_t items = 0;
    double busy_s = 0;
    std::uint64_t begin = 0;  ///< with stolen: the items given up
    std::uint64_t end = 0;
};

enum class GrantKind : std::uint32_t {
    chunk,   ///< a chunk from the dispenser (or items to retry)
    held,    ///< a chunk for a request held back (hold_back) until this rank had less in hand
    stolen,  ///< a chunk taken from a busy rank: the phase's tail has begun
    done,
    abort,
    ack,
};

/// Rank 0 to worker: a chunk, the end of the phase for this worker, "stop: a rank failed", or the acknowledgement
/// of a goodbye (whose `begin` is 1 if a pause notice was sent to the worker before it).
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

/// Rank 0's server thread stands by (wakes every kStandbyNap) while a compute thread has looked for requests within
/// kStandby: each look of its own costs a wake-up and an MPI progress poll on the compute threads' core, which
/// measured 8% of a core when it looked every 160 us.
constexpr double kStandby = 5e-3;  // seconds
constexpr auto kStandbyNap = std::chrono::milliseconds(1);

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
            if (!description.empty()) out_.attribute_on(name, "description", description);
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

/// Rows of item outputs this large (bytes, per chunk and output) get a buffer of their own, which goes to the
/// results writer without a copy; smaller ones come from an arena, which saves an allocation per chunk.
constexpr std::size_t kOwnedRows = 64 * 1024;

/// Zeroed buffers of kOwnedRows bytes or more, each its own allocation, handed over whole after the phase.
/// Thread-safe.
class OwnedRows {
  public:
    std::byte* allocate(std::size_t bytes) {
        const std::lock_guard lock(mutex_);
        std::vector<std::byte>& buffer = buffers_.emplace_back(bytes);
        index_[buffer.data()] = buffers_.size() - 1;
        return buffer.data();
    }
    /// The buffer that begins at `rows`, moved out; empty if there is none (rows from an arena, or taken already).
    std::vector<std::byte> take(const std::byte* rows) {
        const std::lock_guard lock(mutex_);
        const auto found = index_.find(rows);
        if (found == index_.end()) return {};
        std::vector<std::byte> buffer = std::move(buffers_[found->second]);
        index_.erase(found);
        return buffer;
    }

  private:
    std::mutex mutex_;
    std::deque<std::vector<std::byte>> buffers_;
    std::unordered_map<const std::byte*, std::size_t> index_;
};

/// Where a slot's threads get rows they write first: an own buffer when large, else the late arena.
struct LateRows {
    Arena& arena;
    std::mutex& arena_mutex;
    OwnedRows& owned;
    std::byte* operator()(std::size_t bytes) const {
        if (bytes >= kOwnedRows) return owned.allocate(bytes);
        const std::lock_guard lock(arena_mutex);
        return arena.allocate(bytes);
    }
};

/// A chunk a rank received: its items, the cursor its threads claim from, and its rows of each item output.
/// Claims and steals take the slot's lock, so an item is either claimed here or given away, never both.
struct Slot {
    Slot(ItemRange r, std::atomic<std::byte*>* column_rows)
        : range(r), rows(column_rows), next_(r.begin), end_(r.end) {}

    /// Claims a batch from the front: a share of what is left for one of `threads`, at most `cap` items. Empty when
    /// nothing is left; `drained` tells whether anything is left after it (a steal only ever takes more away).
    ItemRange claim(std::uint64_t threads, std::uint64_t cap, bool& drained) {
        const std::lock_guard lock(claim_mutex_);
        const std::uint64_t grain =
            std::clamp<std::uint64_t>((end_ - next_) / (2 * threads), 1, std::max<std::uint64_t>(cap, 1));
        const ItemRange batch{next_, std::min(next_ + grain, end_)};
        next_ = batch.end;
        drained = next_ == end_;
        return batch;
    }

    /// Gives up the back half of the unclaimed items (nothing if fewer than two are left).
    ItemRange split() {
        const std::lock_guard lock(claim_mutex_);
        const std::uint64_t left = end_ - next_;
        if (left < 2) return {};
        const ItemRange given{next_ + (left + 1) / 2, end_};
        end_ = given.begin;
        return given;
    }

    /// Items not yet claimed.
    [[nodiscard]] std::uint64_t unclaimed() {
        const std::lock_guard lock(claim_mutex_);
        return end_ - next_;
    }

    /// Marks a claimed batch whose kernel threw: its items are not done here (they run again elsewhere).
    void fail(ItemRange batch) {
        const std::lock_guard lock(claim_mutex_);
        failed_.push_back(batch);
    }

    /// The claimed items less the failed batches, as ranges.
    [[nodiscard]] std::vector<ItemRange> done() {
        const std::lock_guard lock(claim_mutex_);
        std::vector<ItemRange> holes = failed_;
        std::sort(holes.begin(), holes.end(), [](ItemRange a, ItemRange b) { return a.begin < b.begin; });
        std::vector<ItemRange> out;
        std::uint64_t from = range.begin;
        for (const ItemRange& h : holes) {
            if (h.begin > from) out.push_back({from, h.begin});
            from = std::max(from, h.end);
        }
        if (next_ > from) out.push_back({from, next_});
        return out;
    }

    /// The rows of column `c`, zeroed: from `late` on first use by any thread of the team, unless the slot came
    /// with them.
    std::byte* rows_of(std::size_t c, std::size_t row_bytes, const LateRows& late) {
        std::byte* mine = rows[c].load(std::memory_order_acquire);
        if (mine != nullptr) return mine;
        std::byte* fresh = late(range.size() * row_bytes);
        if (rows[c].compare_exchange_strong(mine, fresh, std::memory_order_acq_rel)) return fresh;
        return mine;  // another thread was first: `fresh` stays unused until the phase ends
    }

    const ItemRange range;                ///< as granted
    std::atomic<std::byte*>* const rows;  ///< per item output: its rows, null until written (in the phase's arena)

  private:
    std::mutex claim_mutex_;
    std::uint64_t next_;
    std::uint64_t end_;
    std::vector<ItemRange> failed_;
};

/// The ItemSink of one batch of items.
class BatchSink final : public ItemSink {
  public:
    BatchSink(Slot& slot, ItemRange batch, const std::vector<Column>& columns, const Phase& phase, const LateRows& late,
              std::atomic<bool>* written)
        : slot_(slot), batch_(batch), columns_(columns), phase_(phase), late_(late), written_(written) {}

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
        const auto col = static_cast<std::size_t>(column);
        if (!written_[col].load(std::memory_order_relaxed)) written_[col].store(true, std::memory_order_relaxed);
        return slot_.rows_of(col, c.row_bytes, late_) + (item - slot_.range.begin) * c.row_bytes;
    }

  private:
    Slot& slot_;
    ItemRange batch_;
    const std::vector<Column>& columns_;
    const Phase& phase_;
    const LateRows& late_;
    std::atomic<bool>* written_;
};

/// One phase on one rank.
class PhaseRun {
  public:
    /// Runs the items of `todo` (on rank 0; sorted, disjoint) until done, or until rank 0 pauses the phase at
    /// `pause_at` (now_s() clock) or on a stop signal.
    PhaseRun(JobBase& job, RunContext& ctx, const mpi::Comm& comm, const RunConfig& config, const Phase& phase,
             int phase_index, std::vector<ItemRange> todo, double pause_at, const std::vector<std::string>& hosts)
        : hosts_(hosts),
          job_(job),
          ctx_(ctx),
          comm_(comm),
          config_(config),
          phase_(phase),
          phase_index_(phase_index),
          pause_at_(pause_at),
          dispenser_(config.schedule, phase.items, comm.size(), std::move(todo)),
          ranks_(static_cast<std::size_t>(comm.size())),
          written_(std::make_unique<std::atomic<bool>[]>(ctx.columns().size())),
          depth_(config.prefetch < 0 ? 1 : config.prefetch) {
        for (int t = 0; t < config_.threads; ++t) partials_.push_back(job_.new_partial(ctx_));
        notified_.assign(static_cast<std::size_t>(comm.size()), false);
        last_heard_.assign(static_cast<std::size_t>(comm.size()), now_s());
        thread_busy_.assign(static_cast<std::size_t>(config_.threads), 0.0);
        thread_items_.assign(static_cast<std::size_t>(config_.threads), 0);
        thread_bins_.assign(static_cast<std::size_t>(config_.threads),
                            std::vector<double>(sched::CostProfile::bins_for(phase.items)));
    }

    /// Uses measured costs of this phase's items (from an earlier phase or run) to size chunks. Before execute().
    void use_profile(sched::CostProfile profile) { dispenser_.set_profile(std::move(profile)); }

    /// Seconds this rank spent per bin of items (see sched::CostProfile), summed over its threads.
    [[nodiscard]] std::vector<double> measured_bins() const {
        std::vector<double> bins(thread_bins_.front().size());
        for (const auto& t : thread_bins_) {
            for (std::size_t b = 0; b < bins.size(); ++b) bins[b] += t[b];
        }
        return bins;
    }

    /// Processes this rank's share of the phase with the OpenMP team; returns once rank 0 has said the phase is
    /// over for this rank (on rank 0: once every worker has said goodbye).
    void execute() {
        if (comm_.rank() == 0 && comm_.size() > 1) {
            {
                // Every worker's first chunk is sent unasked: it does not wait for a request to travel, nor does
                // rank 0 meet every request of a large run at once. Rank 0 takes its own first, so that the first
                // chunks go out in rank order, as the results file's blocks of rows do (fewer rows to move).
                const std::scoped_lock lock(queue_mutex_, sched_mutex_);
                if (const auto chunk = dispenser_.next(0)) {
                    if (past_time_limit(*chunk)) {
                        start_pause();
                    } else {
                        ranks_[0].granted += chunk->size();
                        current_.store(&new_slot(*chunk), std::memory_order_release);
                    }
                }
                for (int r = 1; r < comm_.size(); ++r) grant_work(r);
            }
            // Rank 0's threads answer requests between short batches, but one long item would leave every worker
            // waiting: a server thread, asleep when there is nothing to do, answers whatever they leave.
            std::thread server([this] { serve_until_all_done(); });
#pragma omp parallel num_threads(config_.threads)
            thread_main(omp_get_thread_num());
            server.join();
            return;
        }
        std::thread helper;
        if (comm_.rank() != 0) {
            Pending& first = pending_.emplace_back();  // the chunk rank 0 sends unasked
            first.request = comm_.irecv(first.grant, 0, kTagGrant);
            helper = std::thread([this] { help(); });
        }
#pragma omp parallel num_threads(config_.threads)
        thread_main(omp_get_thread_num());
        if (comm_.rank() != 0) finish_worker();
        if (helper.joinable()) helper.join();
    }

    /// The first error on this rank, if any.
    [[nodiscard]] const std::optional<Error>& failure() const noexcept { return failure_; }

    /// This rank's partial of the phase (merged over its threads).
    std::unique_ptr<AnyPartial> take_partial() {
        for (std::size_t t = 1; t < partials_.size(); ++t) partials_[0]->merge(*partials_[t]);
        return std::move(partials_[0]);
    }

    /// This rank's rows of column `c` for the items it processed (every chunk's, less what was stolen or left
    /// unclaimed by a pause), zeros where the kernel wrote none. Once, after execute().
    [[nodiscard]] std::vector<io::RowBlock> rows(std::size_t c, std::size_t row_bytes) {
        std::vector<io::RowBlock> blocks;
        for (auto& slot : slots_) {
            const std::byte* bytes = slot.rows != nullptr ? slot.rows[c].load() : nullptr;
            const std::vector<ItemRange> done = slot.done();
            if (bytes != nullptr && done.size() == 1 && done[0].begin == slot.range.begin) {
                if (std::vector<std::byte> own = owned_rows_.take(bytes); !own.empty()) {  // no copy
                    own.resize(done[0].size() * row_bytes);
                    blocks.push_back({done[0].begin, done[0].size(), std::move(own)});
                    continue;
                }
            }
            for (const ItemRange& d : done) {  // one range, or several around failed batches
                if (bytes == nullptr) {
                    blocks.push_back({d.begin, d.size(), std::vector<std::byte>(d.size() * row_bytes)});
                    continue;
                }
                const std::byte* from = bytes + (d.begin - slot.range.begin) * row_bytes;
                blocks.push_back({d.begin, d.size(), std::vector<std::byte>(from, from + d.size() * row_bytes)});
            }
        }
        return blocks;
    }

    /// The items this rank processed, by chunk. After execute().
    [[nodiscard]] std::vector<ItemRange> done_ranges() {
        std::vector<ItemRange> done;
        for (auto& slot : slots_) {
            for (const ItemRange& d : slot.done()) done.push_back(d);
        }
        return done;
    }

    /// On rank 0: items given up after their retries (their phase field is left 0).
    [[nodiscard]] const std::vector<SkippedItem>& skipped() const noexcept { return skipped_; }

    /// On rank 0: the phase was paused before all its items were done.
    [[nodiscard]] bool paused() const noexcept { return pausing_; }

    /// True if the kernel wrote a row of column `c` on this rank.
    [[nodiscard]] bool wrote(std::size_t c) const { return written_[c].load(); }

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
        s.steals = steals_;
        return s;
    }

  private:
    void thread_main(int tid) {
        AnyPartial& partial = *partials_[static_cast<std::size_t>(tid)];
        // With retries, each batch adds into a scratch partial first, so that a batch that throws leaves no trace.
        const bool recover = config_.max_retries > 0 || config_.skip_failed;
        std::unique_ptr<AnyPartial> scratch = recover ? job_.new_partial(ctx_) : nullptr;
        std::vector<double>& bins = thread_bins_[static_cast<std::size_t>(tid)];
        const auto threads = static_cast<std::uint64_t>(config_.threads);
        Slot* slot = current_.load(std::memory_order_acquire);
        double busy = 0;
        std::uint64_t done = 0;
        const bool worker = comm_.rank() != 0;
        bool drained = false;  // nothing left to claim in `slot`
        double polled = 0;     // when this thread last looked for steal requests (on a worker)
        while (!stop_.load(std::memory_order_relaxed) && !pause_.load(std::memory_order_relaxed)) {
            if (slot != nullptr && !drained) {
                // Between batches rank 0 answers requests and a worker answers steals: batches stay near
                // kServeInterval long, so that neither waits long, and so that unclaimed items remain to be stolen.
                const double per_item = done > 0 ? busy / static_cast<double>(done) : kServeInterval;
                const auto cap = comm_.size() > 1 ? static_cast<std::uint64_t>(kServeInterval / per_item) : UINT64_MAX;
                const ItemRange batch = slot->claim(threads, cap, drained);
                if (!batch.empty()) {
                    BatchSink sink(*slot, batch, ctx_.columns(), phase_, late_, written_.get());
                    const double t0 = now_s();
                    try {
                        job_.process_any(batch, recover ? *scratch : partial, sink, ctx_);
                        if (recover) {
                            partial.merge(*scratch);
                            scratch = job_.new_partial(ctx_);
                        }
                    } catch (const std::exception& e) {
                        if (!recover) {
                            record_failure(batch, e);
                            break;
                        }
                        scratch = job_.new_partial(ctx_);
                        slot->fail(batch);
                        report_failed(batch, e);
                        continue;
                    }
                    const double t1 = now_s();
                    const double spent = t1 - t0;
                    busy += spent;
                    done += batch.size();
                    unreported_items_.fetch_add(batch.size(), std::memory_order_relaxed);
                    unreported_ns_.fetch_add(static_cast<std::uint64_t>(spent * 1e9), std::memory_order_relaxed);
                    record_cost(bins, batch, spent);
                    if (config_.trace != nullptr) config_.trace->chunk(tid, phase_index_, slot->range, batch, t0, t1);
                    // A drained slot goes to fetch(), which looks at the messages anyway. Short batches look for
                    // steal requests at most every kStealPoll: a thief waits a little longer, the worker does not
                    // pay a probe per item.
                    if (drained) continue;
                    if (!worker) {
                        serve_pending(t1);
                    } else if (t1 - polled >= kStealPoll) {
                        polled = t1;
                        answer_steals_if_free();
                    }
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
            slot = &new_slot(*chunk);
            drained = false;
            current_.store(slot, std::memory_order_release);
        }
        thread_busy_[static_cast<std::size_t>(tid)] = busy;
        thread_items_[static_cast<std::size_t>(tid)] = done;
    }

    /// A slot for `chunk`, with rows for the item outputs written so far in the phase (the others come on first
    /// use), all in one piece of the arena. Under queue_mutex_.
    Slot& new_slot(ItemRange chunk) {
        const std::vector<Column>& columns = ctx_.columns();
        if (columns.empty()) return slots_.emplace_back(chunk, nullptr);
        const auto aligned = [](std::size_t n) { return (n + Arena::kAlign - 1) / Arena::kAlign * Arena::kAlign; };
        const std::size_t header = aligned(columns.size() * sizeof(std::atomic<std::byte*>));
        const auto size = [&](std::size_t c) { return chunk.size() * columns[c].row_bytes; };
        std::size_t bytes = header;
        for (std::size_t c = 0; c < columns.size(); ++c) {
            if (written_[c].load(std::memory_order_relaxed) && size(c) < kOwnedRows) bytes += aligned(size(c));
        }
        std::byte* piece = arena_.allocate(bytes);
        auto* rows = reinterpret_cast<std::atomic<std::byte*>*>(piece);
        std::byte* next = piece + header;
        for (std::size_t c = 0; c < columns.size(); ++c) {
            std::byte* mine = nullptr;
            if (written_[c].load(std::memory_order_relaxed)) {
                if (size(c) >= kOwnedRows) {
                    mine = owned_rows_.allocate(size(c));
                } else {
                    mine = next;
                    next += aligned(size(c));
                }
            }
            new (&rows[c]) std::atomic<std::byte*>(mine);
        }
        return slots_.emplace_back(chunk, rows);
    }

    /// Spreads a batch's time evenly over its items' bins.
    void record_cost(std::vector<double>& bins, ItemRange batch, double seconds) const {
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

    /// What this rank did since its last report.
    sched::Report take_report() {
        return {unreported_items_.exchange(0, std::memory_order_relaxed),
                static_cast<double>(unreported_ns_.exchange(0, std::memory_order_relaxed)) * 1e-9};
    }

    /// The next chunk for this rank; called under queue_mutex_.
    std::optional<ItemRange> fetch() { return comm_.rank() == 0 ? fetch_on_rank0() : fetch_on_worker(); }

    // ----- A worker: requests in flight, steals answered -----

    /// A worker keeps `prefetch` requests in flight (or answered and waiting) while it computes, so that it seldom
    /// waits for rank 0.
    std::optional<ItemRange> fetch_on_worker() {
        while (true) {
            // A failure here or elsewhere, or a pause: finish_worker settles what is in flight.
            if (stop_ || pause_) return std::nullopt;
            if (ready_.empty()) collect_arrived();
            if (!ready_.empty()) {
                const ItemRange chunk = ready_.front();
                ready_.pop_front();
                if (config_.prefetch < 0 && ++on_time_ >= kAutoPrefetchPatience && depth_ > 1) {
                    --depth_;
                    on_time_ = 0;
                }
                top_up(depth_, true);
                return chunk;
            }
            answer_steals();
            if (stop_ || pause_) return std::nullopt;
            if (final_ && pending_.empty()) return std::nullopt;
            const bool late = !pending_.empty() && !slots_.empty();  // the phase's first chunk is never late
            top_up(std::max(depth_, 1), false);
            const double t0 = now_s();
            wait_for_front();
            wait_s_ += now_s() - t0;
            if (config_.prefetch < 0 && late && last_kind_ == GrantKind::chunk && !tail_) {
                // A fresh chunk came late (not one held back, nor one stolen in the tail, where the wait is no
                // latency to hide): ask further ahead.
                depth_ = std::min(depth_ + 1, kMaxAutoPrefetch);
                on_time_ = 0;
            }
        }
    }

    /// Sends requests until `depth` chunks are asked for or waiting.
    /// `ahead`: this rank has a chunk in hand (rank 0 may hold the request back until it has less).
    void top_up(int depth, bool ahead) {
        while (!final_ && !stop_ && pending_.size() + ready_.size() < static_cast<std::size_t>(depth)) {
            const sched::Report report = take_report();
            comm_.send(RequestMsg{RequestKind::work, ahead ? 1u : 0u, report.items, report.busy_s, 0, 0}, 0,
                       kTagRequest);
            Pending& p = pending_.emplace_back();
            p.request = comm_.irecv(p.grant, 0, kTagGrant);
        }
    }

    /// Takes in the grants that have arrived (they arrive in the order asked).
    void collect_arrived() {
        while (!pending_.empty() && pending_.front().request.test()) accept_front();
    }

    /// Waits for the oldest outstanding grant, answering steals meanwhile, and takes it in.
    void wait_for_front() {
        Backoff backoff(config_.oversubscribed);
        while (!pending_.front().request.test()) {
            answer_steals();
            if (unreported_items_.load(std::memory_order_relaxed) > 0) {
                // Idle here: tell rank 0 what is finished, so that it does not wait for work this rank no longer has.
                const sched::Report report = take_report();
                comm_.send(RequestMsg{RequestKind::report, 0, report.items, report.busy_s, 0, 0}, 0, kTagRequest);
            }
            backoff.pause();
        }
        accept_front();
    }

    void accept_front() {
        const GrantMsg grant = pending_.front().grant;
        pending_.pop_front();
        last_kind_ = grant.kind;
        if (grant.kind == GrantKind::chunk || grant.kind == GrantKind::held || grant.kind == GrantKind::stolen) {
            tail_ = tail_ || grant.kind == GrantKind::stolen;
            if (!stop_ && !pause_) ready_.push_back({grant.begin, grant.end});
            return;
        }
        final_ = true;
        if (grant.kind == GrantKind::abort) stop_ = true;
    }

    /// Between batches: answers steal requests unless another thread holds the queue.
    void answer_steals_if_free() {
        const std::unique_lock lock(queue_mutex_, std::try_to_lock);
        if (lock.owns_lock()) answer_steals();
    }

    /// Rank 0 asks this rank to give up work for an idle rank: the last granted chunk not yet started, else the
    /// back half of what the threads have not claimed of the current chunk. Called under queue_mutex_.
    void answer_steals() {
        if (!signal_sent_ && stop_signal() != 0) {
            signal_sent_ = true;
            if (config_.trace != nullptr) {
                config_.trace->instant(config_.threads, now_s(), "signal",
                                       "signal " + std::to_string(stop_signal()) + " on this rank: told rank 0");
            }
            comm_.send(RequestMsg{RequestKind::signal, 0, 0, 0, 0, 0}, 0, kTagRequest);
        }
        while (comm_.iprobe(0, kTagSteal)) {
            std::uint64_t thief = 0;
            comm_.recv(thief, 0, kTagSteal);
            if (thief == kPauseNotice) {
                take_pause_notice();
                continue;
            }
            ItemRange given;
            if (!ready_.empty()) {
                given = ready_.back();
                ready_.pop_back();
            } else if (Slot* slot = current_.load(std::memory_order_acquire)) {
                given = slot->split();
            }
            comm_.send(RequestMsg{RequestKind::stolen, 0, 0, 0, given.begin, given.end}, 0, kTagRequest);
        }
    }

    /// Rank 0 pauses the phase: no more claims here; chunks granted but not started stay undone.
    void take_pause_notice() {
        notice_seen_ = true;
        pause_ = true;
        ready_.clear();
    }

    /// A worker's helper thread, awake every kHelperNap while the compute threads may all be inside long items:
    /// - it answers steal requests (and pause notices, and passes on a stop signal), so that a chunk granted
    ///   ahead and not started does not wait behind a long item while other ranks idle;
    /// - with heartbeats on, it tells rank 0 that this rank is alive (every quarter of the timeout, at most
    ///   kBeatPeriod apart) and what it finished since its last message, so that rank 0's progress figures move.
    /// Stops at the goodbye.
    void help() {
        const bool beats = config_.heartbeat_s > 0;
        const auto period = std::chrono::duration<double>(beats ? std::min(config_.heartbeat_s / 4, kBeatPeriod) : 0);
        auto next = std::chrono::steady_clock::now() + period;
        while (true) {
            std::this_thread::sleep_for(kHelperNap);
            if (bye_sent_.load()) return;
            const bool beat_due = beats && std::chrono::steady_clock::now() >= next;
            std::unique_lock lock(queue_mutex_, std::try_to_lock);  // a thread holding it answers steals itself
            if (!lock.owns_lock()) {
                if (!beat_due) continue;
                lock.lock();
            }
            if (bye_sent_.load()) return;
            answer_steals();
            if (!beat_due) continue;
            const sched::Report report = take_report();
            comm_.send(RequestMsg{RequestKind::alive, 0, report.items, report.busy_s, 0, 0}, 0, kTagRequest);
            next = std::chrono::steady_clock::now() + period;
        }
    }

    /// After the team is done: every request answered, goodbye said, steals answered until rank 0 acknowledges.
    void finish_worker() {
        const std::lock_guard lock(queue_mutex_);
        const double t0 = now_s();
        while (!pending_.empty()) wait_for_front();  // after a failure, chunks still arriving are dropped
        const sched::Report report = take_report();
        comm_.send(RequestMsg{RequestKind::bye, failure_ ? 1u : 0u, report.items, report.busy_s, 0, 0}, 0, kTagRequest);
        bye_sent_ = true;
        GrantMsg ack;
        mpi::Request acked = comm_.irecv(ack, 0, kTagGrant);
        Backoff backoff(config_.oversubscribed);
        while (!acked.test()) {
            answer_steals();
            backoff.pause();
        }
        if (ack.begin == 1 && !notice_seen_) {  // sent before the ack: take it now, so it cannot leak into later phases
            std::uint64_t notice = 0;
            comm_.recv(notice, 0, kTagSteal);
            if (notice != kPauseNotice) throw Error::Internal("a steal request after a worker's goodbye");
            take_pause_notice();
        }
        wait_s_ += now_s() - t0;
    }

    // ----- Rank 0: the dispenser, the requests, the steals -----

    /// Rank 0's own next chunk: from the dispenser, else stolen from the busiest worker.
    std::optional<ItemRange> fetch_on_rank0() {
        std::unique_lock lock(sched_mutex_);
        serve_locked(now_s());
        if (abort_ || pausing_) return std::nullopt;
        account(0, take_report());
        if (const auto retry = take_retry(0)) {
            ranks_[0].granted += retry->size();
            return retry;
        }
        if (const auto chunk = dispenser_.next(0)) {
            if (past_time_limit(*chunk)) {
                start_pause();
                return std::nullopt;
            }
            ranks_[0].granted += chunk->size();
            return chunk;
        }
        if (comm_.size() == 1) return std::nullopt;
        const double t0 = now_s();
        rank0_waiting_ = true;
        steal_for(0);
        gift_ready_.wait(lock, [this] { return !rank0_waiting_; });
        wait_s_ += now_s() - t0;
        return rank0_gift_;
    }

    /// Rank 0, between batches: answers waiting requests unless another thread is already doing so.
    void serve_pending(double now) {
        const std::unique_lock lock(sched_mutex_, std::try_to_lock);
        if (!lock.owns_lock()) return;
        account(0, take_report());
        serve_locked(now);
    }

    /// A compute thread of rank 0 looks for requests (at `now`) and answers them. Under sched_mutex_.
    void serve_locked(double now) {
        last_compute_poll_s_.store(now, std::memory_order_relaxed);
        if (pause_due(now)) start_pause();
        if (comm_.size() == 1) return;
        for (double probed = now;; probed = now_s()) {
            const auto status = comm_.iprobe(mpi::any_source, kTagRequest);
            if (!status) return;
            answer(status->source, probed);
        }
    }

    /// A stop signal came, or a periodic checkpoint is due (also in the tail of a phase, when every chunk is out
    /// but long ones still run: a pause takes what is still unclaimed). Under sched_mutex_.
    [[nodiscard]] bool pause_due(double now) const {
        if (pausing_) return false;
        if (now >= config_.stop_at) request_stop(kTimeLimitStop);
        return stop_signal() != 0 || now >= pause_at_;
    }

    /// Rank 0: true if `chunk` is expected (at the measured mean cost per item) to end after the time limit; then
    /// the run stops for a checkpoint instead. Under sched_mutex_.
    bool past_time_limit(ItemRange chunk) {
        if (config_.stop_at == std::numeric_limits<double>::infinity()) return false;
        const double per_item = items_reported_ > 0 ? busy_reported_ / static_cast<double>(items_reported_) : 0.0;
        const double threads = config_.threads;
        if (now_s() + per_item * static_cast<double>(chunk.size()) / threads < config_.stop_at) return false;
        request_stop(kTimeLimitStop);
        return true;
    }

    /// Pauses the phase (for a checkpoint): no more grants or steals; every worker still at work is told to stop
    /// claiming, finishes the batches it has started and says goodbye. Under sched_mutex_.
    void start_pause() {
        if (const int signal = stop_signal(); signal == kTimeLimitStop) {
            note("time limit", "stopping for a checkpoint before the time limit");
        } else if (signal != 0) {
            note("signal", "signal " + std::to_string(signal) + ": stopping for a checkpoint");
        } else {
            note("pause", "phase " + std::to_string(phase_index_) + " pauses for a checkpoint");
        }
        pausing_ = true;
        pause_ = true;
        for (int r = 1; r < comm_.size(); ++r) {
            if (ranks_[static_cast<std::size_t>(r)].said_bye) continue;
            notified_[static_cast<std::size_t>(r)] = true;
            comm_.send(kPauseNotice, r, kTagSteal);
        }
        retry_parked();  // parked thieves, rank 0's team among them, are told the phase is over for them
    }

    /// Rank 0's server thread: answers every worker until each has said goodbye and been acknowledged.
    void serve_until_all_done() {
        std::unique_lock lock(sched_mutex_, std::defer_lock);
        int idle_polls = 0;
        while (true) {
            lock.lock();
            const double now = now_s();
            if (pause_due(now)) start_pause();
            check_heartbeats();
            const bool all_gone = acks_ == comm_.size() - 1;
            const auto status = all_gone ? std::nullopt : comm_.iprobe(mpi::any_source, kTagRequest);
            if (status) answer(status->source, now);
            if (!status && !parked_.empty()) retry_parked();  // rank 0's own threads may have finished meanwhile
            lock.unlock();
            if (all_gone) return;
            idle_polls = status ? 0 : idle_polls + 1;
            if (status) continue;
            // While rank 0's threads look between their batches, this thread only stands by: it shares their core.
            if (now_s() - last_compute_poll_s_.load(std::memory_order_relaxed) < kStandby) {
                std::this_thread::sleep_for(kStandbyNap);
                continue;
            }
            // Requests come in bursts: poll hard just after one, then sleep longer and longer (to 320 us).
            if (idle_polls > 64) {
                std::this_thread::sleep_for(std::chrono::microseconds(20 << std::min((idle_polls - 64) / 8, 4)));
            }
        }
    }

    /// Rank 0: a worker still in the phase that has sent nothing for heartbeat_s has hung (stopped, swapping, lost
    /// in the network); Open MPI cannot go on without it, so the run ends here, naming it. Under sched_mutex_.
    void check_heartbeats() {
        if (config_.heartbeat_s <= 0) return;
        const double now = now_s();
        for (std::size_t r = 1; r < ranks_.size(); ++r) {
            if (ranks_[r].acked || now - last_heard_[r] < config_.heartbeat_s) continue;
            char line[400];
            std::snprintf(line, sizeof line,
                          "rank %zu on host %s sent nothing for %.0f s (--heartbeat-timeout): ending the run; "
                          "its last checkpoint stays usable with --resume",
                          r, r < hosts_.size() ? hosts_[r].c_str() : "?", now - last_heard_[r]);
            report_error(0, line);
            mpi::Environment::abort(static_cast<int>(ExitCode::failure));
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

    /// What rank 0 knows of a rank in this phase.
    struct RankState {
        std::uint64_t granted = 0;  ///< items given to it (less items stolen from it)
        std::uint64_t done = 0;     ///< items it reported done
        int steals_open = 0;        ///< steal requests sent to it, not yet answered
        std::deque<int> thieves;    ///< who each open steal request is for, in order
        bool said_bye = false;
        bool acked = false;
        bool skip = false;         ///< a steal found nothing: not a victim again until it sends news
        double expected_s = 0;     ///< expected cost of the items granted to it (with a profile)
        double busy_s = 0;         ///< thread-seconds it reported
        int deferred = 0;          ///< its work requests held back (hold_back), unanswered
        bool idle_behind = false;  ///< a request sent with nothing in hand waits behind them
    };

    void account(int rank, const sched::Report& work) {
        dispenser_.report(rank, work);
        items_reported_ += work.items;
        busy_reported_ += work.busy_s;
        if (config_.progress != nullptr) config_.progress->items_done += work.items;
        RankState& r = ranks_[static_cast<std::size_t>(rank)];
        r.done += work.items;
        r.busy_s += work.busy_s;
        r.skip = false;
    }

    /// Items granted to `rank` and not reported done: being processed, waiting, or stealable.
    [[nodiscard]] std::uint64_t outstanding(std::size_t rank) const {
        const RankState& r = ranks_[rank];
        std::uint64_t done = r.done;
        if (rank == 0) done += unreported_items_.load(std::memory_order_relaxed);
        return r.granted > done ? r.granted - done : 0;
    }

    /// Receives one message from worker `source` and acts on it, counting its time from when the probe that found
    /// it began (`probed`). Under sched_mutex_.
    void answer(int source, double probed) {
        const Served served{*this, probed};
        RequestMsg msg;
        comm_.recv(msg, source, kTagRequest);
        last_heard_[static_cast<std::size_t>(source)] = served.t0;
        RankState& from = ranks_[static_cast<std::size_t>(source)];
        account(source, {msg.items, msg.busy_s});
        switch (msg.kind) {
            case RequestKind::work:
                if (from.deferred > 0 || (msg.flag != 0 && hold_back(source))) {
                    ++from.deferred;  // answered in order, once the rank has less in hand (release_deferred)
                    ++deferred_;
                    from.idle_behind = from.idle_behind || msg.flag == 0;
                } else {
                    grant_work(source);
                }
                break;
            case RequestKind::bye:
                from.said_bye = true;
                if (msg.flag != 0) abort_ = true;
                break;
            case RequestKind::report:
                break;
            case RequestKind::signal:
                if (!pausing_) start_pause();
                break;
            case RequestKind::failed:
                take_failed(source, {msg.begin, msg.end});
                break;
            case RequestKind::alive:
                break;
            case RequestKind::stolen: {
                --from.steals_open;
                const int thief = from.thieves.front();
                from.thieves.pop_front();
                const ItemRange given{msg.begin, msg.end};
                if (!given.empty()) {  // in a pause, given up and left undone
                    from.granted -= given.size();
                    from.expected_s -= dispenser_.expected_cost(given);
                }
                if (!given.empty() && !abort_ && !pausing_) {
                    ++steals_;
                    note_steal(given, source, thief);
                    give(thief, given, GrantKind::stolen);
                } else {
                    from.skip = true;  // nothing to take there for now
                    steal_for(thief);
                }
                break;
            }
        }
        if (from.deferred > 0) release_deferred(source);
        if (!parked_.empty() || deferred_ > 0) retry_parked();
        if (from.said_bye && from.steals_open == 0 && !from.acked) {
            from.acked = true;
            ++acks_;
            comm_.send(GrantMsg{notified_[static_cast<std::size_t>(source)] ? 1u : 0u, 0, GrantKind::ack}, source,
                       kTagGrant);
        }
    }

    /// Answers a work request from `rank`: items to retry, else the dispenser's next chunk, else a steal.
    void grant_work(int rank, GrantKind kind = GrantKind::chunk) {
        if (abort_) return finish(rank, GrantKind::abort);
        if (pausing_) return finish(rank, GrantKind::done);
        if (const auto retry = take_retry(rank)) return give(rank, *retry, kind);
        if (const auto chunk = dispenser_.next(rank)) {
            if (past_time_limit(*chunk)) {  // the chunk stays undone: the checkpoint has it to do
                start_pause();
                return finish(rank, GrantKind::done);
            }
            return give(rank, *chunk, kind);
        }
        steal_for(rank);
    }

    /// With known costs, a request a worker sends ahead (while it computes) is held back when the work it has in
    /// hand is expected to last longer than kAheadShare of an even share of what is not yet granted: a chunk
    /// queued behind a long item would start late, and the rank that is free first should get it instead
    /// (longest processing time first assigns each item to the least loaded machine).
    [[nodiscard]] bool hold_back(int rank) const {
        if (!dispenser_.has_profile() || config_.schedule.technique == sched::Technique::static_block) return false;
        if (abort_ || pausing_ || outstanding(static_cast<std::size_t>(rank)) == 0) return false;
        const RankState& r = ranks_[static_cast<std::size_t>(rank)];
        const double in_hand = r.expected_s - r.busy_s;
        return in_hand > kAheadShare * dispenser_.remaining_cost() / static_cast<double>(comm_.size());
    }

    /// Answers `rank`'s held-back requests, oldest first, as far as hold_back() allows (all of them once the rank
    /// said it has nothing in hand, or in a pause or an abort).
    void release_deferred(int rank) {
        RankState& r = ranks_[static_cast<std::size_t>(rank)];
        while (r.deferred > 0 && (r.idle_behind || !hold_back(rank))) {
            r.idle_behind = false;  // the chunk granted now is in hand
            --r.deferred;
            --deferred_;
            grant_work(rank, GrantKind::held);
        }
    }

    /// Finds work for idle `thief` with the rank holding the most unfinished items: rank 0's own chunk is split here,
    /// a worker is asked (its answer comes back as a `stolen` message). While some rank still has unfinished items
    /// that cannot be taken yet, the thief waits (parked) for news; when no rank has any, the thief is done.
    void steal_for(int thief) {
        if (abort_) return finish(thief, GrantKind::abort);
        if (pausing_) return finish(thief, GrantKind::done);
        if (const auto retry = take_retry(thief)) return give(thief, *retry);
        if (!config_.steal && retries_.empty()) return finish(thief, GrantKind::done);
        while (true) {
            int victim = -1;
            std::uint64_t most = 1;  // a victim must have at least two items left
            bool work_left = false;
            for (std::size_t r = 0; r < ranks_.size(); ++r) {
                const RankState& v = ranks_[r];
                if (static_cast<int>(r) == thief || v.said_bye) continue;
                work_left = work_left || outstanding(r) > 0 || v.steals_open > 0;
                if (v.skip) continue;
                std::uint64_t left = outstanding(r);
                if (r == 0) {
                    Slot* own = current_.load(std::memory_order_acquire);
                    left = own != nullptr ? own->unclaimed() : 0;
                }
                if (left > most) {
                    most = left;
                    victim = static_cast<int>(r);
                }
            }
            if (!config_.steal) victim = -1;
            work_left = work_left || !retries_.empty();  // another rank may have to run them
            if (victim < 0) {
                if (!work_left) return finish(thief, GrantKind::done);
                parked_.push_back(thief);  // once per unanswered request: a worker may have several in flight
                return;
            }
            if (victim == 0) {
                const ItemRange given = current_.load(std::memory_order_acquire)->split();
                if (given.empty()) continue;  // rank 0's threads claimed it meanwhile: unclaimed() is now smaller
                ranks_[0].granted -= given.size();
                ++steals_;
                note_steal(given, 0, thief);
                return give(thief, given, GrantKind::stolen);
            }
            RankState& v = ranks_[static_cast<std::size_t>(victim)];
            ++v.steals_open;
            v.thieves.push_back(thief);
            comm_.send(std::uint64_t(thief), victim, kTagSteal);
            return;
        }
    }

    /// Tries again for every parked thief, after news that may have freed or finished work.
    void retry_parked() {
        std::vector<int> waiting;
        waiting.swap(parked_);
        for (int thief : waiting) steal_for(thief);
        for (int r = 1; deferred_ > 0 && r < comm_.size(); ++r) release_deferred(r);
    }

    /// An instant event in the trace, from rank 0's scheduling (the trace's extra thread).
    void note(std::string name, std::string detail) {
        if (config_.trace != nullptr) {
            config_.trace->instant(config_.threads, now_s(), std::move(name), std::move(detail));
        }
    }
    void note_steal(ItemRange given, int victim, int thief) {
        if (config_.trace == nullptr) return;
        note("steal", "items [" + std::to_string(given.begin) + ", " + std::to_string(given.end) + ") from rank " +
                          std::to_string(victim) + " to rank " + std::to_string(thief));
    }

    void give(int rank, ItemRange chunk, GrantKind kind = GrantKind::chunk) {
        ranks_[static_cast<std::size_t>(rank)].granted += chunk.size();
        ranks_[static_cast<std::size_t>(rank)].expected_s += dispenser_.expected_cost(chunk);
        if (rank == 0) return hand_to_rank0(chunk);
        comm_.send(GrantMsg{chunk.begin, chunk.end, kind}, rank, kTagGrant);
    }

    void finish(int rank, GrantKind kind) {
        if (rank == 0) return hand_to_rank0(std::nullopt);
        comm_.send(GrantMsg{0, 0, kind}, rank, kTagGrant);
    }

    void hand_to_rank0(std::optional<ItemRange> chunk) {
        rank0_gift_ = chunk;
        rank0_waiting_ = false;
        gift_ready_.notify_all();
    }

    /// A batch threw and will run again: its items go back to rank 0. From any compute thread.
    void report_failed(ItemRange batch, const std::exception& e) {
        ctx_.warn("items [" + std::to_string(batch.begin) + ", " + std::to_string(batch.end) + ") of phase '" +
                  phase_.name + "' failed: " + e.what() + "; handed back to rank 0 to retry or skip");
        if (comm_.rank() == 0) {
            const std::lock_guard lock(sched_mutex_);
            take_failed(0, batch);
            return;
        }
        const std::lock_guard lock(queue_mutex_);
        comm_.send(RequestMsg{RequestKind::failed, 0, 0, 0, batch.begin, batch.end}, 0, kTagRequest);
    }

    /// Rank 0: items of `batch` failed on `rank`. A batch of several items runs again item by item; an item that
    /// failed alone runs again up to max_retries times, then is skipped or ends the run. Under sched_mutex_.
    void take_failed(int rank, ItemRange batch) {
        RankState& r = ranks_[static_cast<std::size_t>(rank)];
        r.granted -= std::min(r.granted, batch.size());  // not done there, so not stealable there either
        for (std::uint64_t item = batch.begin; item < batch.end; ++item) {
            if (batch.size() > 1) {  // which item threw is unknown: each runs again alone
                retries_.push_back({item, rank});
                continue;
            }
            const int failures = ++attempts_[item];
            if (failures <= config_.max_retries) {
                retries_.push_back({item, rank});
                continue;
            }
            if (config_.skip_failed) {
                skipped_.push_back({0, item, rank});
                continue;
            }
            const std::lock_guard lock(failure_mutex_);
            if (!failure_) {
                failure_ = Error::Failure("job '" + config_.job_name + "' failed on item " + std::to_string(item) +
                                          " of phase '" + phase_.name + "' " + std::to_string(failures) +
                                          (failures == 1 ? " time" : " times") + ", last on rank " +
                                          std::to_string(rank) + " (see its warning)");
            }
            stop_ = true;
            abort_ = true;
        }
        retry_parked();
    }

    /// Rank 0: an item to run again that `rank` may take (not where it failed last, unless every other rank is
    /// gone), as a chunk of one. Under sched_mutex_.
    std::optional<ItemRange> take_retry(int rank) {
        for (auto it = retries_.begin(); it != retries_.end(); ++it) {
            bool others = false;
            for (std::size_t r = 0; r < ranks_.size() && !others; ++r) {
                others = static_cast<int>(r) != it->second && !ranks_[r].said_bye;
            }
            if (it->second == rank && others) continue;
            const ItemRange chunk{it->first, it->first + 1};
            retries_.erase(it);
            return chunk;
        }
        return std::nullopt;
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
            abort_ = true;  // every further request is answered with "abort", and so are parked thieves
            retry_parked();
        }
    }

    const std::vector<std::string>& hosts_;  ///< every rank's host, for messages
    JobBase& job_;
    RunContext& ctx_;
    const mpi::Comm& comm_;
    const RunConfig& config_;
    const Phase& phase_;
    const int phase_index_;
    const double pause_at_;

    // Rank 0's scheduling state, guarded by sched_mutex_ (which also serialises rank 0's MPI calls).
    std::mutex sched_mutex_;
    sched::Dispenser dispenser_;
    std::vector<RankState> ranks_;
    bool abort_ = false;
    int acks_ = 0;
    double serve_s_ = 0;
    std::uint64_t requests_ = 0;
    std::uint64_t steals_ = 0;
    std::vector<int> parked_;                     ///< requests (by rank) waiting for work that cannot be stolen yet
    int deferred_ = 0;                            ///< work requests held back, over all ranks (see hold_back)
    std::atomic<double> last_compute_poll_s_{0};  ///< when a compute thread last looked for requests (now_s())
    bool rank0_waiting_ = false;                  ///< rank 0's team waits for a stolen chunk
    std::optional<ItemRange> rank0_gift_;
    std::condition_variable gift_ready_;
    bool pausing_ = false;                               ///< the phase pauses for a checkpoint: nothing more is granted
    std::deque<std::pair<std::uint64_t, int>> retries_;  ///< items to run again, and where each failed last
    std::map<std::uint64_t, int> attempts_;              ///< per item: times it failed alone
    std::vector<SkippedItem> skipped_;                   ///< items given up
    std::vector<double> last_heard_;                     ///< per worker: when its last message came (now_s())
    std::uint64_t items_reported_ = 0;                   ///< items done, as reported, on every rank
    double busy_reported_ = 0;                           ///< their kernel thread-seconds
    std::vector<bool> notified_;                         ///< per worker: a pause notice was sent to it

    // This rank's chunks, guarded by queue_mutex_ (which also serialises a worker's MPI calls).
    std::mutex queue_mutex_;
    std::deque<Slot> slots_;
    Arena arena_;  ///< the slots and the rows they come with (see new_slot)
    std::mutex late_rows_mutex_;
    Arena late_rows_;       ///< rows of an item output a slot's threads wrote first (guarded by late_rows_mutex_)
    OwnedRows owned_rows_;  ///< rows of kOwnedRows bytes or more
    const LateRows late_{late_rows_, late_rows_mutex_, owned_rows_};
    std::unique_ptr<std::atomic<bool>[]> written_;  ///< per item output: some thread here wrote a row of it
    std::atomic<Slot*> current_{nullptr};
    bool finished_ = false;
    double wait_s_ = 0;
    /// A request sent to rank 0 whose grant is awaited; the grant lands in place (deque: never moves).
    struct Pending {
        GrantMsg grant;
        mpi::Request request;
    };
    std::deque<Pending> pending_;
    std::deque<ItemRange> ready_;            ///< granted chunks not yet started
    int depth_ = 1;                          ///< requests to keep in flight (--prefetch, or its auto value now)
    int on_time_ = 0;                        ///< auto prefetch: chunks in a row that were there when needed
    bool tail_ = false;                      ///< a stolen chunk came: rank 0 has no fresh ones left
    GrantKind last_kind_ = GrantKind::done;  ///< of the last grant taken in
    bool final_ = false;                     ///< rank 0 said "done" or "abort"
    bool notice_seen_ = false;               ///< rank 0's pause notice was received
    bool signal_sent_ = false;               ///< rank 0 was told of a stop signal here
    std::atomic<std::uint64_t> unreported_items_{0};
    std::atomic<std::uint64_t> unreported_ns_{0};

    std::atomic<bool> stop_{false};
    std::atomic<bool> pause_{false};  ///< stop claiming items: the phase pauses
    std::atomic<bool> bye_sent_{false};
    std::mutex failure_mutex_;
    std::optional<Error> failure_;

    std::vector<std::unique_ptr<AnyPartial>> partials_;
    std::vector<double> thread_busy_;
    std::vector<std::uint64_t> thread_items_;
    std::vector<std::vector<double>> thread_bins_;  ///< per thread: seconds per bin of items
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
        if (!description.empty()) out_.attribute_on(name, "description", description);
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

/// The profile saved in `path`, if the file exists (else nothing). \note collective
std::optional<sched::CostProfile> load_profile(const mpi::Comm& comm, const std::string& path) {
    std::vector<std::byte> bins;  // stays empty without a file; a saved profile always has bins
    std::vector<std::byte> items;
    mpi::agree(comm, [&] {
        std::error_code ec;
        if (comm.rank() != 0 || !std::filesystem::exists(path, ec)) return;
        std::vector<std::uint64_t> dims;
        bins = io::read_array(path, "bin_seconds", ScalarType::f64, dims);
        items = io::read_array(path, "items", ScalarType::u64, dims);
        if (bins.empty() || items.size() != sizeof(std::uint64_t)) {
            throw Error::Io("cost profile '" + path + "' is malformed");
        }
    });
    comm.bcast_bytes(bins, 0);
    if (bins.empty()) return std::nullopt;
    comm.bcast_bytes(items, 0);
    std::uint64_t n = 0;
    std::memcpy(&n, items.data(), sizeof n);
    std::vector<double> seconds(bins.size() / sizeof(double));
    std::memcpy(seconds.data(), bins.data(), seconds.size() * sizeof(double));
    return sched::CostProfile(n, std::move(seconds));
}

/// Saves `profile` to `path` (rank 0 writes). \note collective
void save_profile(const mpi::Comm& comm, const std::string& path, const sched::CostProfile& profile) {
    mpi::agree(comm, [&] {
        if (comm.rank() != 0) return;
        const std::uint64_t items = profile.items();
        io::write_arrays(
            path, {{"bin_seconds", ScalarType::f64, {profile.bins().size()}, std::as_bytes(std::span(profile.bins()))},
                   {"items", ScalarType::u64, {1}, std::as_bytes(std::span(&items, 1))}});
    });
}

/// The items of [0, items) not in `done` (sorted, merged).
std::vector<ItemRange> complement(const std::vector<ItemRange>& done, std::uint64_t items) {
    std::vector<ItemRange> todo;
    std::uint64_t next = 0;
    for (const ItemRange& d : done) {
        if (d.begin > next) todo.push_back({next, d.begin});
        next = std::max(next, d.end);
    }
    if (next < items) todo.push_back({next, items});
    return todo;
}

std::uint64_t count(const std::vector<ItemRange>& ranges) {
    std::uint64_t n = 0;
    for (const ItemRange& r : ranges) n += r.size();
    return n;
}

std::vector<std::byte> saved_state(const JobBase& job) {
    OutArchive out;
    job.save_state(out);
    return out.take();
}

/// Every rank's done ranges, merged, on rank 0 (empty elsewhere). \note collective
std::vector<ItemRange> gather_done(const mpi::Comm& comm, const std::vector<ItemRange>& mine) {
    OutArchive out;
    out(mine);
    const auto all = comm.gather_bytes(out.bytes(), 0);
    std::vector<ItemRange> done;
    for (const auto& bytes : all) {
        std::vector<ItemRange> theirs;
        InArchive in(bytes);
        in(theirs);
        done.insert(done.end(), theirs.begin(), theirs.end());
    }
    return merged(std::move(done));
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

}  // namespace

RunSummary run(JobBase& job, const mpi::Comm& comm, io::ResultsFile& out, const RunConfig& config, const Log& log,
               Checkpointer& checkpoints) {
    RunContext ctx(comm, out, config.threads, log);
    std::vector<std::string> hosts;  // every rank's, for messages naming a rank
    {
        char name[256] = {};
        gethostname(name, sizeof name - 1);
        const std::string mine(name);
        for (const auto& bytes : comm.gather_bytes(std::as_bytes(std::span(mine)), 0)) {
            hosts.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        }
    }
    mpi::agree(comm, [&] { job.setup(ctx); });
    const auto& columns = ctx.columns();

    // Measured costs by item count: a phase learns from the last phase (or saved run) with as many items.
    std::map<std::uint64_t, sched::CostProfile> profiles;
    std::uint64_t last_profile = 0;
    if (!config.cost_profile.empty()) {
        if (auto saved = load_profile(comm, config.cost_profile)) profiles[saved->items()] = std::move(*saved);
    }

    // Where to start: the first phase, or where a checkpoint left off.
    RunPoint point;
    point.finished_cols.assign(columns.size(), 0);
    RankProgress progress;  // this rank's part of the phase in progress, and the rows finished phases wrote
    progress.columns.resize(columns.size());
    std::optional<Resumed> resumed = checkpoints.resume(columns.size());
    if (resumed) {
        point = resumed->point;
        mpi::agree(comm, [&] {
            InArchive in(point.job_state);
            job.load_state(in);
        });
        progress = std::move(resumed->mine);
        for (std::size_t c = 0; c < columns.size(); ++c) {
            if (point.finished_cols[c] == 0) continue;
            progress.columns[c].finished.assign(
                1, mpi::agree(comm, [&] { return out.write_rows(columns[c].name, progress.columns[c].finished); }));
        }
        if (comm.rank() == 0)
            log.info("resuming from " + resumed->path + ": phase " + std::to_string(point.phase) + ", " +
                     std::to_string(count(resumed->done_all)) + " of its items done");
    }

    RunSummary summary;
    if (resumed) {
        summary.resumed_from = resumed->path;
        summary.skipped = point.skipped;
    }
    RankStats mine;
    double last_checkpoint = now_s();
    // A checkpoint of where the run stands, then maybe a stop. \note collective
    const auto checkpoint = [&](std::unique_ptr<AnyPartial>* partial, std::uint64_t done_items) {
        if (partial != nullptr) {
            OutArchive saved;
            (*partial)->save(saved);
            progress.partial = saved.take();
        } else {
            progress.partial.clear();
        }
        checkpoints.write(point, progress, done_items);
        last_checkpoint = now_s();
        if (config.trace != nullptr && comm.rank() == 0) {
            config.trace->instant(
                config.threads, last_checkpoint, "checkpoint",
                "phase " + std::to_string(point.phase) + ", " + std::to_string(done_items) + " items done");
        }
        if (config.progress != nullptr) ++config.progress->checkpoints;
    };
    // The stop signal any rank has noted (0: none). \note collective
    const auto stop_requested = [&] { return static_cast<int>(comm.allreduce_max(std::int64_t{stop_signal()})); };

    const std::uint64_t first_phase = point.phase;
    for (auto index = static_cast<int>(point.phase);; ++index) {
        point.phase = static_cast<std::uint64_t>(index);
        point.job_state = saved_state(job);
        const std::optional<Phase> phase = mpi::agree(comm, [&] { return job.next_phase(ctx); });
        if (!phase) break;
        // Between phases is the cheapest moment for a periodic checkpoint that has fallen due (no partial rows, no
        // pause); never after the last phase, whose results are about to be committed.
        if (checkpoints.enabled() && static_cast<std::uint64_t>(index) > first_phase &&
            comm.allreduce_max(std::int64_t{
                comm.rank() == 0 && now_s() >= next_checkpoint_at(checkpoints, last_checkpoint) ? 1 : 0}) != 0) {
            point.skipped = summary.skipped;
            checkpoint(nullptr, 0);
        }
        ctx.set_phase(index);
        log.info("phase " + std::to_string(index) + " '" + phase->name + "': " + std::to_string(phase->items) +
                 " items");

        // This rank's partial of the phase: from the checkpoint, then every round's.
        auto partial = mpi::agree(comm, [&] {
            auto p = job.new_partial(ctx);
            if (resumed) {
                for (const auto& bytes : resumed->partials) {
                    auto part = job.new_partial(ctx);
                    InArchive in(bytes);
                    part->load(in);
                    p->merge(*part);
                }
            }
            return p;
        });
        std::vector<ItemRange> done_all = resumed ? resumed->done_all : std::vector<ItemRange>{};
        const std::uint64_t done_before = count(done_all);
        if (config.progress != nullptr) config.progress->set_phase(index, phase->name, phase->items, done_before);
        resumed.reset();
        if (done_all.empty() == false && done_all.back().end > phase->items) {
            throw mpi::AgreedError(ExitCode::io,
                                   "the checkpoint's phase " + std::to_string(index) +
                                       " has more items than the job's (" + std::to_string(phase->items) + ")",
                                   0);
        }

        // Rank 0: the items not to grant again, finished or given up.
        const auto settled = [&] {
            std::vector<ItemRange> ranges = done_all;
            for (const SkippedItem& s : summary.skipped) {
                if (s.phase == static_cast<std::uint64_t>(index)) ranges.push_back({s.item, s.item + 1});
            }
            return merged(std::move(ranges));
        };

        // Rounds: the phase runs until done, pausing for each checkpoint that falls due.
        std::uint64_t processed = 0;
        std::vector<double> measured;  // seconds per bin of items, over the rounds
        double phase_s = 0;
        double computed = now_s();
        while (true) {
            auto run_phase = mpi::agree(comm, [&] {
                return std::make_unique<PhaseRun>(
                    job, ctx, comm, config, *phase, index,
                    comm.rank() == 0 ? complement(settled(), phase->items) : std::vector<ItemRange>{},
                    next_checkpoint_at(checkpoints, last_checkpoint), hosts);
            });
            if (const auto known = profiles.find(phase->items); known != profiles.end()) {
                run_phase->use_profile(known->second);
            }
            // Oversubscribed, the collectives before this spin and ranks reach here up to a tenth of a second apart
            // (64 ranks on 2 cores): they start the phase together instead.
            if (config.oversubscribed) comm.quiet_barrier();
            const double started = now_s();
            run_phase->execute();
            computed = now_s();
            mpi::agree_on_outcome(comm, run_phase->failure());
            const double round_s = comm.allreduce_max(computed - started);
            phase_s += round_s;

            processed += run_phase->items();
            for (SkippedItem skip : run_phase->skipped()) {
                skip.phase = static_cast<std::uint64_t>(index);
                summary.skipped.push_back(skip);
            }
            for (const ItemRange& d : run_phase->done_ranges()) progress.done.push_back(d);
            progress.done = merged(std::move(progress.done));
            for (std::size_t c = 0; c < columns.size(); ++c) {
                progress.columns[c].wrote = progress.columns[c].wrote || run_phase->wrote(c);
                for (auto& block : run_phase->rows(c, columns[c].row_bytes)) {
                    progress.columns[c].current.push_back(std::move(block));
                }
            }
            partial->merge(*run_phase->take_partial());
            const std::vector<double> bins = run_phase->measured_bins();
            if (measured.empty()) measured.assign(bins.size(), 0.0);
            for (std::size_t b = 0; b < bins.size(); ++b) measured[b] += bins[b];

            const RankStats s = run_phase->stats(round_s);
            mine.items += s.items;
            mine.chunks += s.chunks;
            mine.busy_s += s.busy_s;
            mine.idle_s += s.idle_s;
            mine.wait_s += s.wait_s;
            mine.serve_s += s.serve_s;
            mine.requests += s.requests;
            mine.steals += s.steals;

            if (comm.allreduce_max(std::int64_t{run_phase->paused() ? 1 : 0}) == 0) break;
            done_all = gather_done(comm, progress.done);
            const std::uint64_t done_items = comm.allreduce_sum(std::uint64_t{comm.rank() == 0 ? count(done_all) : 0});
            const std::uint64_t settled_items =
                comm.allreduce_sum(std::uint64_t{comm.rank() == 0 ? count(settled()) : 0});
            if (settled_items == phase->items) break;  // the pause came when nothing was left to do
            point.skipped = summary.skipped;
            checkpoint(&partial, done_items);
            if (const int stop = stop_requested(); stop != 0) {
                summary.stopped_by = stop;
                summary.makespan_s += phase_s;
                return summary;
            }
        }
        summary.makespan_s += phase_s;

        std::uint64_t skipped_here = 0;  // on rank 0, this run's and the checkpoint's
        for (const SkippedItem& s : summary.skipped)
            skipped_here += s.phase == static_cast<std::uint64_t>(index) ? 1 : 0;
        const std::uint64_t all_processed =
            comm.allreduce_sum(processed) + done_before + comm.allreduce_sum(comm.rank() == 0 ? skipped_here : 0);
        if (all_processed != phase->items) {  // the same verdict on every rank, so no agreement is needed
            throw mpi::AgreedError(ExitCode::internal,
                                   "internal error: phase '" + phase->name + "' processed " +
                                       std::to_string(all_processed) + " items of " + std::to_string(phase->items),
                                   0);
        }
        comm.allreduce_sum(measured);
        profiles[phase->items] = sched::CostProfile(phase->items, std::move(measured));
        last_profile = phase->items;
        const auto total = combine(job, ctx, comm, *partial);
        for (std::size_t c = 0; c < columns.size(); ++c) {
            RankProgress::Column& column = progress.columns[c];
            if (comm.allreduce_max(std::int64_t{column.wrote ? 1 : 0}) == 0) continue;
            point.finished_cols[c] = 1;
            // This rank's block of the written column stays in memory (1 / ranks of it) for later checkpoints.
            column.finished.assign(1, mpi::agree(comm, [&] {
                                       return out.write_rows(columns[c].name, std::exchange(column.current, {}));
                                   }));
        }
        for (auto& column : progress.columns) {
            column.current.clear();
            column.wrote = false;
        }
        progress.done.clear();
        mpi::agree(comm, [&] { job.end_phase_any(*total, ctx); });
        if (comm.rank() == 0 && log.verbose()) {
            char line[160];
            std::snprintf(line, sizeof line, "phase %d done: compute %.3f s, combine and write %.3f s", index, phase_s,
                          now_s() - computed);
            log.info(line);
        }
        summary.phases = index + 1;
        if (config.progress != nullptr) config.progress->phases_done = index + 1;

        const int stop = stop_requested();
        if (stop != 0 || (checkpoints.enabled() && checkpoints.settings().at_phase_end)) {
            point.phase = static_cast<std::uint64_t>(index + 1);
            point.job_state = saved_state(job);
            point.skipped = summary.skipped;
            checkpoint(nullptr, 0);
            if (stop != 0) {
                summary.stopped_by = stop;
                return summary;
            }
        }
    }

    if (!config.cost_profile.empty() && profiles.contains(last_profile) && !profiles[last_profile].bins().empty()) {
        save_profile(comm, config.cost_profile, profiles[last_profile]);
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
    const auto steals = gather(static_cast<double>(mine.steals));
    double busy_total = 0, busy_max = 0;
    for (std::size_t r = 0; r < items.size(); ++r) {
        summary.ranks.push_back({static_cast<std::uint64_t>(items[r]), static_cast<std::uint64_t>(chunks[r]), busy[r],
                                 idle[r], wait[r], serve[r], static_cast<std::uint64_t>(requests[r]),
                                 static_cast<std::uint64_t>(steals[r])});
        busy_total += busy[r];
        busy_max = std::max(busy_max, busy[r]);
    }
    {  // every rank's host, for the statistics
        std::string joined;
        for (const auto& h : hosts) joined += h + "\n";
        std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(joined.data()),
                                     reinterpret_cast<const std::byte*>(joined.data()) + joined.size());
        comm.bcast_bytes(bytes, 0);
        summary.hosts.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    {  // the skipped items, known on rank 0, for every rank to write
        OutArchive saved;
        saved(summary.skipped);
        std::vector<std::byte> bytes = saved.take();
        comm.bcast_bytes(bytes, 0);
        InArchive in(bytes);
        in(summary.skipped);
    }
    summary.lower_bound_s = busy_total / static_cast<double>(comm.size() * config.threads);
    summary.imbalance = busy_total > 0 ? busy_max / (busy_total / static_cast<double>(comm.size())) : 1.0;
    return summary;
}

}  // namespace pel::exec
