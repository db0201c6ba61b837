// BpfMapSet against real BPF maps this test creates (bpf_map_create), with
// BTF loaded into the kernel the way libbpf does for a .bss map. Skipped
// where bpf() is not permitted (no CAP_BPF, seccomp, no kernel support).
#include "guest/bpf/bpf_map_set.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/unique_fd.hpp"
#include "guest/bpf/process_maps.hpp"
#include "tests/unit/guest/bpf/btf_builder.hpp"

namespace kstep::guest {
namespace {

using testing::BtfBuilder;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string le64(std::uint64_t value) {
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &value, sizeof value);
  return bytes;
}

std::uint32_t id_of(int fd) {
  struct bpf_map_info info {};
  std::uint32_t length = sizeof info;
  EXPECT_EQ(bpf_obj_get_info_by_fd(fd, &info, &length), 0);
  return info.id;
}

class BpfMapSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const int probe = bpf_map_create(BPF_MAP_TYPE_ARRAY, "kstep_probe", 4, 8, 1, nullptr);
    if (probe < 0) {
      GTEST_SKIP() << "bpf() is not permitted here: " << std::strerror(-probe);
    }
    ::close(probe);
  }

  // A map this test owns; fails the test when the kernel refuses it.
  UniqueFd create(enum bpf_map_type type, const char* name, std::uint32_t key_size, std::uint32_t value_size,
                  std::uint32_t max_entries, const struct bpf_map_create_opts* opts = nullptr) {
    const int fd = bpf_map_create(type, name, key_size, value_size, max_entries, opts);
    EXPECT_GE(fd, 0) << "creating " << name << ": " << std::strerror(-fd);
    return UniqueFd{fd};
  }

  // A .bss map as libbpf creates one: an array of one DATASEC value, no key
  // type. .bss: u64 nr_dispatched; volatile u64 knob; char sched_name[16];
  UniqueFd create_bss(const char* name, std::uint32_t extra_flags = 0) {
    BtfBuilder b;
    const int u64 = b.typedef_of("u64", b.integer("unsigned long long", 8, 0));
    const int knob_type = b.volatile_of(u64);
    const int sched_name_type = b.array_of(b.integer("char", 1, BTF_INT_SIGNED), 16);
    const int dispatched = b.variable("nr_dispatched", u64);
    const int knob = b.variable("knob", knob_type);
    const int sched_name = b.variable("sched_name", sched_name_type);
    const int bss = b.datasec(".bss", 32);
    b.place(dispatched, 0, 8);
    b.place(knob, 8, 8);
    b.place(sched_name, 16, 16);
    if (const int error = btf__load_into_kernel(b.get()); error < 0) {
      ADD_FAILURE() << "loading BTF: " << std::strerror(-error);
      return UniqueFd{};
    }
    // (LIBBPF_OPTS is C: statement expressions and compound literals.)
    struct bpf_map_create_opts opts {};
    opts.sz = sizeof opts;
    opts.btf_fd = static_cast<__u32>(btf__fd(b.get()));
    opts.btf_value_type_id = static_cast<__u32>(bss);
    opts.map_flags = BPF_F_MMAPABLE | extra_flags;
    // The map keeps its own reference to the BTF: freeing ours is fine.
    return create(BPF_MAP_TYPE_ARRAY, name, 4, 32, 1, &opts);
  }

  static void put(int fd, std::uint32_t key, const void* value) {
    ASSERT_EQ(bpf_map_update_elem(fd, &key, value, BPF_ANY), 0) << std::strerror(errno);
  }

  static wire::BpfFieldWrite field_write(std::uint32_t map_id, std::string field, std::uint32_t key,
                                         std::uint32_t offset, std::string value) {
    wire::BpfFieldWrite w;
    w.set_map_id(map_id);
    w.set_map("test");
    w.set_field(std::move(field));
    w.set_key(key);
    w.set_offset(offset);
    w.set_value(std::move(value));
    return w;
  }
};

TEST_F(BpfMapSetTest, DescribesAGlobalDataMapFromItsBtf) {
  const auto bss = create_bss("kstep_sc.bss");
  ASSERT_TRUE(bss.valid());

  const auto set = BpfMapSet::open({id_of(bss.get())});
  ASSERT_EQ(set.size(), 1U);
  EXPECT_THAT(set.warning(), IsEmpty());

  const auto catalog = set.catalog("kstep-sched", 321);
  EXPECT_EQ(catalog.scheduler(), "kstep-sched");
  EXPECT_EQ(catalog.pid(), 321);
  ASSERT_EQ(catalog.maps_size(), 1);
  const auto& map = catalog.maps(0);
  EXPECT_EQ(map.id(), id_of(bss.get()));
  EXPECT_EQ(map.name(), "kstep_sc.bss");
  EXPECT_EQ(map.type(), static_cast<std::uint32_t>(BPF_MAP_TYPE_ARRAY));
  EXPECT_EQ(map.type_name(), "array");
  EXPECT_EQ(map.key_size(), 4U);
  EXPECT_EQ(map.value_size(), 32U);
  EXPECT_EQ(map.max_entries(), 1U);
  EXPECT_NE(map.map_flags() & BPF_F_MMAPABLE, 0U);
  EXPECT_FALSE(map.read_only());
  EXPECT_EQ(map.btf_value_type(), ".bss");
  ASSERT_EQ(map.fields_size(), 3);
  EXPECT_EQ(map.fields(1).name(), "knob");
  EXPECT_EQ(map.fields(1).offset(), 8U);
  EXPECT_EQ(map.fields(1).type(), "volatile u64");
  EXPECT_EQ(map.fields(2).name(), "sched_name");
  EXPECT_EQ(map.fields(2).encoding(), wire::BtfField::CHAR_ARRAY);
}

TEST_F(BpfMapSetTest, WritesOneFieldAndLeavesTheOthers) {
  const auto bss = create_bss("kstep_sc.bss");
  ASSERT_TRUE(bss.valid());
  const std::uint64_t initial[4] = {7, 3, 0, 0};
  put(bss.get(), 0, initial);
  auto set = BpfMapSet::open({id_of(bss.get())});

  const auto result = set.write(field_write(id_of(bss.get()), "knob", 0, 8, le64(42)));

  EXPECT_THAT(result.error(), IsEmpty());
  EXPECT_EQ(result.map_id(), id_of(bss.get()));
  EXPECT_EQ(result.field(), "knob");
  EXPECT_EQ(result.before(), le64(3));
  EXPECT_EQ(result.after(), le64(42));
  std::uint64_t now[4] = {};
  const std::uint32_t key = 0;
  ASSERT_EQ(bpf_map_lookup_elem(bss.get(), &key, now), 0);
  EXPECT_EQ(now[0], 7U);
  EXPECT_EQ(now[1], 42U);
}

TEST_F(BpfMapSetTest, RefusesWritesItCannotDo) {
  const auto bss = create_bss("kstep_sc.bss");
  const auto hash = create(BPF_MAP_TYPE_HASH, "hash", 4, 8, 4);
  const auto per_cpu = create(BPF_MAP_TYPE_PERCPU_ARRAY, "per_cpu", 4, 8, 4);
  ASSERT_TRUE(bss.valid() && hash.valid() && per_cpu.valid());
  auto set = BpfMapSet::open({id_of(bss.get()), id_of(hash.get()), id_of(per_cpu.get())});
  ASSERT_EQ(set.size(), 3U);
  const auto bss_id = id_of(bss.get());

  EXPECT_THAT(set.write(field_write(bss_id, "knob", 0, 28, le64(1))).error(),
              HasSubstr("outside the 32-byte value"));
  EXPECT_THAT(set.write(field_write(bss_id, "knob", 1, 8, le64(1))).error(),
              HasSubstr("key 1 is out of range"));
  EXPECT_THAT(set.write(field_write(bss_id, "knob", 0, 8, "")).error(), HasSubstr("no bytes"));
  EXPECT_THAT(set.write(field_write(id_of(hash.get()), "x", 0, 0, le64(1))).error(),
              HasSubstr("hash map; only array maps"));
  EXPECT_THAT(set.write(field_write(id_of(per_cpu.get()), "x", 0, 0, le64(1))).error(), HasSubstr("per-CPU"));
  const auto unknown = set.write(field_write(bss_id + 100000, "knob", 0, 8, le64(1)));
  EXPECT_THAT(unknown.error(), HasSubstr("not held"));
  EXPECT_THAT(unknown.error(), HasSubstr("knob"));
}

TEST_F(BpfMapSetTest, SaysAFrozenRodataMapIsReadOnly) {
  const auto rodata = create_bss("kstep_sc.rodata", BPF_F_RDONLY_PROG);
  ASSERT_TRUE(rodata.valid());
  ASSERT_EQ(bpf_map_freeze(rodata.get()), 0) << std::strerror(errno);
  auto set = BpfMapSet::open({id_of(rodata.get())});
  ASSERT_EQ(set.size(), 1U);
  EXPECT_TRUE(set.catalog("s", 1).maps(0).read_only());

  const auto result = set.write(field_write(id_of(rodata.get()), "knob", 0, 8, le64(1)));

  EXPECT_THAT(result.error(), HasSubstr("kstep_sc.rodata"));
  EXPECT_THAT(result.error(), HasSubstr("knob"));
  EXPECT_THAT(result.error(), HasSubstr("read-only"));
  EXPECT_THAT(result.after(), IsEmpty());
}

TEST_F(BpfMapSetTest, DumpsArraysHashesAndPerCpuMapsWithinTheBounds) {
  const auto array = create(BPF_MAP_TYPE_ARRAY, "array", 4, 8, 10);
  const auto hash = create(BPF_MAP_TYPE_HASH, "hash", 4, 8, 16);
  const auto per_cpu = create(BPF_MAP_TYPE_PERCPU_ARRAY, "per_cpu", 4, 4, 2);
  ASSERT_TRUE(array.valid() && hash.valid() && per_cpu.valid());
  for (std::uint32_t i = 0; i < 10; ++i) {
    const std::uint64_t value = 100 + i;
    put(array.get(), i, &value);
  }
  for (std::uint32_t key : {5U, 6U, 7U}) {
    const std::uint64_t value = key * 10;
    put(hash.get(), key, &value);
  }
  const auto set = BpfMapSet::open({id_of(array.get()), id_of(hash.get()), id_of(per_cpu.get())});
  ASSERT_EQ(set.size(), 3U);

  wire::DumpRequest request;
  request.set_request(9);
  request.set_max_entries_per_map(4);
  const auto dump = set.dump(request);

  EXPECT_EQ(dump.request(), 9U);
  ASSERT_EQ(dump.maps_size(), 3);
  const auto& arrays = dump.maps(0);
  EXPECT_EQ(arrays.id(), id_of(array.get()));
  EXPECT_THAT(arrays.error(), IsEmpty());
  EXPECT_TRUE(arrays.truncated());
  ASSERT_EQ(arrays.entries_size(), 4);
  const std::uint32_t three = 3;
  EXPECT_EQ(arrays.entries(3).key(), std::string(reinterpret_cast<const char*>(&three), 4));
  EXPECT_EQ(arrays.entries(3).value(), le64(103));

  const auto& hashes = dump.maps(1);
  EXPECT_THAT(hashes.error(), IsEmpty());
  EXPECT_FALSE(hashes.truncated());
  ASSERT_EQ(hashes.entries_size(), 3);
  for (const auto& entry : hashes.entries()) {
    std::uint32_t key = 0;
    ASSERT_EQ(entry.key().size(), 4U);
    std::memcpy(&key, entry.key().data(), 4);
    EXPECT_EQ(entry.value(), le64(key * 10));
  }

  // A 4-byte per-CPU value comes out padded to 8 for every possible CPU.
  const auto& per_cpus = dump.maps(2);
  EXPECT_THAT(per_cpus.error(), IsEmpty());
  ASSERT_EQ(per_cpus.entries_size(), 2);
  EXPECT_EQ(per_cpus.entries(0).value().size(), 8U * static_cast<std::size_t>(libbpf_num_possible_cpus()));
}

TEST_F(BpfMapSetTest, CutsADumpAtTheByteBound) {
  const auto array = create(BPF_MAP_TYPE_ARRAY, "array", 4, 8, 10);
  ASSERT_TRUE(array.valid());
  const auto set = BpfMapSet::open({id_of(array.get())});

  wire::DumpRequest request;
  request.set_max_bytes_per_map(30);  // two 12-byte entries, then 6 bytes
  const auto dump = set.dump(request);

  ASSERT_EQ(dump.maps_size(), 1);
  const auto& values = dump.maps(0);
  EXPECT_TRUE(values.truncated());
  ASSERT_EQ(values.entries_size(), 3);
  EXPECT_EQ(values.entries(1).value().size(), 8U);
  EXPECT_EQ(values.entries(2).key().size(), 4U);
  EXPECT_EQ(values.entries(2).value().size(), 2U);
}

TEST_F(BpfMapSetTest, AMapThatCannotBeReadGetsAnErrorAndTheOthersAreStillRead) {
  const auto ring = create(BPF_MAP_TYPE_RINGBUF, "ring", 0, 0, 4096);
  const auto queue = create(BPF_MAP_TYPE_QUEUE, "queue", 0, 8, 4);
  const auto array = create(BPF_MAP_TYPE_ARRAY, "array", 4, 8, 2);
  ASSERT_TRUE(ring.valid() && queue.valid() && array.valid());
  const auto set = BpfMapSet::open({id_of(ring.get()), id_of(queue.get()), id_of(array.get())});
  ASSERT_EQ(set.size(), 3U);

  const auto dump = set.dump(wire::DumpRequest{});

  ASSERT_EQ(dump.maps_size(), 3);
  EXPECT_THAT(dump.maps(0).error(), HasSubstr("map ring (id"));
  EXPECT_THAT(dump.maps(0).error(), HasSubstr("ringbuf maps have no keys"));
  EXPECT_THAT(dump.maps(1).error(), HasSubstr("queue maps have no keys"));
  EXPECT_THAT(dump.maps(2).error(), IsEmpty());
  EXPECT_EQ(dump.maps(2).entries_size(), 2);
}

TEST_F(BpfMapSetTest, KeepsItsMapsReadableAfterTheirCreatorClosedThem) {
  auto array = create(BPF_MAP_TYPE_ARRAY, "array", 4, 8, 1);
  ASSERT_TRUE(array.valid());
  const std::uint64_t value = 77;
  put(array.get(), 0, &value);
  const auto set = BpfMapSet::open({id_of(array.get())});

  array.reset();  // the scheduler exits: its fds close

  const auto dump = set.dump(wire::DumpRequest{});
  ASSERT_EQ(dump.maps_size(), 1);
  ASSERT_EQ(dump.maps(0).entries_size(), 1);
  EXPECT_EQ(dump.maps(0).entries(0).value(), le64(77));
}

TEST_F(BpfMapSetTest, SkipsMapsThatAreGoneAndSaysSo) {
  const auto array = create(BPF_MAP_TYPE_ARRAY, "array", 4, 8, 1);
  ASSERT_TRUE(array.valid());
  constexpr std::uint32_t kGone = 0xFFFFFFF0U;

  const auto set = BpfMapSet::open({kGone, id_of(array.get())});

  EXPECT_EQ(set.size(), 1U);
  EXPECT_THAT(set.warning(), HasSubstr("map id 4294967280"));
  EXPECT_EQ(set.catalog("s", 1).warning(), set.warning());
}

TEST_F(BpfMapSetTest, MovingTheSetKeepsTheMaps) {
  const auto array = create(BPF_MAP_TYPE_ARRAY, "array", 4, 8, 1);
  ASSERT_TRUE(array.valid());
  auto set = BpfMapSet::open({id_of(array.get())});

  const BpfMapSet moved = std::move(set);

  EXPECT_EQ(moved.size(), 1U);
  EXPECT_EQ(moved.dump(wire::DumpRequest{}).maps(0).entries_size(), 1);
}

// The real /proc: process_map_ids finds the maps this process holds.
TEST_F(BpfMapSetTest, ProcessMapIdsFindsTheMapsOfThisProcess) {
  const auto array = create(BPF_MAP_TYPE_ARRAY, "array", 4, 8, 1);
  ASSERT_TRUE(array.valid());

  const auto ids = process_map_ids("/proc", ::getpid());

  ASSERT_TRUE(ids.ok()) << ids.error().message;
  EXPECT_THAT(*ids, Contains(id_of(array.get())));
}

}  // namespace
}  // namespace kstep::guest
