#include "host/results/failure_dump.hpp"

#include <fstream>
#include <optional>

#include <fmt/format.h>

namespace kstep::host {
namespace {

constexpr std::string_view kDumpTitle = "DEBUG DUMP";
// UEI_REPORT prints 80; fewer still count, a stray "=" does not.
constexpr std::size_t kMinRuleLength = 3;

std::string_view trim_right(std::string_view text) {
  const auto end = text.find_last_not_of(" \t\r\n");
  return end == std::string_view::npos ? std::string_view{} : text.substr(0, end + 1);
}

bool is_rule(std::string_view line) {
  line = trim_right(line);
  return line.size() >= kMinRuleLength && line.find_first_not_of('=') == std::string_view::npos;
}

bool is_blank(std::string_view line) {
  return trim_right(line).empty();
}

// Walks the lines of a text, each without its '\n'.
class Lines {
 public:
  explicit Lines(std::string_view text) : text_(text) {}

  // The next line and its offset; nullopt at the end of the text.
  std::optional<std::string_view> next() {
    if (pos_ >= text_.size()) {
      return std::nullopt;
    }
    start_ = pos_;
    const auto newline = text_.find('\n', pos_);
    const auto end = newline == std::string_view::npos ? text_.size() : newline;
    pos_ = newline == std::string_view::npos ? text_.size() : newline + 1;
    return text_.substr(start_, end - start_);
  }
  // Where the line next() returned starts, and where the one after it does.
  [[nodiscard]] std::size_t start() const { return start_; }
  [[nodiscard]] std::size_t after() const { return pos_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t start_ = 0;
};

// The dump's text, without the blank lines around it.
std::string_view strip_blank_lines(std::string_view dump) {
  Lines lines{dump};
  while (auto line = lines.next()) {
    if (!is_blank(*line)) {
      return trim_right(dump.substr(lines.start()));
    }
  }
  return {};
}

// The head of `text` within `max_bytes`, cut at a line end when one is
// near, and a note of how much there was.
std::string bounded(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) {
    return std::string(text);
  }
  const std::string note = fmt::format("\n[... truncated: the dump is {} bytes]", text.size());
  if (max_bytes <= note.size()) {
    return std::string(text.substr(0, max_bytes));
  }
  auto keep = text.substr(0, max_bytes - note.size());
  if (const auto newline = keep.rfind('\n');
      newline != std::string_view::npos && newline >= keep.size() / 2) {
    keep = keep.substr(0, newline);
  }
  return std::string(keep) + note;
}

}  // namespace

std::string sched_ext_debug_dump(std::string_view scheduler_stderr, std::size_t max_bytes) {
  std::optional<std::string_view> last;
  Lines lines{scheduler_stderr};
  while (auto line = lines.next()) {
    if (trim_right(*line) != kDumpTitle) {
      continue;
    }
    auto rule = lines.next();
    if (!rule || !is_rule(*rule)) {
      continue;
    }
    const std::size_t begin = lines.after();
    std::size_t end = scheduler_stderr.size();
    while (auto body = lines.next()) {
      if (is_rule(*body)) {
        end = lines.start();
        break;
      }
    }
    last = scheduler_stderr.substr(begin, end - begin);
  }
  if (!last) {
    return {};
  }
  return bounded(strip_blank_lines(*last), max_bytes);
}

std::string tail_of_file(const std::filesystem::path& path, std::size_t max_lines, std::size_t max_bytes) {
  if (max_lines == 0 || max_bytes == 0) {
    return {};
  }
  std::ifstream in{path, std::ios::binary | std::ios::ate};
  if (!in) {
    return {};
  }
  const std::streamoff size = in.tellg();
  if (size <= 0) {
    return {};
  }
  const auto length = static_cast<std::size_t>(size);
  const std::size_t start = length > max_bytes ? length - max_bytes : 0;
  std::string chunk(length - start, '\0');
  in.seekg(static_cast<std::streamoff>(start));
  if (!in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()))) {
    return {};
  }
  // The bound cut into a line: drop its head, unless it is all there is.
  if (start > 0) {
    if (const auto newline = chunk.find('\n'); newline != std::string::npos && newline + 1 < chunk.size()) {
      chunk.erase(0, newline + 1);
    }
  }
  // The last max_lines lines; a final '\n' ends the last line, it does not
  // start another.
  std::size_t pos = chunk.ends_with('\n') ? chunk.size() - 1 : chunk.size();
  for (std::size_t lines = 0; lines < max_lines; ++lines) {
    const auto newline = pos == 0 ? std::string::npos : chunk.rfind('\n', pos - 1);
    if (newline == std::string::npos) {
      return chunk;
    }
    pos = newline;
  }
  return chunk.substr(pos + 1);
}

}  // namespace kstep::host
