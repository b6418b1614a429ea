// app/printable.hpp: text read from a file, made safe to print on a terminal.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace pel::app {

/// `text` with every control character but the newline shown as `\xNN`: an escape sequence inside a file pel
/// reports on (a status file, a results file's attributes) must not move the cursor or rewrite the terminal. The
/// C1 controls (U+0080 to U+009F, which some terminals obey as escapes too) are shown the same way, by their UTF-8
/// bytes.
inline std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    const auto escape = [&out](unsigned char c) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned>(c));
        out += hex;
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '\n') {
            out += '\n';
        } else if (c < 0x20 || c == 0x7f) {
            escape(c);
        } else if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
            escape(c);
            escape(static_cast<unsigned char>(text[++i]));
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

}  // namespace pel::app
