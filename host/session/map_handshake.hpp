// MapHandshake: the host's side of the BPF map handshakes of one run.
//
//  - Accessor. Each BpfMapCatalog the guest publishes (when a scheduler
//    attached) is adopted: from then on the scheduler's maps can be read
//    and rendered by name. Then AccessorReady goes to the guest, whose
//    await_accessor_ready gate it opens.
//  - Map writes (--bpf-write, Scenario.bpf_writes). From RunScenario on,
//    the task waits up to accessor_timeout for a catalog; then every
//    queued write must resolve by map and field name against the newest
//    catalog within resolve_timeout (a later catalog may still bring a
//    missing map); then one BpfMapWrite goes out, the agent applies it
//    with libbpf and answers with each field's bytes before and after,
//    which are logged; then BpfWriteDone opens the guest's
//    wait_for_map_write gate. A write that does not resolve or does not
//    land fails the run and says which and why; BpfWriteDone then carries
//    ok=false so that the guest does not wait out its budget.
//  - Failure dump. On the first failure (the scheduler stopped, a step
//    failed, the scenario failed) it asks the guest once for the maps'
//    values (DumpRequest) and renders the answer field by field.
//
// Time comes in from the caller (Hello, every frame, heartbeats), so that
// tests drive it with a fake clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "host/session/guest_driver.hpp"
#include "result.pb.h"
#include "scenario.pb.h"

namespace kstep::host {

struct MapHandshakeOptions {
  std::vector<scenario::BpfWrite> writes;
  std::chrono::milliseconds accessor_timeout{30000};
  std::chrono::milliseconds resolve_timeout{30000};
  // Bounds of the failure dump.
  std::uint32_t dump_entries_per_map = 64;
  std::uint32_t dump_bytes_per_map = 64 * 1024;
  std::size_t rendered_bytes_per_map = 16 * 1024;
};

class MapHandshake {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // `progress` gets one line per adoption and per write; `log_file`
  // (bpf-writes.txt in the run directory) the writes' before and after.
  MapHandshake(MapHandshakeOptions options, std::ostream& progress, std::filesystem::path log_file);

  // RunScenario went out: the accessor wait starts.
  void started(TimePoint now);
  void on_catalog(const wire::BpfMapCatalog& catalog, TimePoint now, SessionControl& control);
  void on_write_result(const wire::BpfWriteResult& result, SessionControl& control);
  void on_dump(const wire::BpfMapDump& dump);
  // Enforces the write task's deadlines.
  void on_tick(TimePoint now, SessionControl& control);

  // Asks for the failure dump, once per run, when a catalog was adopted
  // (without one there are no maps to read). `trigger` says what failed.
  void request_dump(const std::string& trigger, SessionControl& control);
  [[nodiscard]] bool dump_pending() const noexcept { return dump_requested_ && !dump_; }

  [[nodiscard]] const std::optional<wire::BpfMapCatalog>& catalog() const noexcept { return catalog_; }
  [[nodiscard]] const std::vector<result::MapWriteRecord>& writes() const noexcept { return records_; }
  [[nodiscard]] const std::string& trigger() const noexcept { return trigger_; }
  // The rendered failure dump of the maps, once it came.
  [[nodiscard]] const std::optional<std::vector<result::RenderedMap>>& dumped_maps() const noexcept {
    return dump_;
  }

 private:
  enum class WriteState { kNone, kWaitingForAccessor, kResolving, kWriting, kDone };

  void try_writes(TimePoint now, SessionControl& control, bool final_attempt);
  void finish_writes(bool ok, const std::string& error, SessionControl& control);
  void log(const std::string& line);

  MapHandshakeOptions options_;
  std::ostream* progress_;
  std::filesystem::path log_path_;
  std::ofstream log_file_;
  std::optional<wire::BpfMapCatalog> catalog_;
  WriteState write_state_ = WriteState::kNone;
  TimePoint accessor_deadline_{};
  TimePoint resolve_deadline_{};
  std::vector<result::MapWriteRecord> records_;
  std::string last_resolve_error_;
  bool dump_requested_ = false;
  std::string trigger_;
  std::optional<std::vector<result::RenderedMap>> dump_;
};

}  // namespace kstep::host
