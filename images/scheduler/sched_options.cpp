#include "images/scheduler/sched_options.hpp"

#include <charconv>
#include <optional>
#include <system_error>

namespace kstep::sched {
namespace {

// Splits "--name=value" into name and value; "--name" alone has no value.
struct Token {
  std::string_view name;
  std::optional<std::string_view> inline_value;
};

Token split(std::string_view arg) {
  const auto eq = arg.find('=');
  if (eq == std::string_view::npos) {
    return Token{arg, std::nullopt};
  }
  return Token{arg.substr(0, eq), arg.substr(eq + 1)};
}

Result<std::uint64_t> parse_number(std::string_view name, std::string_view text, std::uint64_t min,
                                   std::uint64_t max) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  // from_chars accepts neither a sign nor spaces, which is what we want.
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec == std::errc::invalid_argument || ptr != end) {
    return fail("{}: '{}' is not a non-negative integer", name, text);
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    return fail("{}: {} is out of range [{}, {}]", name, text, min, max);
  }
  return value;
}

Result<SchedMode> parse_mode(std::string_view text) {
  if (text == "global") {
    return SchedMode::kGlobal;
  }
  if (text == "local") {
    return SchedMode::kLocal;
  }
  return fail("--mode: '{}' is not one of global, local", text);
}

// A numeric option: its name, the field it sets and its accepted range.
struct NumberOption {
  std::string_view name;
  std::uint64_t SchedOptions::*field;
  std::uint64_t min;
  std::uint64_t max;
};

constexpr std::uint64_t kNoMax = UINT64_MAX / 1'000'000;  // ms and us stay far from u64 overflow in ns

constexpr NumberOption kNumberOptions[] = {
    {"--stall-after-ms", &SchedOptions::stall_after_ms, 0, kNoMax},
    {"--error-after-ms", &SchedOptions::error_after_ms, 0, kNoMax},
    {"--exit-after-ms", &SchedOptions::exit_after_ms, 0, kNoMax},
    {"--slow-dispatch-us", &SchedOptions::slow_dispatch_us, 0, kMaxSlowDispatchUs},
    {"--watchdog-ms", &SchedOptions::watchdog_ms, 1, kMaxWatchdogMs},
};

}  // namespace

std::string_view mode_name(SchedMode mode) {
  return mode == SchedMode::kLocal ? "local" : "global";
}

Result<SchedOptions> parse_sched_options(std::span<const char* const> args) {
  SchedOptions options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const Token token = split(args[i]);

    // Flags take no value.
    if (token.name == "--help" || token.name == "-h" || token.name == "--fail-verifier") {
      if (token.inline_value) {
        return fail("{} takes no value", token.name);
      }
      (token.name == "--fail-verifier" ? options.fail_verifier : options.help) = true;
      continue;
    }

    const NumberOption* number = nullptr;
    for (const auto& candidate : kNumberOptions) {
      if (candidate.name == token.name) {
        number = &candidate;
      }
    }
    if (number == nullptr && token.name != "--mode") {
      return fail("unknown option '{}'", args[i]);
    }

    std::string_view value;
    if (token.inline_value) {
      value = *token.inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return fail("{} needs a value", token.name);
    }

    if (number == nullptr) {
      auto mode = parse_mode(value);
      if (!mode) {
        return Unexpected{mode.error()};
      }
      options.mode = *mode;
      continue;
    }
    auto parsed = parse_number(number->name, value, number->min, number->max);
    if (!parsed) {
      return Unexpected{parsed.error()};
    }
    options.*(number->field) = *parsed;
  }
  return options;
}

std::string sched_usage() {
  return fmt::format(
      "Usage: kstep-sched [OPTIONS]\n"
      "Loads and attaches the kstep test sched_ext scheduler, then waits for SIGINT/SIGTERM\n"
      "(detach, exit 0) or for the scheduler to exit (exit 0 when clean, 1 on error).\n"
      "\n"
      "  --mode global|local      global: one shared FIFO queue; local: per-CPU local queues\n"
      "                           (default global)\n"
      "  --stall-after-ms N       stop dispatching N ms after attach (the watchdog then ejects it)\n"
      "  --error-after-ms N       raise scx_bpf_error N ms after attach\n"
      "  --exit-after-ms N        exit cleanly N ms after attach\n"
      "  --slow-dispatch-us N     busy-wait N us in every dispatch (at most {})\n"
      "  --watchdog-ms N          ops.timeout_ms, 1..{} (default 5000)\n"
      "  -h, --help               show this help\n"
      "All fault times default to 0 (off).\n",
      kMaxSlowDispatchUs, kMaxWatchdogMs);
}

}  // namespace kstep::sched
