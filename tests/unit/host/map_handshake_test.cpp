// MapHandshake against a recorded session: adoption and AccessorReady, the
// write task's resolution, answers and deadlines, and the failure dump.
#include "host/session/map_handshake.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/unit/host/recording_control.hpp"

namespace kstep::host {
namespace {

using testing::RecordingControl;
using TimePoint = MapHandshake::TimePoint;

wire::BpfMapCatalog bss_catalog() {
  wire::BpfMapCatalog catalog;
  catalog.set_scheduler("kstep-sched");
  catalog.set_pid(42);
  auto* map = catalog.add_maps();
  map->set_id(7);
  map->set_name("kstep_sc.bss");
  map->set_type(2);
  map->set_type_name("array");
  map->set_key_size(4);
  map->set_value_size(16);
  map->set_max_entries(1);
  map->set_btf_value_type(".bss");
  auto* field = map->add_fields();
  field->set_name("stall_after_ms");
  field->set_offset(8);
  field->set_size(8);
  field->set_type("volatile u64");
  field->set_encoding(wire::BtfField::UNSIGNED);
  return catalog;
}

scenario::BpfWrite write_of(const std::string& map, const std::string& field, const std::string& value) {
  scenario::BpfWrite write;
  write.set_map(map);
  write.set_field(field);
  write.set_value(value);
  return write;
}

std::string le64(std::uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  }
  return bytes;
}

class MapHandshakeTest : public ::testing::Test {
 protected:
  MapHandshake make(std::vector<scenario::BpfWrite> writes) {
    MapHandshakeOptions options;
    options.writes = std::move(writes);
    options.accessor_timeout = std::chrono::seconds{30};
    options.resolve_timeout = std::chrono::seconds{30};
    return MapHandshake{options, progress, {}};
  }

  std::ostringstream progress;
  RecordingControl control;
  TimePoint t0{};
};

TEST_F(MapHandshakeTest, AdoptingACatalogSendsAccessorReady) {
  auto maps = make({});
  maps.started(t0);
  maps.on_catalog(bss_catalog(), t0, control);
  ASSERT_EQ(control.sent.size(), 1U);
  ASSERT_TRUE(control.sent[0].has_accessor_ready());
  EXPECT_EQ(control.sent[0].accessor_ready().maps(), 1U);
  ASSERT_TRUE(maps.catalog());
  EXPECT_NE(progress.str().find("kstep_sc.bss"), std::string::npos);
}

TEST_F(MapHandshakeTest, WritesResolveAndLandThenBpfWriteDone) {
  auto maps = make({write_of("bss", "stall_after_ms", "500")});
  maps.started(t0);
  maps.on_catalog(bss_catalog(), t0, control);
  ASSERT_EQ(control.sent.size(), 2U);
  ASSERT_TRUE(control.sent[1].has_bpf_map_write());
  const auto& write = control.sent[1].bpf_map_write().writes(0);
  EXPECT_EQ(write.map_id(), 7U);
  EXPECT_EQ(write.offset(), 8U);
  EXPECT_EQ(write.value(), le64(500));

  wire::BpfWriteResult result;
  auto* landed = result.add_results();
  landed->set_map_id(7);
  landed->set_map(write.map());
  landed->set_field("stall_after_ms");
  landed->set_before(le64(0));
  landed->set_after(le64(500));
  maps.on_write_result(result, control);
  ASSERT_EQ(control.sent.size(), 3U);
  ASSERT_TRUE(control.sent[2].has_bpf_write_done());
  EXPECT_TRUE(control.sent[2].bpf_write_done().ok());
  EXPECT_FALSE(control.failure);
  ASSERT_EQ(maps.writes().size(), 1U);
  EXPECT_EQ(maps.writes()[0].before(), "0");
  EXPECT_EQ(maps.writes()[0].after(), "500");
  EXPECT_NE(progress.str().find("stall_after_ms: 0 -> 500"), std::string::npos) << progress.str();
}

TEST_F(MapHandshakeTest, AFailedWriteFailsTheRunAndSaysWhich) {
  auto maps = make({write_of("bss", "stall_after_ms", "500")});
  maps.started(t0);
  maps.on_catalog(bss_catalog(), t0, control);
  wire::BpfWriteResult result;
  auto* landed = result.add_results();
  landed->set_map_id(7);
  landed->set_map(control.sent[1].bpf_map_write().writes(0).map());
  landed->set_field("stall_after_ms");
  landed->set_error("bpf_map_update_elem: Operation not permitted");
  maps.on_write_result(result, control);
  ASSERT_TRUE(control.sent.back().has_bpf_write_done());
  EXPECT_FALSE(control.sent.back().bpf_write_done().ok());
  ASSERT_TRUE(control.failure);
  EXPECT_NE(control.failure->find("stall_after_ms"), std::string::npos) << *control.failure;
  EXPECT_NE(control.failure->find("Operation not permitted"), std::string::npos);
}

TEST_F(MapHandshakeTest, AnUnknownFieldFailsOnlyAtTheResolveDeadline) {
  auto maps = make({write_of("bss", "no_such_knob", "1")});
  maps.started(t0);
  maps.on_catalog(bss_catalog(), t0, control);
  ASSERT_EQ(control.sent.size(), 1U);  // AccessorReady, no write yet
  maps.on_tick(t0 + std::chrono::seconds{29}, control);
  EXPECT_FALSE(control.failure);
  maps.on_tick(t0 + std::chrono::seconds{30}, control);
  ASSERT_TRUE(control.failure);
  EXPECT_NE(control.failure->find("no_such_knob"), std::string::npos) << *control.failure;
  ASSERT_TRUE(control.sent.back().has_bpf_write_done());
  EXPECT_FALSE(control.sent.back().bpf_write_done().ok());
}

TEST_F(MapHandshakeTest, NoCatalogWithinTheAccessorTimeoutFails) {
  auto maps = make({write_of("bss", "stall_after_ms", "500")});
  maps.started(t0);
  maps.on_tick(t0 + std::chrono::seconds{10}, control);
  EXPECT_TRUE(control.sent.empty());
  maps.on_tick(t0 + std::chrono::seconds{30}, control);
  ASSERT_TRUE(control.failure);
  EXPECT_NE(control.failure->find("no BPF map catalog"), std::string::npos) << *control.failure;
  ASSERT_EQ(maps.writes().size(), 1U);
  EXPECT_FALSE(maps.writes()[0].error().empty());
}

TEST_F(MapHandshakeTest, TheFailureDumpIsAskedOnceAndRendered) {
  auto maps = make({});
  maps.started(t0);
  maps.request_dump("before the catalog", control);
  EXPECT_FALSE(maps.dump_pending());  // no maps to ask for; the trigger is kept
  EXPECT_EQ(maps.trigger(), "before the catalog");

  auto adopted = make({});
  adopted.on_catalog(bss_catalog(), t0, control);
  adopted.request_dump("scheduler stalled", control);
  adopted.request_dump("a later failure", control);
  const auto requests = std::count_if(control.sent.begin(), control.sent.end(),
                                      [](const wire::HostMessage& m) { return m.has_dump_request(); });
  EXPECT_EQ(requests, 1);
  EXPECT_TRUE(adopted.dump_pending());
  wire::BpfMapDump dump;
  auto* values = dump.add_maps();
  values->set_id(7);
  values->set_name("kstep_sc.bss");
  auto* entry = values->add_entries();
  entry->set_key(std::string(4, '\0'));
  entry->set_value(le64(0) + le64(500));
  adopted.on_dump(dump);
  EXPECT_FALSE(adopted.dump_pending());
  ASSERT_TRUE(adopted.dumped_maps());
  ASSERT_EQ(adopted.dumped_maps()->size(), 1U);
  const auto& lines = (*adopted.dumped_maps())[0].lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines[0].find("stall_after_ms = 500"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace kstep::host
