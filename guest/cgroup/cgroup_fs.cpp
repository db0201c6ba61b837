// CgroupFs over the cgroup2 filesystem, or over a plain directory in tests.
//
// Every write is one write(2): cgroup files parse each write on its own, so
// a value split across two calls would be two (wrong) values. Reads go
// through read_text_file. Names are checked before they reach a path, so a
// bad name from a scenario cannot escape the root.
#include "guest/cgroup/cgroup_fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <iterator>
#include <optional>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/unique_fd.hpp"
#include "guest/text_file.hpp"

namespace kstep::guest {
namespace {

// cgroup.procs grows with the workload: up to PID_MAX_LIMIT (4M) pids of at
// most 8 bytes a line is 32 MiB. Other cgroup files are small.
constexpr std::size_t kMaxProcsBytes = std::size_t{32} << 20U;
constexpr std::size_t kMaxFileBytes = std::size_t{1} << 20U;

// Polling cgroup.events for the freezer: tasks usually freeze within a
// millisecond or two, so start there, and back off so a slow freeze does not
// burn a CPU the scenario is measuring.
constexpr std::chrono::microseconds kFirstPoll{1000};
constexpr std::chrono::microseconds kMaxPoll{50000};

// A name is "" (the root) or '/'-separated components, none empty, "." or
// "..", so root / name stays under root.
Result<void> check_name(std::string_view name) {
  if (name.empty()) {
    return {};
  }
  std::string_view rest = name;
  while (true) {
    const auto slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    if (part.empty() || part == "." || part == "..") {
      return fail("bad cgroup name '{}': expected a path relative to the cgroup root, like \"web/frontend\"",
                  name);
    }
    if (slash == std::string_view::npos) {
      return {};
    }
    rest.remove_prefix(slash + 1);
  }
}

Result<void> check_file(std::string_view name, std::string_view file) {
  if (file.empty() || file.find('/') != std::string_view::npos || file == "." || file == "..") {
    return fail("cgroup '{}': bad file name '{}'", name, file);
  }
  return {};
}

std::string_view parent_of(std::string_view name) {
  const auto slash = name.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : name.substr(0, slash);
}

// The plain-directory stand-ins for files the kernel accumulates into rather
// than replaces: each write adds a line, so tests can see every pid moved
// and every controller enabled.
bool accumulates(std::string_view file) {
  return file == "cgroup.procs" || file == "cgroup.threads" || file == "cgroup.subtree_control";
}

std::string errno_text(int error) {
  return std::system_category().message(error);
}

// One write(2) of the whole value; a short write would split it.
Result<void> write_once(const std::filesystem::path& path, std::string_view value, int flags) {
  UniqueFd fd{::open(path.c_str(), flags | O_CLOEXEC, 0644)};
  if (!fd) {
    const int error = errno;
    return fail("writing '{}' to {}: {}", value, path.string(), errno_text(error));
  }
  ssize_t written = 0;
  do {
    written = ::write(fd.get(), value.data(), value.size());
  } while (written < 0 && errno == EINTR);
  if (written < 0) {
    const int error = errno;
    return fail("writing '{}' to {}: {}", value, path.string(), errno_text(error));
  }
  if (static_cast<std::size_t>(written) != value.size()) {
    return fail("writing '{}' to {}: short write ({} of {} bytes)", value, path.string(), written,
                value.size());
  }
  return {};
}

// The value of `key` in a flat-keyed file like cgroup.events ("frozen 1").
std::optional<std::string_view> keyed_value(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    const auto newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ' ') {
      return trim(line.substr(key.size() + 1));
    }
  }
  return std::nullopt;
}

// The kernel's two reasons to refuse a cgroup.subtree_control write, as a
// sentence; "" when neither applies. It rejects the whole write when one
// controller is not offered, and any enable in a cgroup other than the
// hierarchy's root that has processes of its own ("no internal processes").
std::string explain_enable_failure(const CgroupFs& fs, std::string_view name,
                                   const std::set<std::string>& controllers) {
  if (auto available = fs.read(name, "cgroup.controllers")) {
    std::set<std::string, std::less<>> offered;
    std::string_view rest = *available;
    while (!rest.empty()) {
      const auto space = rest.find_first_of(" \n");
      if (space != 0) {
        offered.emplace(rest.substr(0, space));
      }
      rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    }
    std::vector<std::string> missing;
    std::ranges::copy_if(controllers, std::back_inserter(missing),
                         [&offered](const std::string& controller) { return !offered.contains(controller); });
    if (!missing.empty()) {
      return fmt::format(
          "the kernel does not offer controller(s) {} in cgroup '{}' (cgroup.controllers: '{}')",
          fmt::join(missing, ", "), name, *available);
    }
  }
  // Only the hierarchy's root lacks cgroup.type, and only it may hold
  // processes and enable controllers at once.
  std::error_code ec;
  const bool hierarchy_root = !std::filesystem::exists(fs.path_of(name) / "cgroup.type", ec);
  if (auto pids = fs.procs(name); !hierarchy_root && pids && !pids->empty()) {
    return fmt::format(
        "cgroup '{}' has processes of its own; the kernel enables controllers for children only in a "
        "cgroup without processes",
        name);
  }
  return {};
}

}  // namespace

CgroupFs::CgroupFs(std::filesystem::path root, Kind kind) : root_(std::move(root)), kind_(kind) {}

std::filesystem::path CgroupFs::path_of(std::string_view name) const {
  return name.empty() ? root_ : root_ / name;
}

bool CgroupFs::exists(std::string_view name) const {
  std::error_code ec;
  return check_name(name) && std::filesystem::is_directory(path_of(name), ec);
}

Result<void> CgroupFs::create(std::string_view name) {
  KSTEP_TRY(check_name(name));
  if (name.empty()) {
    return fail("cannot create the cgroup root {}: it must exist", root_.string());
  }
  if (exists(name)) {
    return fail("cgroup '{}' already exists", name);
  }
  const std::string_view parent = parent_of(name);
  if (!exists(parent)) {
    if (parent.empty()) {
      return fail("creating cgroup '{}': the cgroup root {} does not exist", name, root_.string());
    }
    return fail("parent cgroup '{}' of '{}' does not exist", parent, name);
  }
  const auto path = path_of(name);
  if (::mkdir(path.c_str(), 0755) != 0) {
    const int error = errno;
    if (error == EEXIST) {
      return fail("cgroup '{}' already exists", name);
    }
    return fail("creating cgroup '{}' ({}): {}", name, path.string(), errno_text(error));
  }
  return {};
}

Result<void> CgroupFs::remove(std::string_view name) {
  KSTEP_TRY(check_name(name));
  if (name.empty()) {
    return fail("refusing to remove the cgroup root {}", root_.string());
  }
  const auto path = path_of(name);
  if (kind_ == Kind::kPlainDirectory) {
    if (!exists(name)) {
      return fail("cgroup '{}' does not exist", name);
    }
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) {
      return fail("removing cgroup '{}' ({}): {}", name, path.string(), ec.message());
    }
    return {};
  }
  if (::rmdir(path.c_str()) != 0) {
    const int error = errno;
    switch (error) {
      // The kernel says EBUSY; ENOTEMPTY is what a child directory gets
      // from a filesystem that checks emptiness itself.
      case EBUSY:
      case ENOTEMPTY: return fail("cgroup '{}' still has processes or children", name);
      case ENOENT: return fail("cgroup '{}' does not exist", name);
      default: return fail("removing cgroup '{}' ({}): {}", name, path.string(), errno_text(error));
    }
  }
  return {};
}

Result<void> CgroupFs::write(std::string_view name, std::string_view file, std::string_view value) {
  KSTEP_TRY(check_name(name));
  KSTEP_TRY(check_file(name, file));
  const auto path = path_of(name) / file;
  if (kind_ == Kind::kPlainDirectory) {
    if (accumulates(file)) {
      return write_once(path, fmt::format("{}\n", value), O_WRONLY | O_CREAT | O_APPEND);
    }
    return write_once(path, value, O_WRONLY | O_CREAT | O_TRUNC);
  }
  // An empty value ("" clears cpuset.cpus) goes out as a lone newline,
  // which the kernel strips: a zero-byte write is too easily skipped on the
  // way (write-all loops never issue it) to rely on.
  auto written = write_once(path, value.empty() ? std::string_view{"\n"} : value, O_WRONLY);
  if (!written && !exists(name)) {
    return fail("cgroup '{}' does not exist (writing '{}' to {})", name, value, file);
  }
  if (std::error_code ec; !written && !std::filesystem::exists(path, ec)) {
    // The cgroup is there but the file is not: its controller is off.
    return Unexpected{written.error().context(fmt::format(
        "cgroup '{}' has no {}: is its controller enabled in the parent's cgroup.subtree_control?", name,
        file))};
  }
  return written;
}

Result<std::string> CgroupFs::read(std::string_view name, std::string_view file) const {
  KSTEP_TRY(check_name(name));
  KSTEP_TRY(check_file(name, file));
  const std::size_t cap = file == "cgroup.procs" || file == "cgroup.threads" ? kMaxProcsBytes : kMaxFileBytes;
  auto text = read_text_file(path_of(name) / file, cap);
  if (!text) {
    return Unexpected{std::move(text).error()};
  }
  // The kernel ends every value with a newline; callers compare values.
  const auto last = text->find_last_not_of(" \t\r\n");
  text->resize(last == std::string::npos ? 0 : last + 1);
  return text;
}

Result<std::vector<pid_t>> CgroupFs::procs(std::string_view name) const {
  auto text = read(name, "cgroup.procs");
  if (!text) {
    return Unexpected{std::move(text).error()};
  }
  std::vector<pid_t> pids;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    const std::string_view line = trim(rest.substr(0, newline));
    rest = newline == std::string_view::npos ? std::string_view{} : rest.substr(newline + 1);
    if (line.empty()) {
      continue;
    }
    pid_t pid = 0;
    const auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), pid);
    if (ec != std::errc{} || ptr != line.data() + line.size() || pid <= 0) {
      return fail("cgroup '{}': bad pid '{}' in {}", name, line, (path_of(name) / "cgroup.procs").string());
    }
    pids.push_back(pid);
  }
  return pids;
}

Result<void> CgroupFs::move(pid_t pid, std::string_view name) {
  auto moved = write(name, "cgroup.procs", std::to_string(pid));
  if (!moved) {
    return Unexpected{moved.error().context(fmt::format("moving pid {} to cgroup '{}'", pid, name))};
  }
  return {};
}

Result<void> CgroupFs::set_frozen(std::string_view name, bool frozen, std::chrono::milliseconds timeout) {
  KSTEP_TRY(write(name, "cgroup.freeze", frozen ? "1" : "0"));
  if (kind_ == Kind::kPlainDirectory) {
    return {};
  }
  // cgroup.freeze states the wish; cgroup.events reports when every task
  // has actually stopped (or, unfreezing, when the cgroup has thawed).
  const std::string_view want = frozen ? "1" : "0";
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::chrono::microseconds pause = kFirstPoll;
  for (;;) {
    auto events = read(name, "cgroup.events");
    if (!events) {
      return Unexpected{std::move(events).error()};
    }
    if (keyed_value(*events, "frozen") == want) {
      return {};
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, kMaxPoll);
  }
  if (frozen) {
    return fail("cgroup '{}' did not report frozen within {} ms", name, timeout.count());
  }
  return fail("cgroup '{}' did not thaw within {} ms (is a parent cgroup frozen?)", name, timeout.count());
}

Result<void> CgroupFs::enable_controllers(std::string_view name, const std::set<std::string>& controllers) {
  if (controllers.empty()) {
    return {};
  }
  std::string value;
  for (const auto& controller : controllers) {
    value += value.empty() ? "+" : " +";
    value += controller;
  }
  auto enabled = write(name, "cgroup.subtree_control", value);
  if (enabled || kind_ == Kind::kPlainDirectory) {
    return enabled;
  }
  const std::string why = explain_enable_failure(*this, name, controllers);
  if (why.empty()) {
    return enabled;
  }
  return Unexpected{enabled.error().context(why)};
}

}  // namespace kstep::guest
