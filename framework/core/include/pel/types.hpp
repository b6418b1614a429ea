// pel/types.hpp: small value types shared by jobs and the framework.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

namespace pel {

/// The items [begin, end) of one phase's item space.
struct ItemRange {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;

    [[nodiscard]] constexpr std::uint64_t size() const noexcept { return end > begin ? end - begin : 0; }
    [[nodiscard]] constexpr bool empty() const noexcept { return end <= begin; }
    friend constexpr bool operator==(const ItemRange&, const ItemRange&) = default;
};

/// The first item of part k when [0, n) is cut into `parts` near-equal contiguous parts: floor(k n / parts),
/// computed without overflowing 64 bits.
constexpr std::uint64_t block_start(std::uint64_t k, std::uint64_t n, std::uint64_t parts) noexcept {
    return k * (n / parts) + k * (n % parts) / parts;
}

/// Element types that results and inputs can hold; each maps to one HDF5 native type.
enum class ScalarType : std::uint8_t { u8, i32, u32, i64, u64, f32, f64 };

template <class T>
struct scalar_type_of;
template <>
struct scalar_type_of<std::uint8_t> {
    static constexpr ScalarType value = ScalarType::u8;
};
template <>
struct scalar_type_of<std::int32_t> {
    static constexpr ScalarType value = ScalarType::i32;
};
template <>
struct scalar_type_of<std::uint32_t> {
    static constexpr ScalarType value = ScalarType::u32;
};
template <>
struct scalar_type_of<std::int64_t> {
    static constexpr ScalarType value = ScalarType::i64;
};
template <>
struct scalar_type_of<std::uint64_t> {
    static constexpr ScalarType value = ScalarType::u64;
};
template <>
struct scalar_type_of<float> {
    static constexpr ScalarType value = ScalarType::f32;
};
template <>
struct scalar_type_of<double> {
    static constexpr ScalarType value = ScalarType::f64;
};

/// A type results and inputs can hold.
template <class T>
concept Scalar = requires {
    scalar_type_of<T>::value;
};

/// Size in bytes of one element of `type`.
constexpr std::size_t scalar_size(ScalarType type) noexcept {
    switch (type) {
        case ScalarType::u8:
            return 1;
        case ScalarType::i32:
        case ScalarType::u32:
        case ScalarType::f32:
            return 4;
        case ScalarType::i64:
        case ScalarType::u64:
        case ScalarType::f64:
            return 8;
    }
    return 0;
}

/// Name of `type` for messages.
inline std::string scalar_name(ScalarType type) {
    switch (type) {
        case ScalarType::u8:
            return "uint8";
        case ScalarType::i32:
            return "int32";
        case ScalarType::u32:
            return "uint32";
        case ScalarType::i64:
            return "int64";
        case ScalarType::u64:
            return "uint64";
        case ScalarType::f32:
            return "float32";
        case ScalarType::f64:
            return "float64";
    }
    return "unknown";
}

}  // namespace pel
