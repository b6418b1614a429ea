// pel/job.hpp: the job plugin API. A job is a loop over items in phases, a kernel over item ranges, a
// partial result that combines exactly, and state that can be saved.
//
// The life of a job on every rank:
//   declare_options(opts)       once, before the command line is parsed
//   setup(ctx)                  once, after options are set: read inputs, declare per-item outputs and results
//                               (collective)
//   while (phase = next_phase(ctx)):
//     process(range, partial, out, ctx)   many times, concurrently on every rank and thread, over disjoint ranges
//     end_phase(total, ctx)               on every rank: on rank 0 with the partials of all items merged; on the
//                                         others with the partial of no items, unless setup asked for the total
//                                         on every rank (SetupContext::total_on_every_rank)
//   write_results(sink, ctx)    once, on every rank with the same arguments (collective)
// A dynamic phase (Phase::spawn_bytes > 0) has no fixed item range: seed() spawns its first items on rank 0, and
// expand(payload, partial, spawner, ctx) runs each item, which may spawn more; the phase ends when none is left.
// save_state / load_state capture what next_phase and end_phase carry between phases (for checkpoints).
//
// Same answer on any layout: process() must depend only on its items and on state set outside process(); a
// partial's merge() must be exact (integers, pel::ExactSum, per-item slots), so totals do not depend on how items
// were split into ranges, ranks and threads; random numbers come from pel::Rng(seed, item).
#pragma once

#include <concepts>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "pel/archive.hpp"
#include "pel/error.hpp"
#include "pel/exact_sum.hpp"
#include "pel/options.hpp"
#include "pel/random.hpp"
#include "pel/types.hpp"

namespace pel {

/// One loop over the items [0, items) of a job, or a dynamic phase whose items spawn items.
struct Phase {
    std::string name;         ///< shown in logs and statistics, e.g. "iteration 3"
    std::uint64_t items = 0;  ///< size of the item space (0 in a dynamic phase)
    /// > 0: a dynamic phase. Its items are spawned (Job::seed on rank 0, then Job::expand), each carrying a payload
    /// of at most this many bytes, which is all that identifies it: pel moves items between threads and ranks and
    /// saves the unfinished ones in checkpoints, so that every spawned item runs exactly once on any layout.
    std::uint32_t spawn_bytes = 0;
};

/// Where seed() and expand() add items to the running dynamic phase.
class Spawner {
  public:
    virtual ~Spawner() = default;
    /// Adds an item whose payload is `payload` (at most the phase's spawn_bytes; more is the job's error). The item
    /// runs later, on any thread of any rank: its payload must say everything expand() needs, such as its place in
    /// the tree (parent's id and child index, depth), never where or when it was spawned.
    virtual void spawn(std::span<const std::byte> payload) = 0;
    /// Adds an item whose payload is the bytes of `value`.
    template <class T>
    requires std::is_trivially_copyable_v<T>
    void spawn_value(const T& value) { spawn(std::as_bytes(std::span{&value, 1})); }
};

template <Scalar T>
struct ItemInput;

/// What a job sees of the run: where it is, and how to say something. A narrow, read-only view.
class Context {
  public:
    virtual ~Context() = default;
    /// This process's rank in the run, 0 .. ranks()-1.
    [[nodiscard]] virtual int rank() const = 0;
    /// Number of ranks in the run.
    [[nodiscard]] virtual int ranks() const = 0;
    /// OpenMP threads per rank.
    [[nodiscard]] virtual int threads() const = 0;
    /// Index of the current phase (0 for the first), -1 before the first phase starts.
    [[nodiscard]] virtual int phase() const = 0;
    /// The calling thread's index in its rank's team, 0 .. threads()-1, inside process(); 0 elsewhere. Jobs use
    /// this, never omp_get_thread_num(), which says nothing about pel's team outside its parallel region.
    [[nodiscard]] virtual int thread() const = 0;
    /// True once this rank has been asked to stop (SIGUSR1, SIGTERM, the allocation's time limit): the run writes a
    /// checkpoint when the batches in progress end. A kernel that can end early without losing work may look.
    [[nodiscard]] virtual bool stop_requested() const = 0;
    /// From process(): asks to end the phase early at `item` (one of the items being processed). pel stops granting
    /// items after it at the next chunk boundary (agreed across ranks), finishes every item up to it, and drops what
    /// items after it gave: their rows (fill, or empty ragged rows) and their share of the partial, which each rank
    /// that went past the stop rebuilds by running the kernel again over its items up to it (so a stoppable kernel
    /// must have no effects outside its rows and partial). With several requests the smallest item wins. So when
    /// whether item i asks depends only on item i, the phase's results are the same on any layout: every item up to
    /// the first that asks, and none after. The items after it also count as done (they are not run again).
    virtual void request_stop(std::uint64_t item) const = 0;
    /// A progress line, printed with --verbose, tagged with the rank.
    virtual void log(const std::string& line) const = 0;
    /// A warning, always printed, tagged with the rank.
    virtual void warn(const std::string& line) const = 0;

    /// The values of item input `input` (see SetupContext::item_input) that belong to `item`, which must be one of
    /// the items process() was given: pel read them, for those items only, before it called process(). The span
    /// lasts until process() returns.
    template <Scalar T>
    [[nodiscard]] std::span<const T> input(const ItemInput<T>& input, std::uint64_t item) const;

  protected:
    /// The bytes of `input`'s values for `item`. Default: a context that holds no item inputs (throws).
    [[nodiscard]] virtual const std::byte* input_bytes(int input, std::uint64_t item) const;
};

/// A dense n-dimensional array read from an input file.
template <Scalar T>
struct Array {
    std::vector<std::uint64_t> dims;  ///< extent of each dimension, slowest first
    std::vector<T> data;              ///< row-major elements
};

/// A handle to an item input: a dataset of an input file whose rows belong to items (row i to item i, or a fixed
/// number of rows per item). Declared in setup (SetupContext::item_input); process() reads its items' values with
/// Context::input. pel reads each batch's rows as it runs it, so no rank holds more of the dataset than its threads
/// have in hand (bounded by --max-rank-memory).
template <Scalar T>
struct ItemInput {
    int id = -1;
    std::vector<std::uint64_t> dims;  ///< the dataset's extent, slowest first (dims[0]: rows)
    std::uint64_t items = 0;          ///< items that have rows: dims[0] / rows per item (or as many as asked for)
    std::uint64_t width = 0;          ///< values per item: rows per item x the values of one row
};

template <Scalar T>
std::span<const T> Context::input(const ItemInput<T>& input, std::uint64_t item) const {
    return {reinterpret_cast<const T*>(input_bytes(input.id, item)), static_cast<std::size_t>(input.width)};
}

inline const std::byte* Context::input_bytes(int /*input*/, std::uint64_t /*item*/) const {
    throw Error::Failure("this context holds no item inputs");
}

/// A handle to a per-item output: each item of a phase owns one row of `width` values of type T.
template <Scalar T>
struct ItemColumn {
    int id = -1;
    std::uint64_t width = 0;
};

/// A handle to a ragged per-item output: each item of a phase owns a row of any number of values of type T (zero
/// or more), stored as NAME/values and NAME/offsets (see SetupContext::ragged_output).
template <Scalar T>
struct RaggedColumn {
    int id = -1;
};

/// What setup() may do besides what Context offers: read inputs, write generated inputs, declare outputs.
class SetupContext : public Context {
  public:
    /// The results file this run writes (the --output in force, as given or as --run-dir made it).
    [[nodiscard]] virtual std::string output_path() const = 0;
    /// The run directory (--run-dir), or empty when the run has none. A job's own files belong there when it is set.
    [[nodiscard]] virtual std::string run_dir() const = 0;

    /// Reads dataset `dataset` of HDF5 file `file` as T (converted if stored otherwise). Collective.
    template <Scalar T>
    Array<T> read_array(const std::string& file, const std::string& dataset) {
        Array<T> out;
        std::vector<std::byte> bytes = read_raw(file, dataset, scalar_type_of<T>::value, out.dims);
        out.data.resize(bytes.size() / sizeof(T));
        std::memcpy(out.data.data(), bytes.data(), out.data.size() * sizeof(T));
        return out;
    }

    /// Writes `data` with shape `dims` as dataset `dataset` of a new HDF5 file `file`, replacing it.
    /// Collective: rank 0 writes, every rank returns once the file is complete. For generating inputs.
    template <Scalar T>
    void write_array(const std::string& file, const std::string& dataset, const std::vector<std::uint64_t>& dims,
                     std::span<const T> data) {
        write_raw(file, dataset, scalar_type_of<T>::value, dims, std::as_bytes(data));
    }

    /// Declares an item input: dataset `dataset` of HDF5 file `file`, `rows_per_item` rows per item (row i holds item
    /// i by default), read as T (converted if stored otherwise). `items` > 0: the job's phases have that many items,
    /// and the dataset must have rows for them (0: as many items as it has rows for). Nothing is read yet: each rank
    /// reads the rows of the items it runs, batch by batch. A dataset that is missing, is not numbers, is a scalar, or
    /// has too few rows is an error naming it. Collective.
    template <Scalar T>
    ItemInput<T> item_input(const std::string& file, const std::string& dataset, std::uint64_t rows_per_item = 1,
                            std::uint64_t items = 0) {
        ItemInput<T> in;
        in.id =
            declare_input(file, dataset, scalar_type_of<T>::value, rows_per_item, items, in.dims, in.items, in.width);
        return in;
    }

    /// Reads the values of the items `range` of `input`, on every rank, for the few items setup itself needs (such as
    /// the first centroids); memory: range.size() x width values. Collective.
    template <Scalar T>
    std::vector<T> read_items(const ItemInput<T>& input, ItemRange range) {
        std::vector<T> values(static_cast<std::size_t>(range.size() * input.width));
        read_input_items(input.id, range, std::as_writable_bytes(std::span(values)));
        return values;
    }

    /// Asks for each phase's total on every rank: end_phase() then gets it everywhere (a broadcast from rank 0 of the
    /// total's size). Without this, only rank 0 gets the total and the others get the partial of no items: enough
    /// for a job whose results come from rank 0 (ResultSink stores rank 0's values), not for one whose next_phase()
    /// or outputs' shapes depend on the total.
    void total_on_every_rank() { want_total_on_every_rank(); }

    /// True if `path` names an existing file (as rank 0 sees it; every rank gets the same answer). Collective.
    [[nodiscard]] virtual bool file_exists(const std::string& path) = 0;

    /// Declares a per-item output dataset `name` of shape [items, width] (or [items] when width is 1).
    /// Rows are filled by process() through ItemSink::row. A phase that writes any row of a column rewrites it.
    template <Scalar T>
    ItemColumn<T> item_output(const std::string& name, std::uint64_t items, std::uint64_t width = 1,
                              const std::string& description = "") {
        return {declare_column(name, scalar_type_of<T>::value, items, width, description), width};
    }

    /// Declares a ragged per-item output `name`: process() appends any number of values to an item's row through
    /// ItemSink::append. Stored as dataset `name/values` (every row's values, in item order) and `name/offsets`
    /// (u64 [items + 1]): item i's values are values[offsets[i]:offsets[i + 1]]. Like item_output, a phase that
    /// appends to any row rewrites the whole output (rows it did not append to are empty).
    template <Scalar T>
    RaggedColumn<T> ragged_output(const std::string& name, std::uint64_t items, const std::string& description = "") {
        return {declare_ragged(name, scalar_type_of<T>::value, items, description)};
    }

    /// Declares that write_results() stores dataset `name` ("a/b" in group "a"). pel checks each declaration here, in
    /// setup and so before any item runs: a name taken by an item output, by another result, or by pel itself
    /// (README, "Reserved names") is an error naming both uses. Once a job declares a result, every dataset and
    /// attribute write_results() stores must be declared (a job that declares none is checked as it writes).
    void result_dataset(const std::string& name) { declare_result(name, ResultKind::dataset); }
    /// Declares that write_results() stores root attribute `name`; checked as result_dataset() is.
    void result_attribute(const std::string& name) { declare_result(name, ResultKind::attribute); }

  protected:
    /// What a declared result is.
    enum class ResultKind : std::uint8_t { dataset, attribute };

    virtual std::vector<std::byte> read_raw(const std::string& file, const std::string& dataset, ScalarType type,
                                            std::vector<std::uint64_t>& dims) = 0;
    virtual void write_raw(const std::string& file, const std::string& dataset, ScalarType type,
                           const std::vector<std::uint64_t>& dims, std::span<const std::byte> data) = 0;
    virtual int declare_column(const std::string& name, ScalarType type, std::uint64_t items, std::uint64_t width,
                               const std::string& description) = 0;
    virtual void declare_result(const std::string& name, ResultKind kind) = 0;
    /// Item inputs (defaults: a context that has none, for authors' test contexts).
    virtual int declare_input(const std::string& file, const std::string& /*dataset*/, ScalarType /*type*/,
                              std::uint64_t /*rows_per_item*/, std::uint64_t /*items*/,
                              std::vector<std::uint64_t>& /*dims*/, std::uint64_t& /*input_items*/,
                              std::uint64_t& /*width*/) {
        throw Error::Failure("this context cannot read item inputs (of '" + file + "')");
    }
    virtual void read_input_items(int /*input*/, ItemRange /*range*/, std::span<std::byte> /*into*/) {
        throw Error::Failure("this context holds no item inputs");
    }
    virtual void want_total_on_every_rank() {}
    virtual int declare_ragged(const std::string& name, ScalarType type, std::uint64_t items,
                               const std::string& description) = 0;
};

/// Where process() writes its items' rows of per-item outputs.
class ItemSink {
  public:
    virtual ~ItemSink() = default;

    /// The row of `column` that belongs to `item`, which must be one of the items being processed.
    template <Scalar T>
    std::span<T> row(ItemColumn<T> column, std::uint64_t item) {
        return {reinterpret_cast<T*>(row_bytes(column.id, item)), column.width};
    }

    /// Appends `values` to the row of ragged output `column` that belongs to `item` (one of the items being
    /// processed). Appends to one item keep their order; a batch that throws leaves no values behind.
    template <Scalar T>
    void append(RaggedColumn<T> column, std::uint64_t item, std::span<const T> values) {
        append_bytes(column.id, item, std::as_bytes(values));
    }
    /// Appends one value to the row of ragged output `column` that belongs to `item`.
    template <Scalar T>
    void append(RaggedColumn<T> column, std::uint64_t item, T value) {
        append_bytes(column.id, item, std::as_bytes(std::span<const T>(&value, 1)));
    }

  protected:
    virtual std::byte* row_bytes(int column, std::uint64_t item) = 0;
    virtual void append_bytes(int column, std::uint64_t item, std::span<const std::byte> values) = 0;
};

/// Where write_results() puts the job's final results. Collective: every rank calls each function with the same
/// arguments (the values of rank 0 are stored).
class ResultSink {
  public:
    virtual ~ResultSink() = default;

    /// Stores `data` with shape `dims` as dataset `name` ("a/b" creates group "a").
    template <Scalar T>
    void dataset(const std::string& name, const std::vector<std::uint64_t>& dims, std::span<const T> data,
                 const std::string& description = "") {
        dataset_raw(name, scalar_type_of<T>::value, dims, std::as_bytes(data), description);
    }

    /// Stores a scalar attribute on the file's root.
    template <Scalar T>
    void attribute(const std::string& name, T value) {
        attribute_raw(name, scalar_type_of<T>::value, &value);
    }
    /// Stores a text attribute on the file's root.
    virtual void attribute(const std::string& name, const std::string& value) = 0;

  protected:
    virtual void dataset_raw(const std::string& name, ScalarType type, const std::vector<std::uint64_t>& dims,
                             std::span<const std::byte> data, const std::string& description) = 0;
    virtual void attribute_raw(const std::string& name, ScalarType type, const void* value) = 0;
};

/// How a run ended in the job's own terms, said after its results are committed.
struct JobOutcome {
    /// One line printed as the run's last, and stored as the results' `job_summary` attribute (empty: none).
    std::string summary;
    /// The run's exit code: 0, or one of the codes kept for jobs, kJobExitFirst .. kJobExitLast, meaning something
    /// went wrong in the job's terms although the run itself completed (the results are written).
    int exit_code = 0;
};

/// The exit codes kept for jobs' outcomes (see JobOutcome): apart from pel's own (0-4, 70, 75).
inline constexpr int kJobExitFirst = 101;
inline constexpr int kJobExitLast = 120;

/// Type-erased partial result; the framework moves these between threads and ranks.
class AnyPartial {
  public:
    virtual ~AnyPartial() = default;
    virtual void merge(const AnyPartial& other) = 0;
    virtual void save(OutArchive& out) const = 0;
    virtual void load(InArchive& in) = 0;
};

/// What the framework sees of a job. Job authors derive from pel::Job<Partial> instead.
class JobBase {
  public:
    virtual ~JobBase() = default;

    /// Declares the job's options, bound to members whose current values are the defaults.
    virtual void declare_options(Options& /*options*/) {}
    /// Prepares the run after options are set: reads inputs, declares per-item outputs. Collective.
    virtual void setup(SetupContext& /*ctx*/) {}
    /// The next phase, or nothing when the job is done. Called on every rank; must give every rank the same answer.
    virtual std::optional<Phase> next_phase(const Context& ctx) = 0;
    /// Stores the final results. Collective.
    virtual void write_results(ResultSink& /*sink*/, const Context& /*ctx*/) const {}
    /// Saves what the job carries between phases (for checkpoints). Default: nothing.
    virtual void save_state(OutArchive& /*out*/) const {}
    /// Restores what save_state saved.
    virtual void load_state(InArchive& /*in*/) {}
    /// How the run ended in the job's terms, after write_results(). Called on every rank; rank 0's answer is used.
    [[nodiscard]] virtual JobOutcome outcome(const Context& /*ctx*/) const { return {}; }

    /// Type-erased plumbing, implemented by pel::Job<Partial>.
    [[nodiscard]] virtual std::unique_ptr<AnyPartial> new_partial(const Context& ctx) const = 0;
    virtual void process_any(ItemRange items, AnyPartial& partial, ItemSink& out, const Context& ctx) const = 0;
    virtual void end_phase_any(const AnyPartial& total, const Context& ctx) = 0;
    virtual void seed_any(Spawner& spawner, const Context& ctx) const = 0;
    virtual void expand_any(std::span<const std::byte> payload, AnyPartial& partial, Spawner& spawner,
                            const Context& ctx) const = 0;
};

/// A partial result: merges exactly with another of its kind and can be saved (see pel/archive.hpp).
template <class P>
concept Partial = std::default_initializable<P> && std::copy_constructible<P> &&
    requires(P& p, const P& q, OutArchive& o) {
    p.merge(q);
    Serializer<P>::save(o, q);
};

/// The partial result of a job that only writes per-item outputs.
struct NoPartial {
    void merge(const NoPartial& /*other*/) {}
    template <class A>
    void fields(A& /*a*/) {}
};

/// The base class of a job whose items combine into a P.
template <Partial P>
class Job : public JobBase {
  public:
    using partial_type = P;

    /// The partial result of no items. Default: P{}.
    [[nodiscard]] virtual P empty_partial(const Context& /*ctx*/) const { return P{}; }
    /// The kernel: processes `items`, adding into `partial` and writing rows into `out`. Runs concurrently on
    /// many threads, each with its own partial; must not change the job. A job with only dynamic phases has none.
    virtual void process(ItemRange /*items*/, P& /*partial*/, ItemSink& /*out*/, const Context& /*ctx*/) const {
        throw Error::Plugin("the job gave a phase of fixed items but defines no process()");
    }
    /// A dynamic phase's first items: called once per phase, on rank 0 only (not again when a run resumes it).
    virtual void seed(Spawner& /*spawner*/, const Context& /*ctx*/) const {}
    /// The kernel of a dynamic phase: runs the item whose payload is `payload`, adding into `partial` and spawning
    /// any items it makes. Runs concurrently like process(); the partial's merge must be exact, since which items
    /// meet in one partial depends on the layout.
    virtual void expand(std::span<const std::byte> /*payload*/, P& /*partial*/, Spawner& /*spawner*/,
                        const Context& /*ctx*/) const {
        throw Error::Plugin("the job gave a dynamic phase but defines no expand()");
    }
    /// Receives the merged partial of every item of the phase: on rank 0; on the others too if setup asked for it
    /// (SetupContext::total_on_every_rank), else they get the partial of no items.
    virtual void end_phase(const P& /*total*/, const Context& /*ctx*/) {}

  private:
    // Each thread's partial sits on its own cache lines, so threads adding into theirs never share a line.
    struct alignas(64) Box final : AnyPartial {
        P value;
        explicit Box(P v) : value(std::move(v)) {}
        void merge(const AnyPartial& other) override { value.merge(static_cast<const Box&>(other).value); }
        void save(OutArchive& out) const override { out(value); }
        void load(InArchive& in) override { in(value); }
    };

    [[nodiscard]] std::unique_ptr<AnyPartial> new_partial(const Context& ctx) const final {
        return std::make_unique<Box>(empty_partial(ctx));
    }
    void process_any(ItemRange items, AnyPartial& partial, ItemSink& out, const Context& ctx) const final {
        process(items, static_cast<Box&>(partial).value, out, ctx);
    }
    void end_phase_any(const AnyPartial& total, const Context& ctx) final {
        end_phase(static_cast<const Box&>(total).value, ctx);
    }
    void seed_any(Spawner& spawner, const Context& ctx) const final { seed(spawner, ctx); }
    void expand_any(std::span<const std::byte> payload, AnyPartial& partial, Spawner& spawner,
                    const Context& ctx) const final {
        expand(payload, static_cast<Box&>(partial).value, spawner, ctx);
    }
};

}  // namespace pel
