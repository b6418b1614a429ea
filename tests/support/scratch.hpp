// tests/support/scratch.hpp: a scratch directory shared by all ranks of an MPI test, removed afterwards.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "mpi/comm.hpp"

namespace pel::test {

/// A fresh directory made by rank 0 and known to every rank. \note collective (construction and destruction)
class ScratchDir {
  public:
    explicit ScratchDir(const mpi::Comm& comm) : comm_(comm) {
        std::vector<std::byte> name;
        if (comm.rank() == 0) {
            std::string templ = (std::filesystem::temp_directory_path() / "pel-test-XXXXXX").string();
            if (mkdtemp(templ.data()) == nullptr) std::abort();
            for (char c : templ) name.push_back(static_cast<std::byte>(c));
        }
        comm.bcast_bytes(name, 0);
        path_.assign(reinterpret_cast<const char*>(name.data()), name.size());
    }
    ~ScratchDir() {
        comm_.barrier();
        if (comm_.rank() == 0) {
            std::error_code ec;
            std::filesystem::remove_all(path_, ec);
        }
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    /// `name` inside the directory.
    [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

  private:
    const mpi::Comm& comm_;
    std::string path_;
};

}  // namespace pel::test
