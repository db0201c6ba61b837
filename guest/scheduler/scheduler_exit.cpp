#include "guest/scheduler/scheduler_exit.hpp"

#include <string.h>

#include <array>

#include <fmt/format.h>

namespace kstep::guest {
namespace {

constexpr std::string_view kPrefix = "sched_ext: BPF scheduler \"";
constexpr std::string_view kDisabled = "\" disabled (";

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::optional<KernelDisable> find_kernel_disable(const std::vector<KmsgRecord>& records) {
  std::optional<KernelDisable> found;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::string_view text = records[i].text;
    if (!starts_with(text, kPrefix)) {
      continue;
    }
    const auto name_end = text.find(kDisabled, kPrefix.size());
    if (name_end == std::string_view::npos || text.back() != ')') {
      continue;
    }
    KernelDisable disable;
    disable.ops = std::string{text.substr(kPrefix.size(), name_end - kPrefix.size())};
    const auto reason_begin = name_end + kDisabled.size();
    disable.reason = std::string{text.substr(reason_begin, text.size() - 1 - reason_begin)};
    disable.timestamp_us = records[i].timestamp_us;
    // The error message, when there is one, is the next sched_ext line.
    const std::string message_prefix = fmt::format("sched_ext: {}: ", disable.ops);
    for (std::size_t j = i + 1; j < records.size(); ++j) {
      if (starts_with(records[j].text, message_prefix)) {
        disable.message = records[j].text.substr(message_prefix.size());
        break;
      }
      if (starts_with(records[j].text, kPrefix)) {
        break;
      }
    }
    found = std::move(disable);
  }
  return found;
}

wire::Detail::Kind kind_of_reason(std::string_view reason) {
  static constexpr std::array kClean = {
      std::string_view{"unregistered from user space"},
      std::string_view{"unregistered from BPF"},
      std::string_view{"unregistered from the main kernel"},
      std::string_view{"disabled by sysrq-S"},
  };
  for (const auto clean : kClean) {
    if (reason == clean) {
      return wire::Detail::SCHEDULER_EXITED;
    }
  }
  if (reason.find("stall") != std::string_view::npos) {
    return wire::Detail::SCHEDULER_STALLED;
  }
  if (reason.empty() || reason == "<UNKNOWN>") {
    return wire::Detail::SCHEDULER_DIED_UNKNOWN;
  }
  return wire::Detail::SCHEDULER_CRASHED;
}

std::string describe_process_end(const ProcessEnd& end) {
  if (end.signal != 0) {
    const char* name = ::sigabbrev_np(end.signal);
    return name != nullptr ? fmt::format("was killed by SIG{}", name)
                           : fmt::format("was killed by signal {}", end.signal);
  }
  return fmt::format("exited with code {}", end.exit_code);
}

SchedulerDeath classify_death(const std::optional<KernelDisable>& disable,
                              const std::optional<ProcessEnd>& process) {
  SchedulerDeath death;
  std::string text;
  if (disable) {
    death.kind = kind_of_reason(disable->reason);
    death.kernel_disabled_us = disable->timestamp_us;
    text = fmt::format("the kernel disabled \"{}\" ({})", disable->ops, disable->reason);
    if (!disable->message.empty()) {
      text += fmt::format(": {}", disable->message);
    }
  } else {
    death.kind = wire::Detail::SCHEDULER_DIED_UNKNOWN;
    text = "the kernel logged no reason";
  }
  if (process) {
    text += fmt::format("; the scheduler process {}", describe_process_end(*process));
  } else {
    text += "; the scheduler process is still running";
  }
  death.message = std::move(text);
  return death;
}

}  // namespace kstep::guest
