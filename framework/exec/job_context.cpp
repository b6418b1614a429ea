// exec/job_context.cpp: the job's views of the run (see job_context.hpp).
#include "exec/job_context.hpp"

#include <cstring>
#include <filesystem>

#include "exec/signals.hpp"
#include "io/arrays.hpp"

namespace pel::exec {

namespace {

/// The index of the team thread running on this OS thread (-1: not a team's thread).
thread_local int team_thread_index = -1;

}  // namespace

int RunContext::thread() const { return team_thread_index < 0 ? 0 : team_thread_index; }

bool RunContext::stop_requested() const { return stop_signal() != 0; }

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

void RunContext::write_raw(const std::string& file, const std::string& dataset, ScalarType type,
                           const std::vector<std::uint64_t>& dims, std::span<const std::byte> data) {
    mpi::agree(comm_, [&] {
        if (comm_.rank() == 0) io::write_array(file, dataset, type, dims, data);
    });
}

int RunContext::declare_column(const std::string& name, ScalarType type, std::uint64_t items, std::uint64_t width,
                               const std::string& description) {
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

void FileSink::dataset_raw(const std::string& name, ScalarType type, const std::vector<std::uint64_t>& dims,
                           std::span<const std::byte> data, const std::string& description) {
    out_.write_whole(name, type, dims, data);
    if (!description.empty()) out_.attribute_on(name, "description", description);
}

}  // namespace pel::exec
