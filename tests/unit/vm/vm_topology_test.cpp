#include "host/vm/vm_topology.hpp"

#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "host/vm/qemu_argv.hpp"

namespace kstep::host {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(VmTopology, ParsesFourOrFiveNumbers) {
  auto four = parse_vm_topology("1,2,2,1");
  ASSERT_TRUE(four) << four.error().message;
  EXPECT_EQ(four->cpus(), 4U);
  EXPECT_EQ(four->llcs(), 2U);
  EXPECT_EQ(four->nodes, 1U);
  auto five = parse_vm_topology("2,1,2,1,2");
  ASSERT_TRUE(five) << five.error().message;
  EXPECT_EQ(five->nodes, 2U);
  EXPECT_EQ(describe(*five), "4 CPUs (2 packages, 4 cores, 4 threads, 2 LLCs, 2 NUMA nodes)");
}

TEST(VmTopology, RejectsWhatQemuCannotBuild) {
  EXPECT_THAT(parse_vm_topology("1,2").error().message, HasSubstr("expected 4 or 5 numbers"));
  EXPECT_THAT(parse_vm_topology("1,0,2,1").error().message, HasSubstr("'0' is not a positive whole number"));
  EXPECT_THAT(parse_vm_topology("1,x,2,1").error().message, HasSubstr("'x'"));
  EXPECT_THAT(parse_vm_topology("1,1,2,1,2").error().message, HasSubstr("cannot split 1 dies evenly"));
  EXPECT_THAT(parse_vm_topology("16,1,16,2").error().message, HasSubstr("512 CPUs is more than 256"));
}

TEST(VmTopology, ExpectedTopologyNumbersLlcsPerDieAndNodesByDie) {
  const auto topology = expected_topology(*parse_vm_topology("2,2,1,2,2"));
  ASSERT_EQ(topology.cpus_size(), 8);
  EXPECT_EQ(topology.llcs(), 4U);
  // CPUs 0-1: package 0 die 0; 2-3: package 0 die 1; 4-5: package 1 die 0 ...
  EXPECT_EQ(topology.cpus(3).package(), 0U);
  EXPECT_EQ(topology.cpus(3).llc(), 1U);
  EXPECT_EQ(topology.cpus(3).node(), 0U);
  EXPECT_EQ(topology.cpus(4).package(), 1U);
  EXPECT_EQ(topology.cpus(4).llc(), 2U);
  EXPECT_EQ(topology.cpus(4).node(), 1U);
  EXPECT_EQ(topology.cpus(5).core(), 2U);  // threads 4 and 5 share a core
}

TEST(VmTopology, QemuArgsCarryTheGeometryAndSplitMemoryOverNodes) {
  EXPECT_THAT(qemu_topology_args(*parse_vm_topology("1,2,2,1"), 512),
              ElementsAre("-smp", "cpus=4,maxcpus=4,sockets=1,dies=2,cores=2,threads=1"));
  EXPECT_THAT(
      qemu_topology_args(*parse_vm_topology("2,1,1,1,2"), 513),
      ElementsAre("-smp", "cpus=2,maxcpus=2,sockets=2,dies=1,cores=1,threads=1", "-object",
                  "memory-backend-ram,id=numa0,size=256M", "-numa", "node,nodeid=0,cpus=0-0,memdev=numa0",
                  "-object", "memory-backend-ram,id=numa1,size=257M", "-numa",
                  "node,nodeid=1,cpus=1-1,memdev=numa1"));
}

TEST(VmTopology, ArgvUsesTheTopologyInsteadOfSmp) {
  VmSpec spec;
  spec.qemu = "/usr/bin/qemu-system-x86_64";
  spec.kernel = "/k/bzImage";
  spec.initrd = "/c/initramfs.cpio.zst";
  spec.control_socket = "/tmp/x/control.sock";
  spec.smp = 4;
  spec.topology = parse_vm_topology("1,2,2,1").value();
  auto argv = build_qemu_argv(spec);
  ASSERT_TRUE(argv) << argv.error().message;
  const auto smp = std::find(argv->begin(), argv->end(), "-smp");
  ASSERT_NE(smp, argv->end());
  EXPECT_EQ(*(smp + 1), "cpus=4,maxcpus=4,sockets=1,dies=2,cores=2,threads=1");
  spec.topology = parse_vm_topology("4,1,1,1,4").value();
  spec.memory_mib = 128;
  EXPECT_THAT(build_qemu_argv(spec).error().message, HasSubstr("under 64 MiB per node"));
}

}  // namespace
}  // namespace kstep::host
