// io/checkpoint_dir.cpp: the checkpoint directory: names, writing with pruning, listing, removing.
#include "io/checkpoint_dir.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <unistd.h>

#include "pel/error.hpp"

namespace fs = std::filesystem;

namespace pel::io {

namespace {

constexpr std::string_view kPrefix = "ckpt-";
constexpr std::string_view kSuffix = ".h5";
constexpr std::string_view kTemporarySuffix = ".h5.part";
/// What one rank writes per collective call: small enough that the disk takes one piece while the next is copied
/// into the page cache, large enough that the calls cost nothing next to the copying.
constexpr std::uint64_t kPieceBytes = std::uint64_t{16} << 20;

/// The sequence number in `name` if it is `ckpt-<digits><suffix>`.
std::optional<std::uint64_t> parse_name(std::string_view name, std::string_view suffix) {
    if (name.size() <= kPrefix.size() + suffix.size() || !name.starts_with(kPrefix) || !name.ends_with(suffix)) {
        return {};
    }
    const char* first = name.data() + kPrefix.size();
    const char* last = name.data() + name.size() - suffix.size();
    if (!std::all_of(first, last, [](char c) { return c >= '0' && c <= '9'; })) return {};
    std::uint64_t sequence = 0;
    const auto [ptr, err] = std::from_chars(first, last, sequence);
    if (err != std::errc() || ptr != last) return {};
    return sequence;
}

/// Makes `dir` and checks that checkpoints can be written into it, so that what stands in the way is named here
/// rather than by MPI-IO. Rank 0 only.
void prepare_directory(const fs::path& dir, const fs::path& target) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error::Io("cannot create checkpoint directory '" + dir.string() + "': " + ec.message());
    if (!fs::is_directory(dir, ec)) {
        throw Error::Io("cannot write checkpoint '" + target.string() + "': '" + dir.string() + "' is not a directory");
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        throw Error::Io("cannot write checkpoint '" + target.string() + "' into '" + dir.string() +
                        "': " + std::strerror(errno));
    }
}

/// The temporaries in `dir` that killed writes left, and files named after them (MPI-IO lock files).
std::vector<fs::path> leftovers(const fs::path& dir) {
    std::vector<fs::path> found;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const auto part = name.find(kTemporarySuffix);
        if (part != std::string::npos && parse_name(name.substr(0, part + kTemporarySuffix.size()), kTemporarySuffix)) {
            found.push_back(it->path());
        }
    }
    return found;
}

/// Deletes all but the newest `keep` checkpoints (never `written`) and leftover temporaries of earlier writes.
/// Best effort, and never throws: the new checkpoint is safe already, so a file that cannot be deleted stays.
void prune(const fs::path& dir, const fs::path& written, int keep) noexcept {
    try {
        std::error_code ec;
        if (keep > 0) {
            const auto all = list_checkpoints(dir);
            for (std::size_t i = static_cast<std::size_t>(keep); i < all.size(); ++i) {
                if (all[i] != written) fs::remove(all[i], ec);
            }
        }
        for (const fs::path& leftover : leftovers(dir)) fs::remove(leftover, ec);
    } catch (...) {
        // Nothing to undo: whatever could not be deleted is deleted by a later write.
    }
}

}  // namespace

std::string checkpoint_name(std::uint64_t sequence) {
    std::string digits = std::to_string(sequence);
    if (digits.size() < 8) digits.insert(0, 8 - digits.size(), '0');
    return std::string(kPrefix) + digits + std::string(kSuffix);
}

std::optional<std::uint64_t> checkpoint_sequence(const std::filesystem::path& path) {
    return parse_name(path.filename().string(), kSuffix);
}

std::filesystem::path write_checkpoint(const mpi::Comm& comm, const std::filesystem::path& dir, std::uint64_t sequence,
                                       const std::map<std::string, std::string>& attributes,
                                       std::span<const std::byte> meta, const CheckpointPart& part, int keep) {
    return detail::write_checkpoint(comm, dir, sequence, attributes, meta, part, keep, kPieceBytes,
                                    kCheckpointSegmentBytes);
}

std::filesystem::path detail::write_checkpoint(const mpi::Comm& comm, const std::filesystem::path& dir,
                                               std::uint64_t sequence,
                                               const std::map<std::string, std::string>& attributes,
                                               std::span<const std::byte> meta, const CheckpointPart& part, int keep,
                                               std::uint64_t piece_bytes, std::uint64_t segment_bytes) {
    fs::path target = dir / checkpoint_name(sequence);
    mpi::agree(comm, [&] {
        if (comm.rank() == 0) prepare_directory(dir, target);
    });
    write_checkpoint_file(comm, target, dir / (checkpoint_name(sequence) + ".part"), sequence, attributes, meta, part,
                          piece_bytes, segment_bytes);
    if (comm.rank() == 0) prune(dir, target, keep);
    comm.barrier();
    return target;
}

std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& dir) {
    std::vector<std::pair<std::uint64_t, fs::path>> found;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return {};
    fs::directory_iterator it(dir, ec);
    if (ec) throw Error::Io("cannot list checkpoint directory '" + dir.string() + "': " + ec.message());
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        const auto sequence = checkpoint_sequence(it->path());
        if (sequence && it->is_regular_file(ec)) found.emplace_back(*sequence, it->path());
    }
    if (ec) throw Error::Io("cannot list checkpoint directory '" + dir.string() + "': " + ec.message());
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<fs::path> paths;
    paths.reserve(found.size());
    for (auto& [sequence, path] : found) paths.push_back(std::move(path));
    return paths;
}

void remove_checkpoints(const std::filesystem::path& dir) {
    std::error_code ec;
    for (const fs::path& path : list_checkpoints(dir)) fs::remove(path, ec);
    for (const fs::path& leftover : leftovers(dir)) fs::remove(leftover, ec);
    fs::remove(dir, ec);  // only if empty: other files there stay
}

}  // namespace pel::io
