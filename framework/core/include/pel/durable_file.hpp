// pel/durable_file.hpp: writing a file so that its name only ever holds a complete file that is on disk: a
// temporary beside it, created without following links, synced, renamed over the final name, the directory synced;
// and the two other ways pel opens a file to write: a log appended to, never through a link, and name-length checks.
//
// Header-only (POSIX), so that job plugins, which link nothing from pel, write their side files the same way.
#pragma once

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

#include "pel/error.hpp"

namespace pel {

/// A file being written under a temporary name beside its final name. The temporary is created in the final
/// name's directory, exclusively and without following links (`O_CREAT | O_EXCL | O_NOFOLLOW`), so a link planted
/// at its name never redirects the write. commit() syncs it, renames it over the final name and syncs the
/// directory; until then the final name keeps its old file (or none), and a DurableFile destroyed uncommitted
/// removes its temporary. A final name that exists and is not a regular file (a directory, a FIFO, a device node)
/// is refused, never replaced; a symbolic link there is replaced itself, never followed. Errors are pel::Error (I/O)
/// naming the path and the reason.
///
/// Two forms: create() for data this process writes through write(); reserve() for a file another library writes
/// by name (HDF5, MPI-IO), which commit() then makes durable the same way.
class DurableFile {
  public:
    /// The length of `.<8 hex digits>.tmp`, which create() appends to the final name for its temporary.
    static constexpr std::size_t kTemporarySuffixLength = 13;

    /// Opens a new, empty temporary `<final>.<random>.tmp` beside `final`, for write().
    [[nodiscard]] static DurableFile create(const std::filesystem::path& final) {
        check_name_length(final, kTemporarySuffixLength);
        check_replaceable(final);
        const std::filesystem::path dir = directory_of(final);
        for (int attempt = 0; attempt < 100; ++attempt) {
            std::filesystem::path temporary = dir / (final.filename().string() + "." + random_suffix() + ".tmp");
            const int fd = open_exclusive(temporary);
            if (fd >= 0) return {final, std::move(temporary), fd};
            if (errno != EEXIST) {
                throw Error::Io("cannot write '" + final.string() + "': cannot create a temporary file in '" +
                                dir.string() + "': " + std::strerror(errno));
            }
        }
        throw Error::Io("cannot write '" + final.string() + "': no free temporary name in '" + dir.string() + "'");
    }

    /// Reserves the temporary name `temporary` (in `final`'s directory) for a writer that opens the file by name,
    /// as HDF5 and MPI-IO do: whatever an earlier, crashed write left there (a file, or a link, which is removed and
    /// never followed) is removed, and a new empty file is created there exclusively. A directory there is refused.
    /// commit() checks that the name still holds this file before making it the final one.
    [[nodiscard]] static DurableFile reserve(const std::filesystem::path& final,
                                             const std::filesystem::path& temporary) {
        check_name_length(final);
        check_name_length(temporary);
        check_replaceable(final);
        struct stat st {};
        if (::lstat(temporary.c_str(), &st) == 0) {
            if (S_ISDIR(st.st_mode))
                throw Error::Io("cannot write '" + shown(temporary) + "': " + std::strerror(EISDIR));
            // A file another user left there is theirs, not a crashed write of ours: not ours to remove.
            if (!S_ISLNK(st.st_mode) && st.st_uid != ::geteuid()) {
                throw Error::Io("cannot write '" + shown(final) + "': its temporary name '" + shown(temporary) +
                                "' holds a file of another user (uid " + std::to_string(st.st_uid) + ")");
            }
            if (::unlink(temporary.c_str()) != 0 && errno != ENOENT) {
                throw Error::Io("cannot write '" + temporary.string() +
                                "': cannot remove the file there: " + std::strerror(errno));
            }
        } else if (errno != ENOENT) {
            throw Error::Io("cannot write '" + temporary.string() + "': " + std::strerror(errno));
        }
        const int fd = open_exclusive(temporary);
        if (fd < 0) throw Error::Io("cannot write '" + temporary.string() + "': " + std::strerror(errno));
        return {final, temporary, fd};
    }

    DurableFile(DurableFile&& other) noexcept
        : final_(std::move(other.final_)), temporary_(std::move(other.temporary_)), fd_(std::exchange(other.fd_, -1)) {}
    DurableFile& operator=(DurableFile&& other) noexcept {
        if (this != &other) {
            discard();
            final_ = std::move(other.final_);
            temporary_ = std::move(other.temporary_);
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    DurableFile(const DurableFile&) = delete;
    DurableFile& operator=(const DurableFile&) = delete;
    /// Removes the temporary unless commit() succeeded. Never throws.
    ~DurableFile() { discard(); }

    /// The name the file gets on commit().
    [[nodiscard]] const std::filesystem::path& final_path() const noexcept { return final_; }
    /// The name it is written under until then.
    [[nodiscard]] const std::filesystem::path& temporary_path() const noexcept { return temporary_; }
    /// True until commit() or discard().
    [[nodiscard]] bool open() const noexcept { return fd_ >= 0; }

    /// Appends `bytes` to the temporary.
    void write(std::span<const std::byte> bytes) {
        require_open("write");
        const std::byte* p = bytes.data();
        std::size_t left = bytes.size();
        while (left > 0) {
            const ssize_t n = ::write(fd_, p, left);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw Error::Io("cannot write '" + final_.string() + "': " + std::strerror(errno));
            }
            p += n;
            left -= static_cast<std::size_t>(n);
        }
    }
    void write(std::string_view text) { write(std::as_bytes(std::span(text.data(), text.size()))); }

    /// Syncs the temporary to disk, renames it over the final name and syncs the directory, so that after a crash
    /// the final name holds either the old file or the whole new one. On a failure before the rename the temporary
    /// is removed and the old file stays as it was.
    void commit() {
        require_open("commit");
        try {
            struct stat mine {};
            struct stat there {};
            if (::fstat(fd_, &mine) != 0 || ::lstat(temporary_.c_str(), &there) != 0 || !same_file(mine, there)) {
                throw Error::Io("cannot write '" + final_.string() + "': its temporary '" + temporary_.string() +
                                "' was replaced or removed while it was written");
            }
            if (::fsync(fd_) != 0) {
                throw Error::Io("cannot write '" + final_.string() + "': cannot sync '" + temporary_.string() +
                                "' to disk: " + std::strerror(errno));
            }
            check_replaceable(final_);
            if (::rename(temporary_.c_str(), final_.c_str()) != 0) {
                throw Error::Io("cannot rename '" + temporary_.string() + "' to '" + final_.string() +
                                "': " + std::strerror(errno));
            }
        } catch (...) {
            discard();
            throw;
        }
        ::close(std::exchange(fd_, -1));
        sync_directory(directory_of(final_));
    }

    /// Removes the temporary (if the name still holds this file) and gives up the write. Never throws.
    void discard() noexcept {
        if (fd_ < 0) return;
        struct stat mine {};
        struct stat there {};
        if (::fstat(fd_, &mine) == 0 && ::lstat(temporary_.c_str(), &there) == 0 && same_file(mine, there)) {
            ::unlink(temporary_.c_str());
        }
        ::close(std::exchange(fd_, -1));
    }

    /// Throws pel::Error (I/O) if `final` exists and is neither a regular file nor a symbolic link.
    static void check_replaceable(const std::filesystem::path& final) {
        struct stat st {};
        if (::lstat(final.c_str(), &st) != 0) {
            if (errno == ENOENT) return;
            throw Error::Io("cannot write '" + shown(final) + "': " + std::strerror(errno));
        }
        const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                           : S_ISFIFO(st.st_mode) ? "a FIFO"
                           : S_ISCHR(st.st_mode)  ? "a character device"
                           : S_ISBLK(st.st_mode)  ? "a block device"
                           : S_ISSOCK(st.st_mode) ? "a socket"
                                                  : nullptr;
        if (kind != nullptr) {
            throw Error::Io("cannot write '" + shown(final) + "': it is " + kind + ", not a regular file");
        }
    }

    /// Throws pel::Error (I/O) if `path`, with `extra` more characters on its last component (a temporary's
    /// suffix), would be longer than the system allows: NAME_MAX for the last component, PATH_MAX for the whole.
    /// Said before anything is opened, because some writers (MPI-IO) crash on such a name instead of failing.
    static void check_name_length(const std::filesystem::path& path, std::size_t extra = 0) {
        const std::size_t name = path.filename().native().size() + extra;
        const std::size_t whole = path.native().size() + extra;
        if (name > NAME_MAX) {
            throw Error::Io("cannot write '" + shown(path) + "': its file name is " + std::to_string(name) +
                            " characters" + (extra > 0 ? " with its temporary's suffix" : "") + ", more than the " +
                            std::to_string(NAME_MAX) + " a file name may have");
        }
        if (whole >= PATH_MAX) {
            throw Error::Io("cannot write '" + shown(path) + "': its path is " + std::to_string(whole) +
                            " characters, more than the " + std::to_string(PATH_MAX - 1) + " a path may have");
        }
    }

    /// `path` for an error message: whole if short, else its start and end, so that a megabyte name gives a line.
    static std::string shown(const std::filesystem::path& path) {
        const std::string& text = path.native();
        if (text.size() <= kShownMax) return text;
        return text.substr(0, kShownMax / 2) + "..." + text.substr(text.size() - kShownMax / 2) + " (" +
               std::to_string(text.size()) + " characters)";
    }

  private:
    /// The most characters of a path an error message shows.
    static constexpr std::size_t kShownMax = 120;

    DurableFile(std::filesystem::path final, std::filesystem::path temporary, int fd) noexcept
        : final_(std::move(final)), temporary_(std::move(temporary)), fd_(fd) {}

    static std::filesystem::path directory_of(const std::filesystem::path& file) {
        return file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    }

    static int open_exclusive(const std::filesystem::path& path) noexcept {
        int fd = -1;
        do {
            fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        } while (fd < 0 && errno == EINTR);
        return fd;
    }

    static bool same_file(const struct stat& a, const struct stat& b) noexcept {
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino && S_ISREG(b.st_mode);
    }

    /// Eight hex digits that differ between processes, threads and calls (uniqueness is O_EXCL's job; these only
    /// make a clash unlikely).
    static std::string random_suffix() {
        static std::atomic<std::uint64_t> calls{0};
        std::uint64_t x = static_cast<std::uint64_t>(::getpid()) * 0x9E3779B97F4A7C15ULL ^
                          static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                          (calls.fetch_add(1, std::memory_order_relaxed) << 40);
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;  // splitmix64's finaliser
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
        x ^= x >> 31;
        char text[9];
        std::snprintf(text, sizeof text, "%08x", static_cast<unsigned>(x & 0xffffffffU));
        return text;
    }

    /// fsync of a directory, so that a rename in it survives a crash. A file system that cannot sync directories
    /// (EINVAL) is taken as it is.
    static void sync_directory(const std::filesystem::path& dir) {
        const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) throw Error::Io("cannot open directory '" + dir.string() + "' to sync it: " + std::strerror(errno));
        const int rc = ::fsync(fd);
        const int saved = errno;
        ::close(fd);
        if (rc != 0 && saved != EINVAL) {
            throw Error::Io("cannot sync directory '" + dir.string() + "' to disk: " + std::strerror(saved));
        }
    }

    void require_open(const char* what) const {
        if (fd_ < 0) throw Error::Internal(std::string("DurableFile::") + what + " after commit or discard");
    }

    std::filesystem::path final_;
    std::filesystem::path temporary_;
    int fd_ = -1;
};

/// Writes `bytes` as the whole file `final`, durably (see DurableFile).
inline void write_file_durably(const std::filesystem::path& final, std::span<const std::byte> bytes) {
    DurableFile file = DurableFile::create(final);
    file.write(bytes);
    file.commit();
}

/// Writes `text` as the whole file `final`, durably (see DurableFile).
inline void write_file_durably(const std::filesystem::path& final, std::string_view text) {
    write_file_durably(final, std::as_bytes(std::span(text.data(), text.size())));
}

/// Opens `path` to write a log to: created if missing, else appended to (or emptied first, with `truncate`).
/// A symbolic link there is never followed and anything but a regular file (a FIFO, a device node, a directory)
/// is refused without blocking or touching it: pel::Error (I/O) naming the path and what is there. Returns the
/// descriptor, opened O_APPEND, which the caller closes.
[[nodiscard]] inline int open_log_file(const std::filesystem::path& path, bool truncate = false) {
    DurableFile::check_name_length(path);
    DurableFile::check_replaceable(path);  // a device node is refused before it is ever opened
    // O_NONBLOCK: a FIFO planted after the check fails to open (ENXIO) instead of waiting for a reader; cleared below.
    int fd = -1;
    do {
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        const int saved = errno;
        struct stat st {};
        if (saved == ELOOP && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
            throw Error::Io("cannot write '" + DurableFile::shown(path) +
                            "': it is a symbolic link, which pel does not follow when it writes");
        }
        throw Error::Io("cannot write '" + DurableFile::shown(path) + "': " + std::strerror(saved));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error::Io("cannot write '" + DurableFile::shown(path) + "': it is not a regular file");
    }
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 || (truncate && ::ftruncate(fd, 0) != 0)) {
        const int saved = errno;
        ::close(fd);
        throw Error::Io("cannot write '" + DurableFile::shown(path) + "': " + std::strerror(saved));
    }
    return fd;
}

}  // namespace pel
