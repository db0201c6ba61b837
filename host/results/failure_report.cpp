#include "host/results/failure_report.hpp"

#include <fmt/format.h>

#include "host/results/failure_dump.hpp"

namespace kstep::host {
namespace {

std::string scheduler_output(const std::filesystem::path& run_dir) {
  std::string text;
  for (const char* name : {"scheduler.stdout", "scheduler.stderr"}) {
    const std::string tail = tail_of_file(run_dir / name, kConsoleTailLines, kSchedulerOutputBytes / 2);
    if (!tail.empty()) {
      text += fmt::format("--- {} (tail)\n{}", name, tail);
      if (text.back() != '\n') {
        text += '\n';
      }
    }
  }
  return text;
}

std::string whole_file(const std::filesystem::path& path, std::size_t max_bytes) {
  // tail_of_file with a line bound no dump reaches: the file, bounded.
  return tail_of_file(path, static_cast<std::size_t>(-1), max_bytes);
}

}  // namespace

void add_map_results(result::RunResult& doc, const MapHandshake& maps, const std::filesystem::path& run_dir,
                     bool failed, const std::string& reason) {
  if (maps.catalog()) {
    *doc.mutable_bpf_map_catalog() = *maps.catalog();
  }
  for (const auto& write : maps.writes()) {
    *doc.add_map_writes() = write;
  }
  if (!failed && maps.trigger().empty()) {
    return;
  }
  auto* dump = doc.mutable_failure_dump();
  dump->set_trigger(maps.trigger().empty() ? reason : maps.trigger());
  if (maps.dumped_maps()) {
    for (const auto& map : *maps.dumped_maps()) {
      *dump->add_maps() = map;
    }
  }
  if (!run_dir.empty()) {
    dump->set_sched_ext_dump(sched_ext_debug_dump(
        whole_file(run_dir / "scheduler.stderr", 4 * kSchedExtDumpBytes), kSchedExtDumpBytes));
    dump->set_console_tail(tail_of_file(run_dir / "console.log", kConsoleTailLines, kConsoleTailBytes));
    dump->set_scheduler_output(scheduler_output(run_dir));
  }
}

std::string render_failure_dump(const result::FailureDump& dump) {
  std::string text = fmt::format("failure: {}\n", dump.trigger());
  if (dump.maps_size() > 0) {
    text += "\n== BPF maps of the scheduler, read at the failure\n";
    for (const auto& map : dump.maps()) {
      text += fmt::format("-- {} (id {}, {})\n", map.name(), map.id(), map.type_name());
      if (!map.error().empty()) {
        text += fmt::format("   unreadable: {}\n", map.error());
      }
      for (const auto& line : map.lines()) {
        text += fmt::format("   {}\n", line);
      }
      if (map.truncated()) {
        text += "   ... (truncated)\n";
      }
    }
  }
  const auto section = [&text](const char* title, const std::string& body) {
    if (body.empty()) {
      return;
    }
    text += fmt::format("\n== {}\n{}", title, body);
    if (text.back() != '\n') {
      text += '\n';
    }
  };
  section("sched_ext debug dump", dump.sched_ext_dump());
  section("scheduler output", dump.scheduler_output());
  section("console (tail)", dump.console_tail());
  return text;
}

}  // namespace kstep::host
