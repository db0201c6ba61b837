#include "common/cpuset_spec.hpp"

#include <gtest/gtest.h>

#include <google/protobuf/text_format.h>

namespace kstep {
namespace {

using Cpus = std::vector<unsigned>;

// 8 CPUs: 2 NUMA nodes of 4, each node 2 LLCs of 2 CPUs.
wire::Topology two_nodes() {
  wire::Topology topology;
  for (unsigned cpu = 0; cpu < 8; ++cpu) {
    auto* placement = topology.add_cpus();
    placement->set_cpu(cpu);
    placement->set_core(cpu);
    placement->set_llc(cpu / 2);
    placement->set_node(cpu / 4);
  }
  return topology;
}

Result<Cpus> resolve(const std::string& text, const wire::Topology& topology = two_nodes()) {
  scenario::CpusetSpec spec;
  if (!google::protobuf::TextFormat::ParseFromString(text, &spec)) {
    return fail("bad test spec {}", text);
  }
  return resolve_cpuset(spec, topology);
}

Cpus ok(const std::string& text) {
  auto cpus = resolve(text);
  EXPECT_TRUE(cpus) << text << ": " << cpus.error().message;
  return cpus ? *cpus : Cpus{};
}

std::string error_of(const std::string& text) {
  auto cpus = resolve(text);
  EXPECT_FALSE(cpus) << text;
  return cpus ? std::string{} : cpus.error().message;
}

TEST(CpusetSpec, ExactListsMustBeOnline) {
  EXPECT_EQ(ok(R"txt(cpus: "1-2,7")txt"), (Cpus{1, 2, 7}));
  EXPECT_NE(error_of(R"txt(cpus: "6-9")txt").find("CPU 8 is not online"), std::string::npos);
  EXPECT_NE(error_of(R"txt(cpus: "x")txt").find("not a CPU number"), std::string::npos);
}

TEST(CpusetSpec, LlcAndNodeSelectTheirCpus) {
  EXPECT_EQ(ok("llc: 1"), (Cpus{2, 3}));
  EXPECT_EQ(ok("numa_node: 1"), (Cpus{4, 5, 6, 7}));
  EXPECT_NE(error_of("llc: 4").find("LLC 4 has no CPUs: the topology has LLC 0-3"), std::string::npos);
  EXPECT_NE(error_of("numa_node: 2").find("NUMA node 2 has no CPUs"), std::string::npos);
}

TEST(CpusetSpec, RangesAreFractionsOfTheOnlineCpus) {
  EXPECT_EQ(ok("range { from: 0 to: 0.5 }"), (Cpus{0, 1, 2, 3}));
  EXPECT_EQ(ok("range { from: 0.5 to: 0.6 }"), (Cpus{4}));
  EXPECT_NE(error_of("range { from: 0.5 to: 0.5 }").find("not within"), std::string::npos);
  EXPECT_NE(error_of("range { from: 0 to: 1.5 }").find("not within"), std::string::npos);
}

TEST(CpusetSpec, DisjointPartitionsCoverEveryCpuOnce) {
  Cpus all;
  for (unsigned k = 0; k < 3; ++k) {
    const auto part = ok("partition { index: " + std::to_string(k) + " count: 3 }");
    EXPECT_FALSE(part.empty());
    all.insert(all.end(), part.begin(), part.end());
  }
  EXPECT_EQ(all, (Cpus{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_NE(error_of("partition { index: 3 count: 3 }").find("not below"), std::string::npos);
  EXPECT_NE(error_of("partition { index: 0 count: 9 }").find("cannot be disjoint on 8 CPUs"),
            std::string::npos);
}

TEST(CpusetSpec, OverlappingPartitionsShareCpusWithNeighbours) {
  EXPECT_EQ(ok("overlapping { index: 0 count: 2 overlap: 0.25 }"), (Cpus{0, 1, 2, 3, 4}));
  EXPECT_EQ(ok("overlapping { index: 1 count: 2 overlap: 0.25 }"), (Cpus{3, 4, 5, 6, 7}));
  EXPECT_NE(error_of("overlapping { index: 0 count: 2 overlap: 2 }").find("overlap 2"), std::string::npos);
}

TEST(CpusetSpec, UnsetSpecIsAnError) {
  EXPECT_NE(error_of("").find("names no kind"), std::string::npos);
}

TEST(CpusetSpec, NumaNodesOfCpus) {
  EXPECT_EQ(numa_nodes_of({3, 4}, two_nodes()), (Cpus{0, 1}));
  EXPECT_EQ(numa_nodes_of({5}, two_nodes()), (Cpus{1}));
}

TEST(CpusetSpec, FlatTopologyIsOneOfEverything) {
  const auto topology = flat_topology(4);
  EXPECT_EQ(topology.cpus_size(), 4);
  EXPECT_EQ(resolve("llc: 0", topology).value(), (Cpus{0, 1, 2, 3}));
}

}  // namespace
}  // namespace kstep
