#include "host/session/map_handshake.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "host/results/map_values.hpp"

namespace kstep::host {
namespace {

constexpr std::uint32_t kWriteRequest = 1;
constexpr std::uint32_t kDumpRequest = 1;

const wire::BpfMapInfo* find_map(const wire::BpfMapCatalog& catalog, std::uint32_t id) {
  for (const auto& map : catalog.maps()) {
    if (map.id() == id) {
      return &map;
    }
  }
  return nullptr;
}

std::optional<wire::BtfField> find_field(const wire::BpfMapInfo& map, const std::string& name) {
  for (const auto& field : map.fields()) {
    if (field.name() == name) {
      return field;
    }
  }
  return std::nullopt;
}

}  // namespace

MapHandshake::MapHandshake(MapHandshakeOptions options, std::ostream& progress,
                           std::filesystem::path log_file)
    : options_(std::move(options)), progress_(&progress), log_path_(std::move(log_file)) {}

void MapHandshake::log(const std::string& line) {
  *progress_ << line << '\n' << std::flush;
  if (log_path_.empty()) {
    return;
  }
  if (!log_file_.is_open()) {
    log_file_.open(log_path_, std::ios::app);
  }
  log_file_ << line << '\n' << std::flush;
}

void MapHandshake::started(TimePoint now) {
  if (options_.writes.empty()) {
    return;
  }
  write_state_ = WriteState::kWaitingForAccessor;
  accessor_deadline_ = now + options_.accessor_timeout;
  for (const auto& write : options_.writes) {
    result::MapWriteRecord record;
    record.set_map(write.map());
    record.set_field(write.field());
    record.set_value(write.value());
    records_.push_back(std::move(record));
  }
}

void MapHandshake::on_catalog(const wire::BpfMapCatalog& catalog, TimePoint now, SessionControl& control) {
  catalog_ = catalog;
  std::vector<std::string> names;
  for (const auto& map : catalog.maps()) {
    names.push_back(map.name());
  }
  *progress_ << fmt::format("BPF maps of '{}': {} adopted ({})\n", catalog.scheduler(), names.size(),
                            fmt::join(names, ", "))
             << std::flush;
  if (!catalog.warning().empty()) {
    spdlog::warn("BPF map catalog of '{}': {}", catalog.scheduler(), catalog.warning());
  }
  wire::HostMessage ready;
  ready.mutable_accessor_ready()->set_maps(static_cast<std::uint32_t>(catalog.maps_size()));
  control.send(ready);
  if (write_state_ == WriteState::kWaitingForAccessor) {
    write_state_ = WriteState::kResolving;
    resolve_deadline_ = now + options_.resolve_timeout;
  }
  if (write_state_ == WriteState::kResolving) {
    try_writes(now, control, false);
  }
}

void MapHandshake::try_writes(TimePoint now, SessionControl& control, bool final_attempt) {
  wire::HostMessage message;
  auto* request = message.mutable_bpf_map_write();
  request->set_request(kWriteRequest);
  std::vector<std::string> errors;
  for (std::size_t i = 0; i < options_.writes.size(); ++i) {
    auto resolved = resolve_write(*catalog_, options_.writes[i]);
    if (!resolved) {
      errors.push_back(resolved.error().message);
      records_[i].set_error(resolved.error().message);
      continue;
    }
    records_[i].set_map_name(resolved->write.map());
    records_[i].clear_error();
    *request->add_writes() = resolved->write;
  }
  if (errors.empty()) {
    write_state_ = WriteState::kWriting;
    control.send(message);
    return;
  }
  last_resolve_error_ = fmt::format("{}", fmt::join(errors, "; "));
  if (final_attempt || now >= resolve_deadline_) {
    finish_writes(false,
                  fmt::format("BPF map writes did not resolve within {} ms: {}",
                              options_.resolve_timeout.count(), last_resolve_error_),
                  control);
  }
}

void MapHandshake::on_write_result(const wire::BpfWriteResult& result, SessionControl& control) {
  if (write_state_ != WriteState::kWriting) {
    control.protocol_error("a BpfWriteResult frame without a BpfMapWrite");
    return;
  }
  std::vector<std::string> errors;
  for (const auto& landed : result.results()) {
    auto record = std::find_if(records_.begin(), records_.end(), [&](const result::MapWriteRecord& r) {
      return r.map_name() == landed.map() && r.field() == landed.field() && r.before().empty() &&
             r.after().empty() && r.error().empty();
    });
    const wire::BpfMapInfo* map = catalog_ ? find_map(*catalog_, landed.map_id()) : nullptr;
    const auto field = map != nullptr ? find_field(*map, landed.field()) : std::nullopt;
    const auto render = [&](const std::string& bytes) {
      return field ? render_field(*field, bytes) : render_hex(bytes);
    };
    const std::string before = landed.before().empty() ? std::string{} : render(landed.before());
    const std::string after = landed.after().empty() ? std::string{} : render(landed.after());
    if (record != records_.end()) {
      record->set_before(before);
      record->set_after(after);
      record->set_error(landed.error());
    }
    if (landed.error().empty()) {
      log(fmt::format("BPF map write {}.{}: {} -> {}", landed.map(), landed.field(), before, after));
    } else {
      log(fmt::format("BPF map write {}.{} failed: {}", landed.map(), landed.field(), landed.error()));
      errors.push_back(fmt::format("{}.{}: {}", landed.map(), landed.field(), landed.error()));
    }
  }
  if (result.results_size() != static_cast<int>(options_.writes.size())) {
    errors.push_back(
        fmt::format("the guest answered {} of {} writes", result.results_size(), options_.writes.size()));
  }
  finish_writes(errors.empty(), fmt::format("{}", fmt::join(errors, "; ")), control);
}

void MapHandshake::finish_writes(bool ok, const std::string& error, SessionControl& control) {
  write_state_ = WriteState::kDone;
  wire::HostMessage done;
  done.mutable_bpf_write_done()->set_ok(ok);
  if (!ok) {
    const std::string reason = fmt::format("BPF map write failed: {}", error);
    done.mutable_bpf_write_done()->set_error(reason);
    log(reason);
    control.scenario_failed(reason);
  }
  control.send(done);
}

void MapHandshake::on_tick(TimePoint now, SessionControl& control) {
  if (write_state_ == WriteState::kWaitingForAccessor && now >= accessor_deadline_) {
    for (auto& record : records_) {
      record.set_error("no BPF map catalog came");
    }
    finish_writes(false,
                  fmt::format("no BPF map catalog from the guest within {} ms (did a scheduler attach?)",
                              options_.accessor_timeout.count()),
                  control);
  } else if (write_state_ == WriteState::kResolving && now >= resolve_deadline_) {
    try_writes(now, control, true);
  }
}

void MapHandshake::request_dump(const std::string& trigger, SessionControl& control) {
  if (dump_requested_ || !trigger_.empty()) {
    return;
  }
  trigger_ = trigger;
  if (!catalog_) {
    return;
  }
  dump_requested_ = true;
  wire::HostMessage message;
  auto* request = message.mutable_dump_request();
  request->set_request(kDumpRequest);
  request->set_reason(trigger);
  request->set_max_entries_per_map(options_.dump_entries_per_map);
  request->set_max_bytes_per_map(options_.dump_bytes_per_map);
  control.send(message);
}

void MapHandshake::on_dump(const wire::BpfMapDump& dump) {
  std::vector<result::RenderedMap> rendered;
  for (const auto& values : dump.maps()) {
    const wire::BpfMapInfo* info = catalog_ ? find_map(*catalog_, values.id()) : nullptr;
    if (info == nullptr) {
      wire::BpfMapInfo unknown;
      unknown.set_id(values.id());
      unknown.set_name(values.name());
      rendered.push_back(render_map(unknown, values, options_.rendered_bytes_per_map));
      continue;
    }
    rendered.push_back(render_map(*info, values, options_.rendered_bytes_per_map));
  }
  dump_ = std::move(rendered);
}

}  // namespace kstep::host
