// tests/core/durable_file_test.cpp: pel::DurableFile: content round-trips; links planted at the temporary's or the
// final name are never followed; a failed write leaves the old file and no temporary; a final name that is a
// directory, a FIFO or a device node is refused, never replaced; names too long are refused with a short message;
// logs are appended to without following links. Every path is inside the test's own directory.
#include "pel/durable_file.hpp"

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include "pel/error.hpp"

namespace fs = std::filesystem;
using pel::DurableFile;

namespace {

/// A fresh directory, removed with everything in it at the end of the test.
class TempDir {
  public:
    TempDir() {
        std::string templ = (fs::temp_directory_path() / "pel-durable-XXXXXX").string();
        if (::mkdtemp(templ.data()) == nullptr) std::abort();
        path_ = templ;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] fs::path operator/(const std::string& name) const { return path_ / name; }
    [[nodiscard]] const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void put(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

/// The names in `dir`.
std::set<std::string> names_in(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename().string());
    return names;
}

/// The message of the pel::Error (I/O) that `f` throws; fails the test if it throws none.
template <class F>
std::string io_error_of(F&& f) {
    try {
        f();
    } catch (const pel::Error& e) {
        CHECK(e.code() == pel::ExitCode::io);
        return e.what();
    }
    FAIL("no error");
    return {};
}

bool is_link(const fs::path& path) { return fs::is_symlink(fs::symlink_status(path)); }

}  // namespace

TEST_CASE("a durable file's content round-trips and replaces the old file", "[core][durable]") {
    const TempDir dir;
    const fs::path path = dir / "data.txt";
    pel::write_file_durably(path, std::string("first\n"));
    CHECK(read(path) == "first\n");
    const std::string binary("a\0b\xff\n", 5);
    pel::write_file_durably(path, std::as_bytes(std::span(binary.data(), binary.size())));
    CHECK(read(path) == binary);
    pel::write_file_durably(path, std::string());
    CHECK(fs::file_size(path) == 0);
    CHECK(names_in(dir.path()) == std::set<std::string>{"data.txt"});  // no temporary left

    // Written in pieces; the temporary sits beside the final name and is not it.
    DurableFile file = DurableFile::create(path);
    CHECK(file.temporary_path().parent_path() == dir.path());
    CHECK(file.temporary_path() != path);
    CHECK(fs::is_regular_file(file.temporary_path()));
    file.write("one ");
    file.write("two");
    CHECK(fs::file_size(path) == 0);  // the old file, until commit
    file.commit();
    CHECK_FALSE(file.open());
    CHECK(read(path) == "one two");
    CHECK(names_in(dir.path()) == std::set<std::string>{"data.txt"});

    // A relative name lands in the working directory's (here: the test's) directory.
    const fs::path cwd = fs::current_path();
    fs::current_path(dir.path());
    pel::write_file_durably("relative.txt", "here");
    fs::current_path(cwd);
    CHECK(read(dir / "relative.txt") == "here");
}

TEST_CASE("a durable file not committed leaves the old file and no temporary", "[core][durable]") {
    const TempDir dir;
    const fs::path path = dir / "keep.txt";
    put(path, "old");
    {
        DurableFile file = DurableFile::create(path);
        file.write("new, never committed");
    }
    CHECK(read(path) == "old");
    CHECK(names_in(dir.path()) == std::set<std::string>{"keep.txt"});

    DurableFile file = DurableFile::create(path);
    file.discard();
    CHECK_FALSE(file.open());
    CHECK_THROWS_AS(file.commit(), pel::Error);
    CHECK(read(path) == "old");
    CHECK(names_in(dir.path()) == std::set<std::string>{"keep.txt"});
}

TEST_CASE("a write that fails leaves the old file and no temporary", "[core][durable]") {
    const TempDir dir;
    const fs::path path = dir / "big.bin";
    put(path, "the old content");
    // RLIMIT_FSIZE makes writes past 4 KiB fail (EFBIG), as a full disk would.
    rlimit old{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = old;
    small.rlim_cur = 4096;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    const std::string big(100000, 'x');
    const std::string message = io_error_of([&] { pel::write_file_durably(path, big); });
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    CHECK_THAT(message, Catch::Contains(path.string()) && Catch::Contains("too large"));
    CHECK(read(path) == "the old content");
    CHECK(names_in(dir.path()) == std::set<std::string>{"big.bin"});

    // A commit that cannot rename (the final name became a directory meanwhile) also cleans up.
    const fs::path other = dir / "other.txt";
    DurableFile file = DurableFile::create(other);
    file.write("text");
    fs::create_directory(other);
    CHECK_THAT(io_error_of([&] { file.commit(); }), Catch::Contains("it is a directory, not a regular file"));
    CHECK(fs::is_directory(other));
    CHECK(names_in(dir.path()) == std::set<std::string>{"big.bin", "other.txt"});
}

TEST_CASE("a link planted at the final name is replaced, never followed", "[core][durable]") {
    const TempDir dir;
    const fs::path victim = dir / "victim.txt";
    put(victim, "precious");
    const fs::path path = dir / "out.txt";
    fs::create_symlink(victim, path);
    pel::write_file_durably(path, "new content");
    CHECK(read(victim) == "precious");
    CHECK_FALSE(is_link(path));
    CHECK(read(path) == "new content");

    // A dangling link too: nothing is created where it points.
    const fs::path nowhere = dir / "nowhere.txt";
    const fs::path dangling = dir / "dangling.txt";
    fs::create_symlink(nowhere, dangling);
    pel::write_file_durably(dangling, "x");
    CHECK_FALSE(fs::exists(nowhere));
    CHECK(read(dangling) == "x");
}

TEST_CASE("a link planted at a reserved temporary's name is removed, never followed", "[core][durable]") {
    const TempDir dir;
    const fs::path victim = dir / "victim.txt";
    put(victim, "precious");
    const fs::path path = dir / "results.h5";
    const fs::path temporary = dir / "results.h5.part";
    fs::create_symlink(victim, temporary);

    DurableFile file = DurableFile::reserve(path, temporary);
    CHECK_FALSE(is_link(temporary));
    CHECK(fs::is_regular_file(temporary));
    // Another library writes the temporary by name, as HDF5 would.
    put(temporary, "written by name");
    file.commit();
    CHECK(read(victim) == "precious");
    CHECK(read(path) == "written by name");
    CHECK(names_in(dir.path()) == std::set<std::string>{"results.h5", "victim.txt"});

    // A leftover regular file of a crashed write is replaced; one left open is dropped, uncommitted.
    put(temporary, "a crashed write");
    {
        DurableFile again = DurableFile::reserve(path, temporary);
        CHECK(fs::file_size(temporary) == 0);
    }
    CHECK_FALSE(fs::exists(temporary));
    CHECK(read(path) == "written by name");

    // A directory there is refused.
    fs::create_directories(temporary / "inside");
    CHECK_THAT(io_error_of([&] { (void)DurableFile::reserve(path, temporary); }),
               Catch::Contains(temporary.string()) && Catch::Contains("Is a directory"));
}

TEST_CASE("a temporary swapped for a link while written is not committed", "[core][durable]") {
    const TempDir dir;
    const fs::path victim = dir / "victim.txt";
    put(victim, "precious");
    const fs::path path = dir / "out.h5";
    put(path, "old");
    const fs::path temporary = dir / "out.h5.part";
    DurableFile file = DurableFile::reserve(path, temporary);
    fs::remove(temporary);
    fs::create_symlink(victim, temporary);
    CHECK_THAT(io_error_of([&] { file.commit(); }), Catch::Contains("was replaced or removed"));
    CHECK(read(path) == "old");
    CHECK(read(victim) == "precious");
    CHECK(is_link(temporary));  // not ours: left alone
}

TEST_CASE("a final name that is a directory, a FIFO or a device node is refused", "[core][durable]") {
    const TempDir dir;
    const fs::path directory = dir / "a-directory";
    fs::create_directory(directory);
    const fs::path fifo = dir / "a-fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    std::vector<std::pair<fs::path, std::string>> cases{{directory, "a directory"}, {fifo, "a FIFO"}};
    const fs::path device = dir / "a-device";  // a node like /dev/null's, made in the test's own directory
    if (::mknod(device.c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0) {
        cases.emplace_back(device, "a character device");
    } else {
        WARN("cannot make a device node here (" << std::strerror(errno) << "): that case is not checked");
    }
    for (const auto& item : cases) {
        const fs::path& path = item.first;
        const std::string& kind = item.second;
        INFO(path);
        const auto before = names_in(dir.path());
        CHECK_THAT(io_error_of([&] { pel::write_file_durably(path, "data"); }),
                   Catch::Contains(path.string()) && Catch::Contains("it is " + kind + ", not a regular file"));
        CHECK_THAT(io_error_of([&] { (void)DurableFile::reserve(path, dir / "temporary.part"); }),
                   Catch::Contains("it is " + kind));
        CHECK(names_in(dir.path()) == before);  // no temporary left
    }
    CHECK(fs::is_directory(directory));
    CHECK(fs::is_fifo(fs::symlink_status(fifo)));
    if (fs::exists(fs::symlink_status(device))) CHECK(fs::is_character_file(fs::symlink_status(device)));
}

TEST_CASE("errors name the path and the reason", "[core][durable]") {
    const TempDir dir;
    const fs::path missing = dir / "no" / "such" / "dir" / "file.txt";
    CHECK_THAT(io_error_of([&] { pel::write_file_durably(missing, "x"); }),
               Catch::Contains(missing.string()) && Catch::Contains("No such file or directory"));
    const fs::path under_file = dir / "plain" / "file.txt";
    put(dir / "plain", "a regular file");
    CHECK_THAT(io_error_of([&] { pel::write_file_durably(under_file, "x"); }),
               Catch::Contains(under_file.string()) && Catch::Contains("Not a directory"));
}

TEST_CASE("names longer than the system allows are refused before anything is made", "[core][durable]") {
    const TempDir dir;
    const fs::path just_fits = dir / (std::string(255 - DurableFile::kTemporarySuffixLength, 'a'));
    pel::write_file_durably(just_fits, "x");
    CHECK(read(just_fits) == "x");
    const fs::path too_long = dir / (std::string(256 - DurableFile::kTemporarySuffixLength, 'b'));
    const auto before = names_in(dir.path());
    CHECK_THAT(io_error_of([&] { pel::write_file_durably(too_long, "x"); }),
               Catch::Contains("more than the 255 a file name may have"));
    CHECK_THAT(io_error_of([&] { (void)DurableFile::reserve(dir / "f", dir / std::string(256, 'c')); }),
               Catch::Contains("more than the 255"));
    // A megabyte name: the message shows its ends and its length, not the whole of it.
    const std::string huge = (dir / std::string(1 << 20, 'd')).string();
    const std::string message = io_error_of([&] { pel::write_file_durably(huge, "x"); });
    CHECK(message.size() < 400);
    CHECK_THAT(message, Catch::Contains("characters)"));
    CHECK(names_in(dir.path()) == before);
}

TEST_CASE("a log is appended to, never through a link, never into a FIFO or a device", "[core][durable]") {
    const TempDir dir;
    const fs::path log = dir / "rank-0.log";
    put(log, "old\n");
    for (const bool truncate : {false, true}) {
        const int fd = pel::open_log_file(log, truncate);
        REQUIRE(fd >= 0);
        CHECK(::write(fd, "new\n", 4) == 4);
        ::close(fd);
    }
    CHECK(read(log) == "new\n");  // appended, then emptied and written
    const fs::path victim = dir / "victim";
    put(victim, "precious");
    const fs::path link = dir / "link.log";
    fs::create_symlink(victim, link);
    CHECK_THAT(io_error_of([&] { (void)pel::open_log_file(link); }), Catch::Contains("it is a symbolic link"));
    CHECK_THAT(io_error_of([&] { (void)pel::open_log_file(link, true); }), Catch::Contains("symbolic link"));
    CHECK(read(victim) == "precious");
    const fs::path fifo = dir / "fifo.log";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THAT(io_error_of([&] { (void)pel::open_log_file(fifo); }), Catch::Contains("it is a FIFO"));
    const fs::path device = dir / "device.log";
    if (::mknod(device.c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0) {
        CHECK_THAT(io_error_of([&] { (void)pel::open_log_file(device); }), Catch::Contains("a character device"));
        CHECK(fs::is_character_file(fs::symlink_status(device)));
    }
}
