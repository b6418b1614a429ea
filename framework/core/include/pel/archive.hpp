// pel/archive.hpp: turning job state and partial results into bytes and back.
//
// Trivially copyable values, std::string, std::vector and std::array of saveable values, and any type with a
// `template <class Archive> void fields(Archive& a)` member that lists its fields need no code from a job author.
// Other types specialise pel::Serializer<T>.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "pel/error.hpp"

namespace pel {

class OutArchive;
class InArchive;

/// Saves and loads a T. Specialise it for a type that neither is trivially copyable nor has `fields`.
template <class T, class Enable = void>
struct Serializer;

/// A growing byte buffer that values are written to.
class OutArchive {
  public:
    /// Writes `value` (and, for composite types, everything it holds).
    template <class T>
    OutArchive& operator()(const T& value) {
        Serializer<T>::save(*this, value);
        return *this;
    }
    /// Writes a named field; the name documents the layout only.
    template <class T>
    OutArchive& operator()(const char* /*name*/, const T& value) {
        return (*this)(value);
    }

    void write_bytes(const void* data, std::size_t size) {
        const auto* p = static_cast<const std::byte*>(data);
        bytes_.insert(bytes_.end(), p, p + size);
    }

    [[nodiscard]] const std::vector<std::byte>& bytes() const noexcept { return bytes_; }
    [[nodiscard]] std::vector<std::byte> take() noexcept { return std::move(bytes_); }

  private:
    std::vector<std::byte> bytes_;
};

/// Reads values back from bytes written by an OutArchive; running past the end is a pel::Error.
class InArchive {
  public:
    explicit InArchive(std::span<const std::byte> bytes) : bytes_(bytes) {}

    template <class T>
    InArchive& operator()(T& value) {
        Serializer<T>::load(*this, value);
        return *this;
    }
    template <class T>
    InArchive& operator()(const char* /*name*/, T& value) {
        return (*this)(value);
    }

    void read_bytes(void* data, std::size_t size) {
        if (size == 0) return;
        if (size > remaining()) {
            throw Error::Io("saved state is truncated: needed " + std::to_string(size) + " more bytes, " +
                            std::to_string(bytes_.size() - pos_) + " left");
        }
        std::memcpy(data, bytes_.data() + pos_, size);
        pos_ += size;
    }

    /// Bytes not yet read.
    [[nodiscard]] std::size_t remaining() const noexcept { return bytes_.size() - pos_; }

    /// True when every byte has been read.
    [[nodiscard]] bool at_end() const noexcept { return pos_ == bytes_.size(); }

  private:
    std::span<const std::byte> bytes_;
    std::size_t pos_ = 0;
};

/// A type that lists its fields with `template <class A> void fields(A&)`.
template <class T>
concept HasFields = requires(T& t, OutArchive& a) {
    t.fields(a);
};

template <class T>
struct Serializer<T, std::enable_if_t<std::is_trivially_copyable_v<T> && !HasFields<T>>> {
    static void save(OutArchive& a, const T& v) { a.write_bytes(&v, sizeof(T)); }
    static void load(InArchive& a, T& v) { a.read_bytes(&v, sizeof(T)); }
};

template <class T>
struct Serializer<T, std::enable_if_t<HasFields<T>>> {
    static void save(OutArchive& a, const T& v) { const_cast<T&>(v).fields(a); }
    static void load(InArchive& a, T& v) { v.fields(a); }
};

template <>
struct Serializer<std::string> {
    static void save(OutArchive& a, const std::string& v) {
        a(static_cast<std::uint64_t>(v.size()));
        a.write_bytes(v.data(), v.size());
    }
    static void load(InArchive& a, std::string& v) {
        std::uint64_t n = 0;
        a(n);
        if (n > (std::uint64_t{1} << 30)) {
            throw Error::Io("saved state is corrupt: a string of " + std::to_string(n) + " bytes");
        }
        std::string s(n, '\0');
        a.read_bytes(s.data(), n);
        v = std::move(s);
    }
};

template <class T, class Alloc>
struct Serializer<std::vector<T, Alloc>> {
    static void save(OutArchive& a, const std::vector<T, Alloc>& v) {
        a(static_cast<std::uint64_t>(v.size()));
        if constexpr (std::is_trivially_copyable_v<T> && !HasFields<T>) {
            a.write_bytes(v.data(), v.size() * sizeof(T));
        } else {
            for (const auto& x : v) a(x);
        }
    }
    static void load(InArchive& a, std::vector<T, Alloc>& v) {
        std::uint64_t n = 0;
        a(n);
        // Every element takes at least one byte, so a count larger than what is left is corrupt: refuse it before
        // allocating anything.
        constexpr std::size_t min_size = std::is_trivially_copyable_v<T> && !HasFields<T> ? sizeof(T) : 1;
        if (n > a.remaining() / min_size) {
            throw Error::Io("saved state is corrupt: a vector of " + std::to_string(n) + " elements in " +
                            std::to_string(a.remaining()) + " bytes");
        }
        v.clear();
        if constexpr (std::is_trivially_copyable_v<T> && !HasFields<T>) {
            std::vector<T, Alloc> tmp(n);
            a.read_bytes(tmp.data(), n * sizeof(T));
            v = std::move(tmp);
        } else {
            for (std::uint64_t i = 0; i < n; ++i) a(v.emplace_back());
        }
    }
};

template <class T, std::size_t N>
struct Serializer<std::array<T, N>, std::enable_if_t<!std::is_trivially_copyable_v<T> || HasFields<T>>> {
    static void save(OutArchive& a, const std::array<T, N>& v) {
        for (const auto& x : v) a(x);
    }
    static void load(InArchive& a, std::array<T, N>& v) {
        for (auto& x : v) a(x);
    }
};

/// Serialises `value` into a fresh byte vector.
template <class T>
std::vector<std::byte> to_bytes(const T& value) {
    OutArchive a;
    a(value);
    return a.take();
}

/// Restores `value` from `bytes`, which must hold exactly one saved T.
template <class T>
void from_bytes(std::span<const std::byte> bytes, T& value) {
    InArchive a(bytes);
    a(value);
    if (!a.at_end()) throw Error::Io("saved state has trailing bytes");
}

}  // namespace pel
