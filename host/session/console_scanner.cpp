#include "host/session/console_scanner.hpp"

#include <array>

namespace kstep::host {
namespace {

struct Pattern {
  std::string_view needle;
  SplatKind kind;
};

// Order matters: the more specific wording comes first ("BUG: soft lockup"
// is a soft lockup, not a generic BUG). Needles are the kernel's own
// printk texts (kernel/panic.c, kernel/watchdog.c, kernel/rcu/tree_stall.h,
// arch/x86/kernel/dumpstack.c, include/asm-generic/bug.h).
constexpr std::array kPatterns = {
    Pattern{"Kernel panic - not syncing", SplatKind::kPanic},
    Pattern{"BUG: soft lockup", SplatKind::kSoftLockup},
    Pattern{"Watchdog detected hard LOCKUP", SplatKind::kHardLockup},
    Pattern{"rcu_sched self-detected stall", SplatKind::kRcuStall},
    Pattern{"rcu_preempt self-detected stall", SplatKind::kRcuStall},
    Pattern{"rcu_sched detected stalls", SplatKind::kRcuStall},
    Pattern{"rcu_preempt detected stalls", SplatKind::kRcuStall},
    Pattern{"detected expedited stalls", SplatKind::kRcuStall},
    Pattern{"Oops: ", SplatKind::kOops},
    Pattern{"BUG: ", SplatKind::kBug},
    Pattern{"WARNING: ", SplatKind::kWarning},
};

}  // namespace

std::string_view to_string(SplatKind kind) noexcept {
  switch (kind) {
    case SplatKind::kPanic: return "kernel panic";
    case SplatKind::kOops: return "oops";
    case SplatKind::kBug: return "BUG";
    case SplatKind::kWarning: return "WARNING";
    case SplatKind::kSoftLockup: return "soft lockup";
    case SplatKind::kHardLockup: return "hard lockup";
    case SplatKind::kRcuStall: return "RCU stall";
  }
  return "splat";
}

std::optional<SplatKind> classify_console_line(std::string_view line) noexcept {
  for (const auto& pattern : kPatterns) {
    if (line.find(pattern.needle) != std::string_view::npos) {
      return pattern.kind;
    }
  }
  return std::nullopt;
}

void ConsoleScanner::end_line(std::vector<Splat>& found) {
  ++lines_;
  if (!partial_.empty() && partial_.back() == '\r') {
    partial_.pop_back();
  }
  if (auto kind = classify_console_line(partial_); kind && splats_.size() < kMaxSplats) {
    splats_.push_back(Splat{*kind, lines_, partial_});
    found.push_back(splats_.back());
  }
  if (tail_.size() < kTailLines) {
    tail_.push_back(std::move(partial_));
  } else {
    tail_[tail_next_] = std::move(partial_);
  }
  tail_next_ = (tail_next_ + 1) % kTailLines;
  partial_.clear();
}

std::vector<Splat> ConsoleScanner::feed(std::string_view bytes) {
  std::vector<Splat> found;
  while (!bytes.empty()) {
    const auto newline = bytes.find('\n');
    const auto chunk = bytes.substr(0, newline);
    // An overlong line is cut rather than buffered without bound; its start
    // (where the kernel puts the splat text) is what we match.
    partial_.append(chunk.substr(0, kMaxLineBytes - std::min(kMaxLineBytes, partial_.size())));
    if (newline == std::string_view::npos) {
      break;
    }
    end_line(found);
    bytes.remove_prefix(newline + 1);
  }
  return found;
}

std::vector<Splat> ConsoleScanner::finish() {
  std::vector<Splat> found;
  if (!partial_.empty()) {
    end_line(found);
  }
  return found;
}

std::vector<std::string> ConsoleScanner::tail() const {
  if (tail_.size() < kTailLines) {
    return tail_;
  }
  std::vector<std::string> ordered;
  ordered.reserve(tail_.size());
  for (std::size_t i = 0; i < tail_.size(); ++i) {
    ordered.push_back(tail_[(tail_next_ + i) % tail_.size()]);
  }
  return ordered;
}

}  // namespace kstep::host
