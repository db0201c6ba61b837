// Scans the guest's serial console for kernel splats.
//
// The console arrives as raw bytes in arbitrary chunks; the scanner splits
// it into lines and matches each against the kernel's own wording for a
// panic, an Oops, BUG:, WARNING:, soft and hard lockups and RCU stalls. A
// match is evidence of a kernel failure whatever the agent reports, so the
// session classifies such a run as kernel-panic.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kstep::host {

enum class SplatKind { kPanic, kOops, kBug, kWarning, kSoftLockup, kHardLockup, kRcuStall };

[[nodiscard]] std::string_view to_string(SplatKind kind) noexcept;

struct Splat {
  SplatKind kind;
  std::size_t line_number;  // 1-based line in the console log
  std::string line;         // the matching line, without its newline
};

// Classifies one console line; nullopt if it is not a splat.
[[nodiscard]] std::optional<SplatKind> classify_console_line(std::string_view line) noexcept;

class ConsoleScanner {
 public:
  // Bounded so a kernel stuck in a WARN loop cannot grow memory without end.
  static constexpr std::size_t kMaxSplats = 64;
  static constexpr std::size_t kMaxLineBytes = 4096;

  // Feeds console bytes; returns the splats completed by this chunk.
  std::vector<Splat> feed(std::string_view bytes);
  // Flushes a final unterminated line (end of stream).
  std::vector<Splat> finish();

  [[nodiscard]] const std::vector<Splat>& splats() const noexcept { return splats_; }
  [[nodiscard]] std::size_t lines_seen() const noexcept { return lines_; }
  // The last lines of the console, for failure reports.
  [[nodiscard]] std::vector<std::string> tail() const;

 private:
  void end_line(std::vector<Splat>& found);

  static constexpr std::size_t kTailLines = 40;
  std::string partial_;
  std::size_t lines_ = 0;
  std::vector<Splat> splats_;
  std::vector<std::string> tail_;  // ring buffer of the last kTailLines lines
  std::size_t tail_next_ = 0;
};

}  // namespace kstep::host
