// The kernel log as the agent reads it: /dev/kmsg records, and a watcher
// that sees only what the kernel logs after it was opened.
//
// The kernel says why a sched_ext scheduler was disabled only in its log
// ("sched_ext: BPF scheduler "x" disabled (runnable task stall)"), so this
// is where death classification reads from. /dev/kmsg is pollable: a new
// record wakes the liveness wait at once, which is what keeps crash
// detection latency far below a polling interval.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace kstep::guest {

struct KmsgRecord {
  std::uint64_t timestamp_us = 0;  // the kernel's local_clock at printk, µs since boot
  std::string text;                // the message, without prefix and continuation lines
};

// One read() of /dev/kmsg: "prio,seq,timestamp,flags[,...];text\n" followed
// by optional " KEY=value" continuation lines. nullopt when malformed.
[[nodiscard]] std::optional<KmsgRecord> parse_kmsg_record(std::string_view record);

class KmsgWatch {
 public:
  // Opens `path` (/dev/kmsg) non-blocking, positioned after the last record.
  [[nodiscard]] static Result<KmsgWatch> open(const std::filesystem::path& path);

  // The fd to poll for POLLIN.
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  // Every record logged since the last drain (records lost to a full ring
  // buffer are skipped, not an error).
  [[nodiscard]] std::vector<KmsgRecord> drain();

 private:
  explicit KmsgWatch(UniqueFd fd) noexcept : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace kstep::guest
