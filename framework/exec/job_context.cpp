// exec/job_context.cpp: the job's views of the run (see job_context.hpp).
#include "exec/job_context.hpp"

#include <cstring>
#include <filesystem>
#include <limits>
#include <span>

#include "exec/signals.hpp"
#include "io/arrays.hpp"

namespace pel::exec {

namespace {

/// The index of the team thread running on this OS thread (-1: not a team's thread).
thread_local int team_thread_index = -1;

}  // namespace

int RunContext::thread() const { return team_thread_index < 0 ? 0 : team_thread_index; }

bool RunContext::stop_requested() const { return stop_signal() != 0 && stop_signal() != kJobStop; }

void RunContext::request_stop(std::uint64_t item) const {
    if (ignore_stops_) return;
    std::uint64_t seen = stop_item_.load();
    while (item < seen && !stop_item_.compare_exchange_weak(seen, item)) {
    }
    exec::request_stop(kJobStop);  // rank 0 pauses the phase at the next chunk boundary, as for a signal
}

void RunContext::set_thread_index(int index) noexcept { team_thread_index = index; }

bool RunContext::file_exists(const std::string& path) {
    std::vector<std::byte> answer(1);
    if (comm_.rank() == 0) {
        std::error_code ec;
        answer[0] = std::byte{std::filesystem::is_regular_file(path, ec) ? std::uint8_t{1} : std::uint8_t{0}};
    }
    comm_.bcast_bytes(answer, 0);
    return answer[0] != std::byte{0};
}

std::vector<std::byte> RunContext::read_raw(const std::string& file, const std::string& dataset, ScalarType type,
                                            std::vector<std::uint64_t>& dims) {
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

int RunContext::declare_input(const std::string& file, const std::string& dataset, ScalarType type,
                              std::uint64_t rows_per_item, std::uint64_t items, std::vector<std::uint64_t>& dims,
                              std::uint64_t& input_items, std::uint64_t& width) {
    // Every rank opens the dataset itself (it reads its own items later); agreeing here turns a file that one rank
    // cannot see into one error on every rank.
    const int id = mpi::agree(comm_, [&] { return inputs_.add(file, dataset, type, rows_per_item, items); });
    const io::ItemInputShape& shape = inputs_.shape(id);
    dims = shape.dims;
    input_items = shape.items;
    width = shape.values_per_item;
    return id;
}

void RunContext::read_input_items(int input, ItemRange range, std::span<std::byte> into) {
    mpi::agree(comm_, [&] { inputs_.read(input, range, into); });
}

void RunContext::write_raw(const std::string& file, const std::string& dataset, ScalarType type,
                           const std::vector<std::uint64_t>& dims, std::span<const std::byte> data) {
    mpi::agree(comm_, [&] {
        if (comm_.rank() == 0) io::write_array(file, dataset, type, dims, data);
    });
}

int RunContext::declare_column(const std::string& name, ScalarType type, std::uint64_t items, std::uint64_t width,
                               const std::string& description) {
    if (width == 0) throw Error::Failure("item output '" + name + "' has width 0");
    names_.item_output(name);  // a name declared twice, or taken by a result or by pel, is a plugin error
    std::vector<std::uint64_t> dims{items};
    if (width > 1) dims.push_back(width);
    // A row without a value (its item skipped by --on-error skip, or no phase wrote the column) must not read as a
    // real 0: floating outputs are NaN there. Integers have no such value; /skipped/rows marks their rows.
    const float nan32 = std::numeric_limits<float>::quiet_NaN();
    const double nan64 = std::numeric_limits<double>::quiet_NaN();
    std::span<const std::byte> fill;
    if (type == ScalarType::f32) fill = std::as_bytes(std::span(&nan32, 1));
    if (type == ScalarType::f64) fill = std::as_bytes(std::span(&nan64, 1));
    mpi::agree(comm_, [&] {
        out_.create_dataset(name, type, dims, fill);
        if (!description.empty()) out_.attribute_on(name, "description", description);
    });
    columns_.push_back({name, type, items, width, static_cast<std::size_t>(width) * scalar_size(type)});
    return static_cast<int>(columns_.size()) - 1;
}

int RunContext::declare_ragged(const std::string& name, ScalarType type, std::uint64_t items,
                               const std::string& description) {
    names_.item_output(name);  // checked as item outputs are; its datasets are written at the end (their size)
    ragged_.push_back({name, type, items, scalar_size(type), description});
    return static_cast<int>(ragged_.size()) - 1;
}

void RunContext::declare_result(const std::string& name, ResultKind kind) {
    if (kind == ResultKind::dataset) {
        names_.declare_dataset(name);
    } else {
        names_.declare_attribute(name);
    }
}

namespace {

/// Rank 0's `bytes`, on every rank. \note collective
std::vector<std::byte> from_rank0(const mpi::Comm& comm, std::span<const std::byte> bytes) {
    std::vector<std::byte> copy(bytes.begin(), bytes.end());
    comm.bcast_bytes(copy, 0);
    return copy;
}

}  // namespace

void FileSink::attribute(const std::string& name, const std::string& value) {
    names_.write_attribute(name);
    const std::vector<std::byte> bytes = from_rank0(comm_, std::as_bytes(std::span(value)));
    out_.attribute(name, std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void FileSink::attribute_raw(const std::string& name, ScalarType type, const void* value) {
    names_.write_attribute(name);
    const std::vector<std::byte> bytes =
        from_rank0(comm_, std::span(static_cast<const std::byte*>(value), scalar_size(type)));
    out_.attribute(name, type, bytes.data());
}

void FileSink::dataset_raw(const std::string& name, ScalarType type, const std::vector<std::uint64_t>& dims,
                           std::span<const std::byte> data, const std::string& description) {
    names_.write_dataset(name);
    // Only rank 0's elements are written (the others select none), but every rank creates the dataset: with rank
    // 0's shape, and a stand-in of that size where its own data has another.
    // Rank 0's data size goes with its shape, so that data of the wrong size is an error on every rank at once.
    std::vector<std::uint64_t> sent = dims;
    sent.push_back(data.size());
    const std::vector<std::byte> shape_bytes = from_rank0(comm_, std::as_bytes(std::span(sent)));
    std::vector<std::uint64_t> shape(shape_bytes.size() / sizeof(std::uint64_t));
    std::memcpy(shape.data(), shape_bytes.data(), shape_bytes.size());
    const std::uint64_t root_bytes = shape.back();
    shape.pop_back();
    std::uint64_t elements = 1;
    for (const auto d : shape) elements *= d;
    if (root_bytes != elements * scalar_size(type)) {
        throw Error::Failure("dataset '" + name + "': " + std::to_string(root_bytes) + " bytes given for " +
                             std::to_string(elements) + " elements of " + scalar_name(type));
    }
    std::vector<std::byte> stand_in;
    if (comm_.rank() != 0 && data.size() != elements * scalar_size(type)) {
        stand_in.resize(elements * scalar_size(type));
        data = stand_in;
    }
    out_.write_whole(name, type, shape, data);
    if (!description.empty()) out_.attribute_on(name, "description", description);
}

}  // namespace pel::exec
