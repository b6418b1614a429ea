// exec/job_context.hpp: what a job sees of the run (pel::Context, pel::SetupContext) and where its final results go
// (pel::ResultSink): the narrow views of the run that the job API promises, over the communicator and results file.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "exec/item_inputs.hpp"
#include "exec/log.hpp"
#include "exec/result_names.hpp"
#include "io/results_file.hpp"
#include "mpi/comm.hpp"
#include "pel/job.hpp"

namespace pel::exec {

/// A per-item output the job declared.
struct Column {
    std::string name;
    ScalarType type;
    std::uint64_t items;
    std::uint64_t width;
    std::size_t row_bytes;
};

/// A ragged per-item output the job declared (any number of values per item; see exec/ragged_rows.hpp).
struct RaggedOutput {
    std::string name;
    ScalarType type;
    std::uint64_t items;
    std::size_t value_bytes;
    std::string description;
};

/// The Context and SetupContext a job sees. Reading and writing arrays, file_exists and declaring outputs are
/// collective, as the job API says.
class RunContext final : public SetupContext {
  public:
    RunContext(const mpi::Comm& comm, io::ResultsFile& out, int threads, std::string run_dir, const Log& log,
               const std::string& job)
        : comm_(comm), out_(out), threads_(threads), run_dir_(std::move(run_dir)), log_(log), names_(job) {}

    [[nodiscard]] int rank() const override { return comm_.rank(); }
    [[nodiscard]] int ranks() const override { return comm_.size(); }
    [[nodiscard]] int threads() const override { return threads_; }
    [[nodiscard]] int phase() const override { return phase_; }
    [[nodiscard]] int thread() const override;
    [[nodiscard]] bool stop_requested() const override;
    void request_stop(std::uint64_t item) const override;
    [[nodiscard]] std::string output_path() const override { return out_.path(); }
    [[nodiscard]] std::string run_dir() const override { return run_dir_; }
    void log(const std::string& line) const override { log_.info(line); }
    void warn(const std::string& line) const override { log_.warn(line); }
    bool file_exists(const std::string& path) override;

    /// The per-item outputs declared so far, by id.
    [[nodiscard]] const std::vector<Column>& columns() const noexcept { return columns_; }
    /// The item inputs the job declared.
    [[nodiscard]] ItemInputs& inputs() noexcept { return inputs_; }
    /// True if the job asked for each phase's total on every rank (else rank 0 only gets it).
    [[nodiscard]] bool total_wanted_everywhere() const noexcept { return total_everywhere_; }
    /// The ragged per-item outputs declared so far, by id.
    [[nodiscard]] const std::vector<RaggedOutput>& ragged() const noexcept { return ragged_; }
    /// The names of the job's outputs so far, for the ResultSink to check what write_results() stores.
    [[nodiscard]] ResultNames& names() noexcept { return names_; }
    void set_phase(int phase) noexcept { phase_ = phase; }
    /// The smallest item whose kernel asked to stop here since the last take_stop_item() (UINT64_MAX: none), and
    /// forgets it. While `ignore` is set (pel runs the kernel again itself), requests are not noted.
    std::uint64_t take_stop_item() noexcept { return stop_item_.exchange(UINT64_MAX); }
    void ignore_stop_requests(bool ignore) noexcept { ignore_stops_ = ignore; }
    /// Makes thread() answer `index` on the calling thread (a team's thread as it starts; -1 when it ends).
    static void set_thread_index(int index) noexcept;

  protected:
    std::vector<std::byte> read_raw(const std::string& file, const std::string& dataset, ScalarType type,
                                    std::vector<std::uint64_t>& dims) override;
    void write_raw(const std::string& file, const std::string& dataset, ScalarType type,
                   const std::vector<std::uint64_t>& dims, std::span<const std::byte> data) override;
    int declare_column(const std::string& name, ScalarType type, std::uint64_t items, std::uint64_t width,
                       const std::string& description) override;
    void declare_result(const std::string& name, ResultKind kind) override;
    int declare_input(const std::string& file, const std::string& dataset, ScalarType type, std::uint64_t rows_per_item,
                      std::uint64_t items, std::vector<std::uint64_t>& dims, std::uint64_t& input_items,
                      std::uint64_t& width) override;
    void read_input_items(int input, ItemRange range, std::span<std::byte> into) override;
    void want_total_on_every_rank() override { total_everywhere_ = true; }
    [[nodiscard]] const std::byte* input_bytes(int input, std::uint64_t item) const override {
        return ItemInputs::values_of(input, item);
    }
    int declare_ragged(const std::string& name, ScalarType type, std::uint64_t items,
                       const std::string& description) override;

  private:
    const mpi::Comm& comm_;
    io::ResultsFile& out_;
    int threads_;
    std::string run_dir_;
    const Log& log_;
    int phase_ = -1;
    mutable std::atomic<std::uint64_t> stop_item_{UINT64_MAX};
    bool ignore_stops_ = false;
    std::vector<Column> columns_;
    std::vector<RaggedOutput> ragged_;
    ResultNames names_;
    ItemInputs inputs_;
    bool total_everywhere_ = false;
};

/// The ResultSink over the results file: write_results() stores the job's final datasets and attributes there, each
/// name checked first (`names`), so that a clash is one line naming both uses rather than HDF5's error. Rank 0's
/// values are stored: they are broadcast first, since parallel HDF5 may write an attribute from any rank, and since
/// a job whose phase totals stay on rank 0 holds other values (and shapes) elsewhere. Collective.
class FileSink final : public ResultSink {
  public:
    FileSink(const mpi::Comm& comm, io::ResultsFile& out, ResultNames& names) : comm_(comm), out_(out), names_(names) {}
    void attribute(const std::string& name, const std::string& value) override;

  protected:
    void dataset_raw(const std::string& name, ScalarType type, const std::vector<std::uint64_t>& dims,
                     std::span<const std::byte> data, const std::string& description) override;
    void attribute_raw(const std::string& name, ScalarType type, const void* value) override;

  private:
    const mpi::Comm& comm_;
    io::ResultsFile& out_;
    ResultNames& names_;
};

}  // namespace pel::exec
