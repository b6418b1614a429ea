// app/printable.hpp: text read from a file, made safe to print on a terminal.
#pragma once

#include <string>
#include <string_view>

#include "exec/log.hpp"

namespace pel::app {

/// `text` with every control character but the newline shown as `\xNN` (exec::one_line, line by line): an escape
/// sequence inside a file pel reports on (a status file, a results file's attributes) must not move the cursor or
/// rewrite the terminal; C1 controls and invalid UTF-8 are shown by their bytes too.
inline std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t start = 0;;) {
        const std::size_t end = text.find('\n', start);
        out += exec::one_line(text.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos) return out;
        out += '\n';
        start = end + 1;
    }
}

}  // namespace pel::app
