// tests/io/results_file_test.cpp: the parallel results file: rows from every rank land in place, the file only
// gets its final name on commit, unwritable paths are named, and links, FIFOs and device nodes in the way are
// neither followed nor replaced.
#include "io/results_file.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <utility>

#include "io/arrays.hpp"
#include "support/scratch.hpp"

using pel::ScalarType;
using pel::io::ResultsFile;
using pel::io::RowBlock;

namespace {

std::vector<std::byte> bytes_of(const std::vector<std::uint32_t>& v) {
    const auto b = std::as_bytes(std::span(v));
    return {b.begin(), b.end()};
}

}  // namespace

TEST_CASE("rows written by every rank, in any order, land in their places", "[io]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    const std::string path = dir.file("rows.h5");
    const std::uint64_t rows = 37, width = 3;
    {
        ResultsFile out(comm, path);
        out.create_dataset("grid", ScalarType::u32, {rows, width});
        // Rank r owns rows r, r + P, r + 2P, ... written as one-row blocks, given in descending order.
        std::vector<RowBlock> blocks;
        for (std::uint64_t row = static_cast<std::uint64_t>(comm.rank()); row < rows;
             row += static_cast<std::uint64_t>(comm.size())) {
            std::vector<std::uint32_t> values(width);
            for (std::uint64_t c = 0; c < width; ++c) values[c] = static_cast<std::uint32_t>(row * 10 + c);
            blocks.insert(blocks.begin(), RowBlock{row, 1, bytes_of(values)});
        }
        out.write_rows("grid", std::move(blocks));
        CHECK(std::filesystem::exists(path + ".part"));
        CHECK_FALSE(std::filesystem::exists(path));
        out.commit();
    }
    comm.barrier();
    CHECK(std::filesystem::exists(path));
    CHECK_FALSE(std::filesystem::exists(path + ".part"));
    std::vector<std::uint64_t> dims;
    const auto data = pel::io::read_array(path, "grid", ScalarType::u32, dims);
    CHECK(dims == std::vector<std::uint64_t>{rows, width});
    std::vector<std::uint32_t> values(data.size() / 4);
    std::memcpy(values.data(), data.data(), data.size());
    for (std::uint64_t row = 0; row < rows; ++row) {
        for (std::uint64_t c = 0; c < width; ++c) CHECK(values[row * width + c] == row * 10 + c);
    }
}

TEST_CASE("write_whole stores rank 0's data once, and attributes read back", "[io]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    const std::string path = dir.file("whole.h5");
    {
        ResultsFile out(comm, path);
        const std::vector<double> v{1.5, -2.25, 1e300};
        out.write_whole("group/values", ScalarType::f64, {3}, std::as_bytes(std::span(v)));
        out.write_whole("group/none", ScalarType::u64, {0}, {});  // an empty list is a dataset too
        out.attribute("note", "hello");
        const std::int64_t n = 42;
        out.attribute("answer", ScalarType::i64, &n);
        out.commit();
    }
    std::vector<std::uint64_t> dims;
    const auto data = pel::io::read_array(path, "/group/values", ScalarType::f64, dims);
    REQUIRE(data.size() == 3 * sizeof(double));
    double first = 0;
    std::memcpy(&first, data.data(), sizeof first);
    CHECK(first == 1.5);
    const auto none = pel::io::read_array(path, "/group/none", ScalarType::u64, dims);
    CHECK(none.empty());
    CHECK(dims == std::vector<std::uint64_t>{0});
}

TEST_CASE("an uncommitted results file leaves nothing behind", "[io]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    const std::string path = dir.file("abandoned.h5");
    {
        ResultsFile out(comm, path);
        out.create_dataset("x", ScalarType::u8, {4});
    }
    comm.barrier();
    CHECK_FALSE(std::filesystem::exists(path));
    CHECK_FALSE(std::filesystem::exists(path + ".part"));
}

TEST_CASE("an output path in a missing or unwritable directory is named in the error", "[io]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    try {
        ResultsFile out(comm, dir.file("no/such/dir/out.h5"));
        FAIL("no error");
    } catch (const pel::Error& e) {
        CHECK(e.code() == pel::ExitCode::io);
        CHECK_THAT(e.what(), Catch::Contains("does not exist") && Catch::Contains("no/such/dir"));
    }
    try {
        ResultsFile out(comm, dir.path());
        FAIL("no error");
    } catch (const pel::Error& e) {
        CHECK_THAT(e.what(), Catch::Contains("is a directory"));
    }
}

TEST_CASE("reading a missing input names the file or the dataset", "[io]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    std::vector<std::uint64_t> dims;
    CHECK_THROWS_WITH(pel::io::read_array(dir.file("none.h5"), "/x", ScalarType::f64, dims),
                      Catch::Contains("does not exist"));
    if (comm.rank() == 0) {
        const std::vector<double> v{1, 2};
        pel::io::write_array(dir.file("in.h5"), "/points", ScalarType::f64, {2}, std::as_bytes(std::span(v)));
    }
    comm.barrier();
    CHECK_THROWS_WITH(pel::io::read_array(dir.file("in.h5"), "/nothere", ScalarType::f64, dims),
                      Catch::Contains("dataset '/nothere' not found"));
    const auto data = pel::io::read_array(dir.file("in.h5"), "/points", ScalarType::f64, dims);
    CHECK(dims == std::vector<std::uint64_t>{2});
    CHECK(data.size() == 16);
}

TEST_CASE("a link planted at the temporary's name is never followed", "[io]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    const std::string path = dir.file("out.h5");
    const std::string victim = dir.file("victim.txt");
    if (comm.rank() == 0) {
        std::ofstream(victim) << "precious";
        std::filesystem::create_symlink(victim, path + ".part");
    }
    comm.barrier();
    {
        ResultsFile out(comm, path);
        const std::vector<double> v{1, 2, 3};
        out.write_whole("values", ScalarType::f64, {3}, std::as_bytes(std::span(v)));
        out.commit();
    }
    comm.barrier();
    std::ifstream in(victim);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text == "precious");
    CHECK(std::filesystem::is_regular_file(std::filesystem::symlink_status(path)));
    CHECK_FALSE(std::filesystem::exists(std::filesystem::symlink_status(path + ".part")));
    std::vector<std::uint64_t> dims;
    CHECK(pel::io::read_array(path, "values", ScalarType::f64, dims).size() == 3 * sizeof(double));
}

TEST_CASE("an output that is a FIFO or a device node is refused, never replaced", "[io]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    const std::string fifo = dir.file("fifo.h5");
    const std::string device = dir.file("null.h5");  // a node like /dev/null's, inside the test's own directory
    bool have_device = false;
    if (comm.rank() == 0) {
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        have_device = ::mknod(device.c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0;
    }
    std::vector<std::byte> flag{static_cast<std::byte>(have_device ? 1 : 0)};
    comm.bcast_bytes(flag, 0);
    std::vector<std::pair<std::string, std::string>> cases{{fifo, "a FIFO"}};
    if (flag[0] == std::byte{1}) cases.emplace_back(device, "a character device");
    for (const auto& [path, kind] : cases) {
        try {
            ResultsFile out(comm, path);
            FAIL("no error for " << path);
        } catch (const pel::Error& e) {
            CHECK(e.code() == pel::ExitCode::io);
            CHECK_THAT(e.what(), Catch::Contains(path) && Catch::Contains("it is " + kind + ", not a regular file"));
        }
        comm.barrier();
        CHECK_FALSE(std::filesystem::exists(path + ".part"));
    }
    CHECK(std::filesystem::is_fifo(std::filesystem::symlink_status(fifo)));
    if (flag[0] == std::byte{1}) CHECK(std::filesystem::is_character_file(std::filesystem::symlink_status(device)));
}
